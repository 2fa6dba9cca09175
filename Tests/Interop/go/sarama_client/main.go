// sarama_client: a tiny producer/consumer on Debian's sarama (golang-github-shopify-sarama-dev,
// 1.22.1) for the interop codec matrix (Tests/Interop/test_codec_matrix.py).
//
//	sarama_client produce --bootstrap H:P --topic T --codec none|gzip|snappy|lz4|zstd  < records.jsonl
//	sarama_client consume --bootstrap H:P --topic T --count N --timeout-ms M          > records.jsonl
//
// A record is one JSON line: {"key": base64|null, "value": base64|null,
// "headers": [[name, base64|null], ...], "timestamp": ms|absent}. produce sends every line, in
// order, to partition 0 with acks=all and the record's timestamp (send time when absent), and
// exits 0 only when every record was acknowledged (it prints the offsets, one per line, to
// stdout). consume reads partition 0 from offset 0 without a group and prints N records with
// their timestamps, exiting non-zero if they do not arrive in time or the broker reports an error.
//
// config.Version is V2_1_0_0: record batch v2 (headers, null keys/values/header values) needs
// V0_11_0_0, and sarama 1.22.1 requires V2_1_0_0 for zstd. Note that 1.22.1 still sends
// Produce v3 and Fetch v4 at that version (its newest), so a broker that follows Kafka (zstd
// only with Produce >= 7 and Fetch >= 10, KIP-110) refuses its zstd batches.
//
// Built offline in GOPATH mode: GO111MODULE=off GOPATH=/usr/share/gocode go build.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

type record struct {
	Key       []byte            `json:"key"`
	Value     []byte            `json:"value"`
	Headers   []json.RawMessage `json:"headers"`
	Timestamp *int64            `json:"timestamp"`
}

type header struct {
	Name  string
	Value []byte
}

func fail(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "sarama_client: "+format+"\n", args...)
	os.Exit(code)
}

func decodeHeader(raw json.RawMessage) (header, error) {
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return header{}, fmt.Errorf("header %s is not a [name, value] pair", string(raw))
	}
	var h header
	if err := json.Unmarshal(pair[0], &h.Name); err != nil {
		return header{}, fmt.Errorf("header name %s: %v", string(pair[0]), err)
	}
	if err := json.Unmarshal(pair[1], &h.Value); err != nil { // null -> nil
		return header{}, fmt.Errorf("header value %s: %v", string(pair[1]), err)
	}
	return h, nil
}

func readRecords(r io.Reader) ([]*sarama.ProducerMessage, error) {
	var out []*sarama.ProducerMessage
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("record %d: %v", len(out), err)
		}
		msg := &sarama.ProducerMessage{Partition: 0}
		if rec.Timestamp != nil {
			msg.Timestamp = time.Unix(0, *rec.Timestamp*int64(time.Millisecond))
		}
		// A nil Encoder is a null key/value; ByteEncoder of an empty slice is "".
		if rec.Key != nil {
			msg.Key = sarama.ByteEncoder(rec.Key)
		}
		if rec.Value != nil {
			msg.Value = sarama.ByteEncoder(rec.Value)
		}
		for _, raw := range rec.Headers {
			h, err := decodeHeader(raw)
			if err != nil {
				return nil, fmt.Errorf("record %d: %v", len(out), err)
			}
			msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(h.Name), Value: h.Value})
		}
		out = append(out, msg)
	}
	return out, sc.Err()
}

func codecOf(name string) (sarama.CompressionCodec, error) {
	switch name {
	case "none":
		return sarama.CompressionNone, nil
	case "gzip":
		return sarama.CompressionGZIP, nil
	case "snappy":
		return sarama.CompressionSnappy, nil
	case "lz4":
		return sarama.CompressionLZ4, nil
	case "zstd":
		return sarama.CompressionZSTD, nil
	}
	return 0, fmt.Errorf("unknown codec %q", name)
}

func baseConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "runnel-interop-sarama"
	cfg.Version = sarama.V2_1_0_0
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Net.ReadTimeout = 10 * time.Second
	cfg.Net.WriteTimeout = 10 * time.Second
	cfg.Metadata.Retry.Max = 3
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	return cfg
}

