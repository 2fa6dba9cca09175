#!/usr/bin/env bash
# Benchmark row 7: produce with runnel.flush.on.ack=true against the same workload without it,
# against one running broker. PAIRS rounds, each on two fresh one-partition topics (one with
# the topic config on, one without), alternating which goes first, each an rdkafka_performance produce
# of COUNT records of SIZE bytes, acks=1, linger.ms=5. Prints each run, the ratio on/off per pair,
# the median and range of the ratios, and the fdatasyncs per second of the "on" runs
# (runnel_log_flushes_total from the broker's metrics endpoint).
#
#   BROKER=127.0.0.1:9092 METRICS=http://127.0.0.1:9644/metrics COUNT=1000000 SIZE=1024 PAIRS=3 \
#       RUNNEL=.build/release/runnel scripts/bench-flush-on-ack.sh
#
# rdkafka_performance comes from ../shared/bench/build-rdkafka-perf.sh (built outside the repo)
# and runs on the confluent-kafka wheel's librdkafka (../shared/bench/rdkafka-newlib.sh).
set -euo pipefail
BROKER="${BROKER:-127.0.0.1:9092}"
METRICS="${METRICS:-http://127.0.0.1:9644/metrics}"
COUNT="${COUNT:-1000000}"
SIZE="${SIZE:-1024}"
PAIRS="${PAIRS:-3}"
ACKS="${ACKS:-1}"
RUNNEL="${RUNNEL:-.build/release/runnel}"
BENCH="${BENCH:-$(dirname "$0")/../../shared/bench}"
RDPERF="${RDPERF:-$(bash "$BENCH/build-rdkafka-perf.sh" 2>/dev/null | tail -1)}"
LIBDIR="$(bash "$BENCH/rdkafka-newlib.sh")"

# Fresh topics for every pair, deleted after it: the disk holds at most two runs' records.
make_topics() {
    on="bench-flush-on-$$-$1"
    off="bench-flush-off-$$-$1"
    "$RUNNEL" topic create "$on" --partitions 1 --config runnel.flush.on.ack=true --bootstrap-server "$BROKER" >/dev/null
    "$RUNNEL" topic create "$off" --partitions 1 --bootstrap-server "$BROKER" >/dev/null
}

flushes() {
    curl -s "$METRICS" | awk '$1 == "runnel_log_flushes_total" {print $2}'
}

# Prints "<records/s> <seconds>" for one produce run to topic $1.
run() {
    local start end out
    start=$(date +%s.%N)
    out=$(LD_LIBRARY_PATH="$LIBDIR" "$RDPERF" -P -t "$1" -p 0 -b "$BROKER" -s "$SIZE" -c "$COUNT" \
        -X linger.ms=5 -X acks="$ACKS" -X enable.idempotence=false 2>&1)
    end=$(date +%s.%N)
    echo "$(echo "$out" | grep -o '[0-9]* msgs/s' | tail -1 | grep -o '[0-9]*') $(echo "$end - $start" | bc)"
}

ratios=()
for pair in $(seq 1 "$PAIRS"); do
    make_topics "$pair"
    if [ $((pair % 2)) -eq 1 ]; then order="off on"; else order="on off"; fi
    for which in $order; do
        if [ "$which" = on ]; then
            before=$(flushes)
            read -r rate_on secs <<<"$(run "$on")"
            after=$(flushes)
            syncs=$(echo "$after - $before" | bc)
            echo "pair $pair on:  $rate_on records/s, $syncs fdatasyncs in ${secs}s ($(echo "$syncs / $secs" | bc) per second)"
        else
            read -r rate_off secs <<<"$(run "$off")"
            echo "pair $pair off: $rate_off records/s"
        fi
    done
    for t in "$on" "$off"; do "$RUNNEL" topic delete "$t" --bootstrap-server "$BROKER" >/dev/null; done
    ratios+=("$(echo "scale=3; $rate_on / $rate_off" | bc)")
    echo "pair $pair ratio on/off: ${ratios[-1]}"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{r[NR]=$1} END {printf "ratio on/off: median %s, range %s-%s over %d pairs\n", r[int((NR+1)/2)], r[1], r[NR], NR}'
