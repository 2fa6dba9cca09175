#!/usr/bin/env bash
# Builds natspub (Benchmarks/e2e/natspub, the JetStream load generator) offline in GOPATH mode
# against the nats.go sources that Debian's golang-github-nats-io-go-nats-dev installs.
# Usage: build-natspub.sh OUTDIR   -> prints OUTDIR/natspub
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$1"
BIN="$OUT/natspub"
if [[ -x "$BIN" && "$BIN" -nt "$HERE/natspub/main.go" ]]; then echo "$BIN"; exit 0; fi
DIR="$(dpkg -L golang-github-nats-io-go-nats-dev | grep '/src/github.com/nats-io/nats.go$' | head -1)"
[[ -n "$DIR" ]] || { echo "golang-github-nats-io-go-nats-dev has no nats.go sources" >&2; exit 1; }
GOPATH_DEB="${DIR%/src/github.com/nats-io/nats.go}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
(cd "$HERE/natspub" && GO111MODULE=off GOFLAGS= GOPATH="$GOPATH_DEB" GOCACHE="$WORK/cache" \
    go build -o "$BIN" .) >&2
echo "$BIN"