func produce(bootstrap, topic, codecName string) {
	codec, err := codecOf(codecName)
	if err != nil {
		fail(2, "%v", err)
	}
	msgs, err := readRecords(os.Stdin)
	if err != nil {
		fail(2, "reading stdin: %v", err)
	}
	for _, m := range msgs {
		m.Topic = topic
	}
	cfg := baseConfig()
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Compression = codec
	cfg.Producer.Timeout = 10 * time.Second
	cfg.Producer.Retry.Max = 2
	cfg.Producer.Retry.Backoff = 100 * time.Millisecond
	// One batch: wait for all records (or 200 ms) before sending; one request in flight keeps order.
	cfg.Producer.Flush.Messages = len(msgs)
	cfg.Producer.Flush.Frequency = 200 * time.Millisecond
	cfg.Net.MaxOpenRequests = 1

	p, err := sarama.NewSyncProducer([]string{bootstrap}, cfg)
	if err != nil {
		fail(1, "NewSyncProducer: %v", err)
	}
	sendErr := p.SendMessages(msgs)
	closeErr := p.Close()
	if sendErr != nil {
		var perrs sarama.ProducerErrors
		if errors.As(sendErr, &perrs) {
			for _, pe := range perrs {
				fmt.Fprintf(os.Stderr, "sarama_client: produce error: %v\n", pe.Err)
			}
		}
		fail(1, "SendMessages: %v", sendErr)
	}
	if closeErr != nil {
		fail(1, "Close: %v", closeErr)
	}
	w := bufio.NewWriter(os.Stdout)
	for _, m := range msgs {
		if m.Partition != 0 {
			fail(1, "record went to partition %d", m.Partition)
		}
		fmt.Fprintln(w, m.Offset)
	}
	w.Flush()
}

func consume(bootstrap, topic string, count int, timeout time.Duration) {
	cfg := baseConfig()
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest

	c, err := sarama.NewConsumer([]string{bootstrap}, cfg)
	if err != nil {
		fail(1, "NewConsumer: %v", err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, 0)
	if err != nil {
		fail(1, "ConsumePartition: %v", err)
	}
	defer pc.Close()

	type outRecord struct {
		Key       []byte           `json:"key"`
		Value     []byte           `json:"value"`
		Headers   [][2]interface{} `json:"headers"`
		Timestamp int64            `json:"timestamp"`
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	deadline := time.After(timeout)
	for got := 0; got < count; {
		select {
		case m := <-pc.Messages():
			if m.Offset != int64(got) {
				w.Flush()
				fail(1, "record %d has offset %d", got, m.Offset)
			}
			hs := make([][2]interface{}, 0, len(m.Headers))
			for _, h := range m.Headers {
				var v interface{} // nil -> null; []byte -> base64
				if h.Value != nil {
					v = h.Value
				}
				hs = append(hs, [2]interface{}{string(h.Key), v})
			}
			line, err := json.Marshal(outRecord{Key: m.Key, Value: m.Value, Headers: hs,
				Timestamp: m.Timestamp.UnixNano() / int64(time.Millisecond)})
			if err != nil {
				fail(1, "json: %v", err)
			}
			w.Write(line)
			w.WriteByte('\n')
			got++
		case e := <-pc.Errors():
			w.Flush()
			fail(1, "consume error after %d records: %v", got, e.Err)
		case <-deadline:
			w.Flush()
			fail(3, "timeout: %d of %d records after %v", got, count, timeout)
		}
	}
}

func main() {
	if len(os.Args) < 2 {
		fail(2, "usage: sarama_client produce|consume [flags]")
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "", "host:port")
	topic := fs.String("topic", "", "topic (partition 0)")
	codec := fs.String("codec", "none", "none|gzip|snappy|lz4|zstd (produce)")
	count := fs.Int("count", 0, "records to read (consume)")
	timeoutMs := fs.Int("timeout-ms", 20000, "consume deadline")
	fs.Parse(os.Args[2:])
	if *bootstrap == "" || *topic == "" {
		fail(2, "--bootstrap and --topic are required")
	}
	if os.Getenv("SARAMA_DEBUG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags|log.Lmicroseconds)
	}
	switch mode {
	case "produce":
		produce(*bootstrap, *topic, *codec)
	case "consume":
		consume(*bootstrap, *topic, *count, time.Duration(*timeoutMs)*time.Millisecond)
	default:
		fail(2, "unknown mode %q", mode)
	}
}
