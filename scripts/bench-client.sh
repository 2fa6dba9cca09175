#!/usr/bin/env bash
# `runnel perf produce` side by side with librdkafka's rdkafka_performance, in the same run,
# against one running broker: 100 B and 1 KiB records, acks=1 and acks=all, one partition,
# linger 5 ms, batch.size 1,000,000 bytes (librdkafka's default; `runnel perf` defaults to 256 KiB),
# no compression. Prints one line per case with both rates (medians of ROUNDS runs,
# default 4, the order alternating) and their ratio, then each run's figures.
#
#   BROKER=127.0.0.1:9092 COUNT=1000000 RUNNEL=.build/release/runnel scripts/bench-client.sh
#
# PARTITIONS=N (N > 1) measures memory instead: both producers send COUNT 100-byte records
# (acks=1) spread over a topic of N partitions with linger 100 ms, so about N batches are open
# at once, while the producer's /proc/PID/status is sampled every 50 ms. Prints the peak VmRSS
# and VmHWM of each process in bytes, and the records/s.
#
#   BROKER=127.0.0.1:9092 COUNT=2000000 PARTITIONS=1000 scripts/bench-client.sh
#
# rdkafka_performance is built by Benchmarks/e2e/build-rdkafka-perf.sh (into BENCH_CACHE, default
# ~/.cache/runnel-bench) and runs on the confluent-kafka wheel's librdkafka (Benchmarks/e2e/make-venv.sh).
set -euo pipefail
BROKER="${BROKER:-127.0.0.1:9092}"
COUNT="${COUNT:-1000000}"
RUNNEL="${RUNNEL:-.build/release/runnel}"
source "$(dirname "$0")/bench-tools.sh"  # E2E, CACHE, RDPERF, LIBDIR

rate_rdkafka() {  # size acks topic
    LD_LIBRARY_PATH="$LIBDIR" "$RDPERF" -P -t "$3" -p 0 -b "$BROKER" -s "$1" -c "$COUNT" \
        -X linger.ms=5 -X batch.size=1000000 -X acks="$2" -X enable.idempotence=$([ "$2" = all ] && echo true || echo false) 2>&1 \
        | grep -o '[0-9]* msgs/s' | tail -1 | grep -o '[0-9]*'
}

rate_runnel() {  # size acks topic
    "$RUNNEL" perf produce --bootstrap-server "$BROKER" --topic "$3" --num-records "$COUNT" \
        --record-size "$1" --acks "$2" --linger-ms 5 --batch-size 1000000 --output json 2>/dev/null \
        | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["publishRate"]))'
}

# Runs "$@" in the background and samples its VmRSS and VmHWM (kB) until it exits; prints
# "<peak VmRSS bytes> <VmHWM bytes>" on fd 3 and the command's stdout on stdout.
sample_memory() {
    "$@" &
    local pid=$! rss=0 hwm=0 status kb
    while status="$(grep -E '^Vm(RSS|HWM):' "/proc/$pid/status" 2>/dev/null)" && [ -n "$status" ]; do
        kb=$(echo "$status" | awk '/^VmRSS/ {print $2}'); [ "$kb" -gt "$rss" ] && rss=$kb
        kb=$(echo "$status" | awk '/^VmHWM/ {print $2}'); [ "$kb" -gt "$hwm" ] && hwm=$kb
        sleep 0.05
    done
    wait "$pid"
    echo "$((rss * 1024)) $((hwm * 1024))" >&3
}

if [ "${PARTITIONS:-1}" -gt 1 ]; then
    topic="bench-wide-$PARTITIONS-$$"
    "$RUNNEL" topic create "$topic" --partitions "$PARTITIONS" --bootstrap-server "$BROKER" >/dev/null
    mem="$(mktemp)"
    # Keys spread records over every partition (murmur2); librdkafka's random partitioner does the same.
    rn=$(sample_memory "$RUNNEL" perf produce --bootstrap-server "$BROKER" --topic "$topic" --num-records "$COUNT" \
        --record-size 100 --acks 1 --linger-ms 100 --keys $((PARTITIONS * 100)) --output json 3>"$mem" 2>/dev/null \
        | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["publishRate"]))')
    read -r rn_rss rn_hwm <"$mem"
    rd=$(LD_LIBRARY_PATH="$LIBDIR" sample_memory "$RDPERF" -P -t "$topic" -b "$BROKER" -s 100 -c "$COUNT" \
        -X linger.ms=100 -X acks=1 -X enable.idempotence=false 3>"$mem" 2>&1 | grep -o '[0-9]* msgs/s' | tail -1 | grep -o '[0-9]*')
    read -r rd_rss rd_hwm <"$mem"
    rm -f "$mem"
    "$RUNNEL" topic delete "$topic" --bootstrap-server "$BROKER" >/dev/null
    printf '%-12s %12s %14s %14s\n' producer "records/s" "peak VmRSS B" "VmHWM B"
    printf '%-12s %12s %14s %14s\n' runnel "$rn" "$rn_rss" "$rn_hwm"
    printf '%-12s %12s %14s %14s\n' librdkafka "$rd" "$rd_rss" "$rd_hwm"
    exit 0
fi

# Each case runs ROUNDS times (default 4: an even count, so each producer goes first equally often),
# alternating which producer goes first, and prints medians. Every run gets a new topic, deleted
# after it; before every run, `sync` writes back what the previous run left dirty in the page
# cache, which otherwise throttles the next producer with the kernel's writeback.
ROUNDS="${ROUNDS:-4}"
median() { python3 -c 'import statistics,sys; print(int(statistics.median(int(x) for x in sys.argv[1:])))' "$@"; }
one_run() {  # runnel|rdkafka size acks round
    local topic="bench-$1-$2-$3-$4-$$" rate
    "$RUNNEL" topic create "$topic" --partitions 1 --bootstrap-server "$BROKER" >/dev/null
    sync
    rate=$("rate_$1" "$2" "$3" "$topic")
    "$RUNNEL" topic delete "$topic" --bootstrap-server "$BROKER" >/dev/null
    echo "$rate"
}
printf '%-8s %-5s %14s %14s %7s\n' size acks "runnel rec/s" "librdkafka" ratio
for size in 100 1024; do
    for acks in 1 all; do
        rds=(); rns=()
        for round in $(seq "$ROUNDS"); do
            if [ $((round % 2)) -eq 1 ]; then
                rds+=("$(one_run rdkafka "$size" "$acks" "$round")")
                rns+=("$(one_run runnel "$size" "$acks" "$round")")
            else
                rns+=("$(one_run runnel "$size" "$acks" "$round")")
                rds+=("$(one_run rdkafka "$size" "$acks" "$round")")
            fi
        done
        rn=$(median "${rns[@]}"); rd=$(median "${rds[@]}")
        printf '%-8s %-5s %14s %14s %7s   (runnel %s; librdkafka %s)\n' "$size" "$acks" "$rn" "$rd" \
            "$(python3 -c "print(f'{$rn/$rd:.2f}')")" "${rns[*]}" "${rds[*]}"
    done
done
