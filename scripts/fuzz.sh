#!/usr/bin/env bash
# libFuzzer over the broker's input path: the frame decoder, every request decoder (by API key and
# version, as the router dispatches) and the record batch readers (Tests/Fuzz/KafkaProtocolFuzzTarget.swift).
#
#   scripts/fuzz.sh                   build, then fuzz for FUZZ_SECONDS (default 120)
#   FUZZ_SECONDS=3600 scripts/fuzz.sh a longer run
#   scripts/fuzz.sh --build-only      build the fuzzer and the seed corpus, do not run
#   scripts/fuzz.sh CRASH_FILE...     replay inputs (e.g. a crash-* artifact) and exit
#
# Only Sources/KafkaProtocol plus the broker's FrameDecoder and SupportedApis are compiled with
# `-sanitize=fuzzer,address` (coverage and AddressSanitizer); swift-nio and the codec libraries
# come from an ordinary debug build (SWIFT_SCRATCH_PATH, default .build), so the fuzzer builds in
# about a minute once that build exists. The seed corpus is made from the captured client frames
# in Tests/KafkaProtocolTests/Fixtures (each as a stream, a frame and, for Produce, its records).
# Inputs the fuzzer finds interesting stay in .fuzz/corpus across runs; crashes are written to
# .fuzz/artifacts/ and make this script exit non-zero; replay one with `scripts/fuzz.sh FILE`.
# Every crash becomes a unit test in Tests/KafkaProtocolTests (with the input's bytes) and a fix.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=${SWIFT_SCRATCH_PATH:-.build}
OUT=${FUZZ_DIR:-$ROOT/.fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-120}
BIN=$OUT/runnel-fuzz

# Swift's crash backtracer reads the crashed thread's stack from another thread, which
# AddressSanitizer reports as a stack-buffer-underflow that hides the real message (a trap's
# "Fatal error: ..."); libFuzzer prints its own stack.
export SWIFT_BACKTRACE=enable=no

log() { printf '[fuzz] %s\n' "$*" >&2; }

build() {
    log "building swift-nio and KafkaProtocol's dependencies (swift build --scratch-path $SCRATCH)"
    swift build --scratch-path "$SCRATCH" --target KafkaProtocol >&2
    local triple_dir
    triple_dir=$(swift build --scratch-path "$SCRATCH" --show-bin-path)
    mkdir -p "$OUT/src"
    rm -f "$OUT"/src/*.swift
    # One module: the KafkaProtocol sources, the broker's frame decoder and version table, the target.
    local f
    for f in $(find Sources/KafkaProtocol -name '*.swift') Sources/RunnelBroker/Network/FrameDecoder.swift \
             Sources/RunnelBroker/Network/SupportedApis.swift Tests/Fuzz/*.swift; do
        sed -e 's/^import KafkaProtocol$//' "$f" > "$OUT/src/$(echo "$f" | tr '/' '_')"
    done
    # The C module maps and include paths SwiftPM gives KafkaProtocol.
    local flags
    flags=$(python3 - "$SCRATCH/debug.yaml" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
start = text.index('"C.KafkaProtocol-')
block = text[start:text.index('\n  "', start + 10)]
args = json.loads('[' + re.search(r'args: \[(.*)\]', block).group(1) + ']')
keep, i = [], 0
while i < len(args):
    a = args[i]
    if a == '-Xcc' and i + 1 < len(args):
        keep += [a, args[i + 1]]; i += 2; continue
    if a == '-I' and i + 1 < len(args):
        keep += [a, args[i + 1]]; i += 2; continue
    i += 1
print('\n'.join(keep))
EOF
)
    local objects=()
    local dep
    for dep in NIOCore NIOConcurrencyHelpers _NIOBase64 _NIODataStructures CNIOLinux CNIODarwin CNIOWindows CNIOWASI \
               CNIOFreeBSD CNIOOpenBSD CNIOAtomics Atomics _AtomicsShims DequeModule InternalCollectionsUtilities \
               ContainersPreview BasicContainers; do
        [ -d "$triple_dir/$dep.build" ] || continue
        mapfile -t -O "${#objects[@]}" objects < <(find "$triple_dir/$dep.build" -name '*.o')
    done
    log "compiling the fuzzer with -sanitize=fuzzer,address"
    local IFS=$'\n'
    # shellcheck disable=SC2046
    swiftc -parse-as-library -module-name RunnelFuzz -swift-version 6 -enable-upcoming-feature ExistentialAny \
        -sanitize=fuzzer,address -use-ld=lld -O -g -module-cache-path "$OUT/ModuleCache" \
        $(echo "$flags") "$OUT"/src/*.swift "${objects[@]}" \
        -lz -llz4 -lzstd -lsnappy -lxxhash -lisal -o "$BIN"
    seed
}

# Seeds: every captured frame, as mode 1 (a frame), mode 0 (size-prefixed stream) and, for
# Produce, mode 2 (each partition's record set, split out by the Python wire decoder).
seed() {
    mkdir -p "$OUT/seeds" "$OUT/corpus" "$OUT/artifacts"
    python3 - "$OUT/seeds" <<'EOF'
import hashlib, pathlib, struct, sys
out = pathlib.Path(sys.argv[1])
def put(data):
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
frames = list(pathlib.Path('Tests/KafkaProtocolTests/Fixtures/requests').glob('*.bin'))
frames += list(pathlib.Path('Tests/KafkaProtocolTests/Fixtures/legacy').glob('*produce*.bin'))
for f in frames:
    data = f.read_bytes()
    put(b'\x01' + data)
    put(b'\x00' + struct.pack('>i', len(data)) + data)
for f in pathlib.Path('Tests/KafkaProtocolTests/Fixtures/legacy').glob('*.bin'):
    put(b'\x02' + f.read_bytes())
# Record sets from the captured Produce v3+ requests: a magic-2 batch starts with baseOffset 0 and
# has magic 2 at byte 16; take each from there to its declared length.
for f in pathlib.Path('Tests/KafkaProtocolTests/Fixtures/requests').glob('*produce*.bin'):
    data = f.read_bytes()
    for i in range(len(data) - 61):
        if data[i:i + 8] == b'\0' * 8 and data[i + 16] == 2:
            length = struct.unpack('>i', data[i + 8:i + 12])[0]
            if 49 <= length <= len(data) - i - 12:
                put(b'\x02' + data[i:i + 12 + length])
EOF
}

if [ "${1:-}" = "--build-only" ]; then
    build
    exit 0
fi
if [ $# -gt 0 ]; then
    [ -x "$BIN" ] || build
    exec "$BIN" "$@"
fi
build
log "fuzzing for ${FUZZ_SECONDS}s (FUZZ_SECONDS); corpus $OUT/corpus, crashes in $OUT/artifacts"
"$BIN" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$OUT/artifacts/" "$OUT/corpus" "$OUT/seeds"
