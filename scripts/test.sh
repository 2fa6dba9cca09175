#!/usr/bin/env bash
# Runnel's test command: installs what is missing, builds, runs the Swift tests and
# the interop suite (real Kafka clients against the runnel binary).
#
#   scripts/test.sh                  everything
#   scripts/test.sh --swift-only     swift build + swift test
#   scripts/test.sh --interop-only   swift build + interop suite (skips swift test)
#   scripts/test.sh --interop-only -- -k kcat -x     extra args after -- go to pytest
#
# Environment:
#   RUNNEL_BIN           use this broker binary for the interop suite (skips swift build
#                        when combined with --interop-only)
#   SWIFT_SCRATCH_PATH   pass --scratch-path to swift build/test (e.g. .build-interop)
#   RUNNEL_SKIP_DEPS=1   do not check/install apt packages or the venv
#   RUNNEL_TEST_TIMEOUT  per-interop-test limit in seconds (default 180)
#   RUNNEL_FUZZ=0|1      run the libFuzzer target after the Swift tests (scripts/fuzz.sh for
#                        FUZZ_SECONDS, default 120). On by default unless --interop-only or
#                        RUNNEL_SANITIZE is set; building it adds about 2.5 minutes on a shared
#                        2-core machine. FUZZ_SECONDS=3600 is the long mode.
#   RUNNEL_SANITIZE=address|thread
#                        build and run the Swift tests under AddressSanitizer or ThreadSanitizer
#                        (own scratch path .build-sanitize-<name>), and run the interop suite (if
#                        not --swift-only) against the sanitized runnel binary. Off by default: a
#                        sanitized build takes 10+ minutes here and the tests run several times slower.
#                        ThreadSanitizer cannot see Synchronization.Mutex's contended path on Linux
#                        (the kernel takes a PI futex inside the uninstrumented stdlib), so it reports
#                        races on Mutex-guarded state when two threads contend; such a report names a
#                        line inside a withLock closure and is a false positive (seen: SteadyWallClock).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MODE=all
PYTEST_EXTRA=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --interop-only) MODE=interop ;;
        --swift-only) MODE=swift ;;
        --) shift; PYTEST_EXTRA=("$@"); break ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

stage() {
    echo
    echo "=================================================================="
    echo "== $*"
    echo "=================================================================="
}

SWIFT_ARGS=()
if [[ -n "${RUNNEL_SANITIZE:-}" ]]; then
    case "$RUNNEL_SANITIZE" in
        address|thread) ;;
        *) echo "RUNNEL_SANITIZE must be address or thread, not '$RUNNEL_SANITIZE'" >&2; exit 2 ;;
    esac
    SWIFT_SCRATCH_PATH="${SWIFT_SCRATCH_PATH:-.build-sanitize-$RUNNEL_SANITIZE}"
    SWIFT_ARGS=(--sanitize="$RUNNEL_SANITIZE")
    # A report is a failure, not a log line: stop at the first one.
    export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=0}"
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}"
fi
if [[ -n "${SWIFT_SCRATCH_PATH:-}" ]]; then
    SWIFT_ARGS+=(--scratch-path "$SWIFT_SCRATCH_PATH")
fi

# ---------------------------------------------------------------------------- deps
APT_PACKAGES=(kcat openssl e2fsprogs zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev libisal-dev libxxhash-dev pkg-config golang-go golang-github-shopify-sarama-dev golang-github-segmentio-kafka-go-dev)
PY_IMPORTS="import kafka, confluent_kafka, aiokafka, pytest, snappy, lz4, zstandard, crc32c, cramjam, prometheus_client"

APT_UPDATED=0
apt_install() {
    local SUDO=()
    if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
    if [[ $APT_UPDATED -eq 0 ]]; then
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
        APT_UPDATED=1
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

install_deps() {
    stage "dependencies (apt packages, Python venv)"
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "installing missing Debian packages: ${missing[*]}"
        apt_install "${missing[@]}"
    else
        echo "Debian packages present: ${APT_PACKAGES[*]}"
    fi

    if [[ "$MODE" == swift ]]; then return; fi
    if [[ ! -x .venv/bin/python ]]; then
        if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
            echo "python3 lacks venv/ensurepip: installing python3-venv"
            apt_install python3-venv
        fi
        echo "creating .venv with $(command -v python3) ($(python3 --version 2>&1))"
        python3 -m venv .venv
    fi
    if ! .venv/bin/python -c "$PY_IMPORTS" >/dev/null 2>&1; then
        echo "installing Python packages into .venv"
        .venv/bin/python -m pip install --disable-pip-version-check -q --upgrade pip
        .venv/bin/python -m pip install --disable-pip-version-check -q -r Tests/Interop/requirements.txt
        .venv/bin/python -c "$PY_IMPORTS"
    else
        echo "Python packages present in .venv"
    fi
}

if [[ "${RUNNEL_SKIP_DEPS:-0}" != 1 ]]; then
    install_deps
fi

# ---------------------------------------------------------------------------- build
if [[ "$MODE" != interop || -z "${RUNNEL_BIN:-}" ]]; then
    stage "swift build ${SWIFT_ARGS[*]}"
    swift build "${SWIFT_ARGS[@]}"
fi

# ---------------------------------------------------------------------------- swift test
if [[ "$MODE" != interop ]]; then
    stage "swift test ${SWIFT_ARGS[*]}"
    swift test "${SWIFT_ARGS[@]}"
fi

# ---------------------------------------------------------------------------- fuzz
FUZZ_DEFAULT=1
[[ -n "${RUNNEL_SANITIZE:-}" ]] && FUZZ_DEFAULT=0
if [[ "$MODE" != interop && "${RUNNEL_FUZZ:-$FUZZ_DEFAULT}" == 1 ]]; then
    stage "libFuzzer (scripts/fuzz.sh, FUZZ_SECONDS=${FUZZ_SECONDS:-120})"
    SWIFT_SCRATCH_PATH="${SWIFT_SCRATCH_PATH:-.build}" scripts/fuzz.sh
fi

# ---------------------------------------------------------------------------- interop
if [[ "$MODE" != swift ]]; then
    if [[ -z "${RUNNEL_BIN:-}" ]]; then
        RUNNEL_BIN="$(swift build "${SWIFT_ARGS[@]}" --show-bin-path)/runnel"
    fi
    export RUNNEL_BIN
    stage "interop tests (pytest Tests/Interop, RUNNEL_BIN=$RUNNEL_BIN)"
    if [[ ! -x "$RUNNEL_BIN" ]]; then
        echo "runnel binary not found at $RUNNEL_BIN" >&2
        exit 1
    fi
    set +e
    .venv/bin/python -m pytest -q -rfEw Tests/Interop ${PYTEST_EXTRA[@]+"${PYTEST_EXTRA[@]}"}
    rc=$?
    set -e
    if [[ $rc -eq 5 ]]; then
        echo "pytest collected no tests: treating as a failure" >&2
        exit 1
    fi
    if [[ $rc -ne 0 ]]; then
        echo "interop tests failed (pytest exit $rc)" >&2
        exit "$rc"
    fi
fi

# Nothing is printed after the last test runner's summary on success: CI reads the
# runner's closing line (pytest's "N passed ..." / swift test's summary).
exit 0
