#!/usr/bin/env bash
# Compiles rdkafka_performance from the copy of librdkafka's example that Debian's librdkafka-dev
# ships under /usr/share/doc (v2.0.2 on Debian 12). The example includes two of librdkafka's
# private headers (rd.h, rdtime.h); a few lines below stand in for the parts it uses.
# Usage: build-rdkafka-perf.sh OUTDIR   -> prints OUTDIR/rdkafka_performance
set -euo pipefail
OUT="$1"
BIN="$OUT/rdkafka_performance"
if [[ -x "$BIN" ]]; then echo "$BIN"; exit 0; fi
SRC="$(dpkg -L librdkafka-dev | grep -E '/examples/rdkafka_performance\.c(\.gz)?$' | head -1)"
[[ -n "$SRC" ]] || { echo "librdkafka-dev ships no rdkafka_performance.c" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/shim" "$WORK/ex" "$OUT"
if [[ "$SRC" == *.gz ]]; then zcat "$SRC" >"$WORK/ex/perf.c"; else cp "$SRC" "$WORK/ex/perf.c"; fi
# The example says #include "../src/rd.h": put the shim where that path resolves from ex/.
mkdir -p "$WORK/src"
cat >"$WORK/src/rd.h" <<'H'
/* Only what rdkafka_performance.c takes from librdkafka's private rd.h. */
#pragma once
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#define rd_snprintf(...) snprintf(__VA_ARGS__)
#define RD_MAX(x, y) ((x) < (y) ? (y) : (x))
#define RD_MIN(x, y) ((x) < (y) ? (x) : (y))
H
cat >"$WORK/shim/rdtime.h" <<'H'
/* rd_clock(): monotonic microseconds, as librdkafka's private rdtime.h defines it. */
#pragma once
#include <stdint.h>
#include <time.h>
typedef int64_t rd_ts_t;
static inline rd_ts_t rd_clock(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (rd_ts_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}
H
cp "$WORK/src/rd.h" "$WORK/shim/rd.h"
# "rdkafka.h" lives in /usr/include/librdkafka (pkg-config gives no -I for it on Debian 12).
INC="$(dirname "$(dpkg -L librdkafka-dev | grep '/rdkafka\.h$' | head -1)")"
gcc -O2 -w -I"$WORK/shim" -I"$INC" -o "$BIN.tmp" "$WORK/ex/perf.c" \
    $(pkg-config --libs rdkafka 2>/dev/null || echo -lrdkafka) -lpthread -lm >&2
mv "$BIN.tmp" "$BIN"
echo "$BIN"
