#!/usr/bin/env bash
# Runs a runnel command under valgrind's callgrind and prints the instruction-count summary.
# Instruction counts repeat to within about 1% on a loaded machine, where wall-clock rates move
# by tens of percent, so before/after comparisons of a hot path use this.
#
#   scripts/callgrind.sh OUT.callgrind .build/release/runnel perf produce --bootstrap-server 127.0.0.1:9092 \
#       --topic t --num-records 100000 --record-size 1024 --acks 1
#   callgrind_annotate --inclusive=yes OUT.callgrind | less
#
# Two workarounds for valgrind 3.19 (Debian 12):
# - it cannot read the DWARF of Swift release binaries ("Possibly corrupted debuginfo file"), so
#   it runs a copy with the debug sections stripped (symbols stay, so functions are named);
# - its rt_sigsuspend wrapper writes into the signal mask it is given, and libdispatch's
#   dispatch_main (which runs Swift's async main) passes a read-only one, so valgrind crashes
#   with SIGSEGV; a preloaded sigsuspend() passes a writable copy.
# Note: `rep movsb` (glibc's memcpy above ~2 KiB) counts one instruction per iteration, so
# large copies weigh more in Ir than in time.
set -euo pipefail
OUT="$1"; BIN="$2"; shift 2
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/shim.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, 8);
}
C
gcc -O2 -shared -fPIC -o "$WORK/shim.so" "$WORK/shim.c"
cp "$BIN" "$WORK/runnel"
strip --strip-debug "$WORK/runnel"
LD_PRELOAD="$WORK/shim.so" valgrind --tool=callgrind --callgrind-out-file="$OUT" "$WORK/runnel" "$@"
callgrind_annotate "$OUT" 2>/dev/null | grep -m1 'PROGRAM TOTALS'
