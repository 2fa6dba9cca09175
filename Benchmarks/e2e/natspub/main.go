// natspub publishes fixed-size messages to a JetStream file-store stream for a fixed time with
// the official nats.go client (PublishAsync, a bounded window of un-acknowledged publishes) and
// prints one JSON line: acknowledged messages, seconds, messages/s and MB/s (10^6 bytes).
// Every publish is acknowledged by the server once the stream has stored it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	url := flag.String("url", nats.DefaultURL, "server URL")
	size := flag.Int("size", 100, "message size in bytes")
	secs := flag.Float64("secs", 15, "how long to publish")
	window := flag.Int("window", 4096, "most publishes awaiting their acknowledgement")
	stream := flag.String("stream", "BENCH", "stream name (created with file storage)")
	flag.Parse()

	nc, err := nats.Connect(*url)
	if err != nil {
		fail("connect: %v", err)
	}
	defer nc.Close()
	var failed atomic.Int64
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(*window),
		nats.PublishAsyncErrHandler(func(nats.JetStream, *nats.Msg, error) { failed.Add(1) }))
	if err != nil {
		fail("jetstream: %v", err)
	}
	subject := *stream + ".data"
	_ = js.DeleteStream(*stream)
	if _, err := js.AddStream(&nats.StreamConfig{Name: *stream, Subjects: []string{subject},
		Storage: nats.FileStorage}); err != nil {
		fail("add stream: %v", err)
	}

	payload := make([]byte, *size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	var sent int64
	start := time.Now()
	deadline := start.Add(time.Duration(*secs * float64(time.Second)))
	for time.Now().Before(deadline) {
		for i := 0; i < 256; i++ {
			// A full window makes PublishAsync wait (200 ms) and then give up: try again.
			for {
				_, err := js.PublishAsync(subject, payload)
				if err == nil {
					break
				}
				if !strings.Contains(err.Error(), "stalled") {
					fail("publish: %v", err)
				}
			}
			sent++
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		fail("acknowledgements still missing 30 s after the last publish")
	}
	elapsed := time.Since(start).Seconds()
	acked := sent - failed.Load()
	out, _ := json.Marshal(map[string]any{
		"messages": acked, "failed": failed.Load(), "seconds": elapsed,
		"rate": float64(acked) / elapsed, "mbs": float64(acked) * float64(*size) / elapsed / 1e6,
	})
	fmt.Println(string(out))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "natspub: "+format+"\n", args...)
	os.Exit(1)
}
