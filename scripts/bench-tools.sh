# Sourced by the scripts/bench-*.sh scripts. Sets
#   E2E     Benchmarks/e2e, whose helpers build the tools
#   CACHE   where they are kept (BENCH_CACHE, default ~/.cache/runnel-bench)
#   RDPERF  rdkafka_performance (Benchmarks/e2e/build-rdkafka-perf.sh), unless RDPERF is set
#   LIBDIR  the confluent-kafka wheel's librdkafka it runs on (Benchmarks/e2e/make-venv.sh)
# A tool that cannot be built stops the script, or with BENCH_TOOLS_OPTIONAL=1 leaves its variable
# empty for the caller to fall back on something else.
E2E="$(cd "$(dirname "${BASH_SOURCE[0]}")/../Benchmarks/e2e" && pwd)"
CACHE="${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/runnel-bench}"
if [[ "${BENCH_TOOLS_OPTIONAL:-0}" == 1 ]]; then
    RDPERF="${RDPERF:-$("$E2E/build-rdkafka-perf.sh" "$CACHE/bin" 2>/dev/null || true)}"
    LIBDIR="$("$E2E/make-venv.sh" "$CACHE" 2>/dev/null || true)"
else
    RDPERF="${RDPERF:-$("$E2E/build-rdkafka-perf.sh" "$CACHE/bin")}"
    LIBDIR="$("$E2E/make-venv.sh" "$CACHE")"
fi
