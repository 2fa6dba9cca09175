// kafkago_client: a tiny producer/consumer on Debian's kafka-go
// (golang-github-segmentio-kafka-go-dev, 0.2.1) for the interop codec matrix
// (Tests/Interop/test_codec_matrix.py).
//
//	kafkago_client produce --bootstrap H:P --topic T --codec none|gzip|snappy|lz4  < records.jsonl
//	kafkago_client consume --bootstrap H:P --topic T --count N --timeout-ms M     > records.jsonl
//
// A record is one JSON line: {"key": base64|null, "value": base64|null,
// "headers": [[name, base64|null], ...], "timestamp": ms|absent}. produce writes every line, in
// order, to partition 0 of the partition leader with acks=all (one Produce request, so one
// compressed wrapper message), with the record's timestamp (write time when absent), and exits 0
// only if the broker acknowledged it (offsets are not reported by kafka-go 0.2.1). consume reads
// partition 0 from offset 0 without a group and prints N records with their timestamps, exiting
// non-zero on error or when they do not arrive in time.
//
// kafka-go 0.2.1 limits (checked against its sources): message format v1 only (Produce v2,
// Fetch v2, ListOffsets v1, Metadata v1), so no record headers (a record with headers is refused
// here, exit 2, rather than silently dropped) and no zstd codec (gzip, snappy and lz4 only).
// Its reader returns nil for an empty key or value (readNewBytes reads nothing for length 0),
// so a consumer cannot tell empty from null.
//
// Built offline in GOPATH mode: GO111MODULE=off GOPATH=/usr/share/gocode go build.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
)

type record struct {
	Key       []byte            `json:"key"`
	Value     []byte            `json:"value"`
	Headers   []json.RawMessage `json:"headers"`
	Timestamp *int64            `json:"timestamp"`
}

// fromMillis is the inverse of kafka-go's timestamp(): ms since the epoch to a time.Time.
func fromMillis(ms int64) time.Time {
	return time.Unix(0, ms*int64(time.Millisecond))
}

func fail(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "kafkago_client: "+format+"\n", args...)
	os.Exit(code)
}

func codecOf(name string) (kafka.CompressionCodec, error) {
	switch name {
	case "none":
		return nil, nil
	case "gzip":
		return gzip.NewCompressionCodec(), nil
	case "snappy":
		return snappy.NewCompressionCodec(), nil
	case "lz4":
		return lz4.NewCompressionCodec(), nil
	}
	return nil, fmt.Errorf("codec %q is not supported by kafka-go 0.2.1 (none|gzip|snappy|lz4)", name)
}

func dial(bootstrap, topic string, timeout time.Duration) *kafka.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	d := &kafka.Dialer{ClientID: "runnel-interop-kafka-go", Timeout: timeout}
	conn, err := d.DialLeader(ctx, "tcp", bootstrap, topic, 0)
	if err != nil {
		fail(1, "DialLeader %s/%s-0: %v", bootstrap, topic, err)
	}
	return conn
}

func produce(bootstrap, topic, codecName string) {
	codec, err := codecOf(codecName)
	if err != nil {
		fail(2, "%v", err)
	}
	var msgs []kafka.Message
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			fail(2, "record %d: %v", len(msgs), err)
		}
		if len(rec.Headers) > 0 {
			fail(2, "record %d has headers: kafka-go 0.2.1 (message format v1) cannot send them", len(msgs))
		}
		msg := kafka.Message{Key: rec.Key, Value: rec.Value} // nil = null
		if rec.Timestamp != nil {
			msg.Time = fromMillis(*rec.Timestamp)
		}
		msgs = append(msgs, msg)
	}
	if err := sc.Err(); err != nil {
		fail(2, "reading stdin: %v", err)
	}
	conn := dial(bootstrap, topic, 10*time.Second)
	defer conn.Close()
	if err := conn.SetRequiredAcks(-1); err != nil {
		fail(1, "SetRequiredAcks: %v", err)
	}
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := conn.WriteCompressedMessages(codec, msgs...); err != nil {
		fail(1, "produce: %v", err)
	}
}

func consume(bootstrap, topic string, count int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	conn := dial(bootstrap, topic, timeout)
	defer conn.Close()
	conn.SetDeadline(deadline)
	if _, err := conn.Seek(0, kafka.SeekAbsolute); err != nil {
		fail(1, "seek to offset 0: %v", err)
	}

	type outRecord struct {
		Key       []byte           `json:"key"`
		Value     []byte           `json:"value"`
		Headers   [][2]interface{} `json:"headers"`
		Timestamp int64            `json:"timestamp"`
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for got := 0; got < count; {
		if time.Now().After(deadline) {
			w.Flush()
			fail(3, "timeout: %d of %d records after %v", got, count, timeout)
		}
		batch := conn.ReadBatch(1, 16<<20)
		for got < count {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			if m.Offset != int64(got) {
				w.Flush()
				fail(1, "record %d has offset %d", got, m.Offset)
			}
			// Message format v1 has no headers: always [].
			line, err := json.Marshal(outRecord{Key: m.Key, Value: m.Value, Headers: [][2]interface{}{},
				Timestamp: m.Time.UnixNano() / int64(time.Millisecond)})
			if err != nil {
				fail(1, "json: %v", err)
			}
			w.Write(line)
			w.WriteByte('\n')
			got++
		}
		if err := batch.Close(); err != nil && got < count {
			w.Flush()
			fail(1, "fetch after %d records: %v", got, err)
		}
	}
}

func main() {
	if len(os.Args) < 2 {
		fail(2, "usage: kafkago_client produce|consume [flags]")
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "", "host:port")
	topic := fs.String("topic", "", "topic (partition 0)")
	codec := fs.String("codec", "none", "none|gzip|snappy|lz4 (produce)")
	count := fs.Int("count", 0, "records to read (consume)")
	timeoutMs := fs.Int("timeout-ms", 20000, "consume deadline")
	fs.Parse(os.Args[2:])
	if *bootstrap == "" || *topic == "" {
		fail(2, "--bootstrap and --topic are required")
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
