#!/usr/bin/env bash
# Fetch from segment files with sendfile against pread, in the broker: for each case a fresh
# broker (a temporary log dir, port PORT) is started with runnel.fetch.sendfile.min.bytes=16384
# (sendfile for record sets of 16 KiB or more) or 0 (pread only), the two alternating for ROUNDS
# rounds; rdkafka_performance -P writes COUNT records of SIZE bytes over PARTITIONS partitions,
# then rdkafka_performance -C reads them all from offset 0 three times (the command of row 2 of
# Benchmarks/e2e). Prints, per broker, each read's records/s and the broker's CPU during it
# (user+system clock ticks from /proc/PID/stat; 100 ticks = 1 CPU second).
#
#   RUNNEL=.build/release/runnel SIZE=1024 COUNT=1000000 PARTITIONS=1 scripts/bench-sendfile.sh
#
# rdkafka_performance comes from Benchmarks/e2e/build-rdkafka-perf.sh and runs on the
# confluent-kafka wheel's librdkafka (Benchmarks/e2e/make-venv.sh), as in scripts/bench-client.sh.
set -euo pipefail
RUNNEL="$(realpath "${RUNNEL:-.build/release/runnel}")"
SIZE="${SIZE:-1024}"
COUNT="${COUNT:-1000000}"
PARTITIONS="${PARTITIONS:-1}"
ROUNDS="${ROUNDS:-2}"
PORT="${PORT:-19092}"
source "$(dirname "$0")/bench-tools.sh"  # E2E, CACHE, RDPERF, LIBDIR
BROKER="127.0.0.1:$PORT"

one_broker() {  # min.bytes
    local dir pid parts=() line
    dir="$(mktemp -d)"
    printf 'node.id=1\nlisteners=PLAINTEXT://%s\nlog.dirs=%s/logs\noffsets.topic.replication.factor=1\nrunnel.metrics.listener=\nrunnel.log.level=warning\n' \
        "$BROKER" "$dir" > "$dir/server.properties"
    "$RUNNEL" broker --config "$dir/server.properties" --override "runnel.fetch.sendfile.min.bytes=$1" > "$dir/broker.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
    "$RUNNEL" topic create t --partitions "$PARTITIONS" --bootstrap-server "$BROKER" > /dev/null
    LD_LIBRARY_PATH="$LIBDIR" "$RDPERF" -P -t t -b "$BROKER" -s "$SIZE" -c "$COUNT" -X linger.ms=5 \
        -X batch.size=1000000 -X acks=1 -X enable.idempotence=false > "$dir/produce.log" 2>&1
    for p in $(seq 0 $((PARTITIONS - 1))); do parts+=(-p "$p"); done
    line="runnel.fetch.sendfile.min.bytes=$1 size=$SIZE partitions=$PARTITIONS:"
    for _ in 1 2 3; do
        local before after rate
        before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
        LD_LIBRARY_PATH="$LIBDIR" "$RDPERF" -C -t t -b "$BROKER" -o beginning -e -c "$COUNT" "${parts[@]}" \
            -X queued.min.messages=1000000 -X fetch.queue.backoff.ms=0 > "$dir/consume.log" 2>&1
        after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
        rate=$(grep -oE '[0-9]+ messages \([0-9]+ bytes\) consumed in [0-9]+ms' "$dir/consume.log" | tail -1 \
            | awk '{printf "%.0f", $1 * 1000 / ($7 + 0)}')
        line="$line $rate records/s ($((after - before)) ticks)"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
    echo "$line"
}

for _ in $(seq "$ROUNDS"); do
    one_broker 16384
    one_broker 0
done
