#!/usr/bin/env bash
# Replication cost, measured in one run on one machine: a three-node `runnel cluster up`, one
# topic with one replica and one with three (min.insync.replicas=2), one partition each, and the
# same load against both:
#   - throughput: librdkafka's rdkafka_performance (acks=1 and acks=all, 100-byte records,
#     linger 5 ms), RF 3 as a ratio of RF 1;
#   - latency: `runnel perf produce` at a fixed rate (acks=all), p50/p99 send-to-acknowledgement.
#
#   COUNT=500000 RATE=20000 RUNNEL=.build/release/runnel scripts/bench-replication.sh
#
# rdkafka_performance is built by Benchmarks/e2e/build-rdkafka-perf.sh (into BENCH_CACHE, default
# ~/.cache/runnel-bench); without it the throughput rows use `runnel perf produce` instead.
set -euo pipefail
COUNT="${COUNT:-500000}"
RATE="${RATE:-20000}"
RUNNEL="${RUNNEL:-.build/release/runnel}"
BASE="${BASE_PORT:-19092}"
BENCH_TOOLS_OPTIONAL=1 source "$(dirname "$0")/bench-tools.sh"  # E2E, CACHE, RDPERF, LIBDIR
DIR="$(mktemp -d /tmp/runnel-bench-replication.XXXXXX)"
B="localhost:$BASE,localhost:$((BASE + 2)),localhost:$((BASE + 4))"

"$RUNNEL" cluster up --brokers 3 --dir "$DIR" --base-port "$BASE" --metrics-base-port 0 \
    --override runnel.log.level=warning >"$DIR/up.log" 2>&1 &
UP=$!
trap 'kill -TERM $UP 2>/dev/null; wait $UP 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 120); do grep -q "bootstrap servers" "$DIR/up.log" && break; sleep 0.5; done
grep -q "bootstrap servers" "$DIR/up.log" || { cat "$DIR/up.log"; exit 1; }
# The brokers register with the controller just after they listen: retry until all three count.
for _ in $(seq 1 60); do
    "$RUNNEL" topic create rf3 --partitions 1 --replication-factor 3 --config min.insync.replicas=2 \
        --bootstrap-server "$B" >/dev/null 2>&1 && break
    sleep 0.5
done
"$RUNNEL" topic create rf1 --partitions 1 --replication-factor 1 --bootstrap-server "$B" >/dev/null
sleep 2

rate() {  # topic acks
    if [[ -x "$RDPERF" ]]; then
        LD_LIBRARY_PATH="$LIBDIR" "$RDPERF" -P -t "$1" -p 0 -b "$B" -s 100 -c "$COUNT" -X linger.ms=5 -X acks="$2" \
            -X enable.idempotence=$([ "$2" = all ] && echo true || echo false) 2>&1 | grep -o '[0-9]* msgs/s' | tail -1 | grep -o '[0-9]*'
    else
        "$RUNNEL" perf produce --bootstrap-server "$B" --topic "$1" --num-records "$COUNT" --acks "$2" --output json 2>/dev/null \
            | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["publishRate"]))'
    fi
}

latency() {  # topic -> "p50 p99" in ms
    "$RUNNEL" perf produce --bootstrap-server "$B" --topic "$1" --num-records $((RATE * 10)) --throughput "$RATE" --acks all \
        --output json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("%.2f %.2f" % (d["publishLatency50pct"], d["publishLatency99pct"]))'
}

printf '%-26s %12s %12s %7s\n' "case" "RF 1" "RF 3" "RF3/RF1"
for acks in 1 all; do
    r1=$(rate rf1 "$acks"); r3=$(rate rf3 "$acks")
    printf '%-26s %12s %12s %7s\n' "records/s acks=$acks" "$r1" "$r3" "$(python3 -c "print(f'{$r3/$r1:.2f}')")"
done
read -r p50a p99a <<<"$(latency rf1)"
read -r p50b p99b <<<"$(latency rf3)"
printf '%-26s %12s %12s %7s\n' "p50 ms acks=all @${RATE}/s" "$p50a" "$p50b" ""
printf '%-26s %12s %12s %7s\n' "p99 ms acks=all @${RATE}/s" "$p99a" "$p99b" ""
