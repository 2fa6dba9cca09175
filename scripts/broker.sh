#!/usr/bin/env bash
# Builds runnel (release) and starts one broker on Config/server.properties:
# PLAINTEXT://localhost:9092, data under ./data, consumer groups set up for one broker. Extra arguments go to `runnel broker`,
# e.g. scripts/broker.sh --override listeners=PLAINTEXT://localhost:9093
#
# scripts/broker.sh --cluster 3 starts a local three-node cluster instead (`runnel cluster up --brokers 3`,
# data under ./data/cluster); arguments after it go to `runnel cluster up`.
#
# Installs the Debian packages the build links against (and kcat, for the README's
# walk-through) when they are missing. RUNNEL_SKIP_DEPS=1 skips that step.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PACKAGES=(zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev libisal-dev libxxhash-dev pkg-config kcat)
if [[ "${RUNNEL_SKIP_DEPS:-0}" != 1 ]]; then
    missing=()
    for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [[ ${#missing[@]} -gt 0 ]]; then
        SUDO=(); [[ $(id -u) -ne 0 ]] && SUDO=(sudo)
        echo "installing missing Debian packages: ${missing[*]}" >&2
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    fi
fi

swift build -c release --product runnel >&2
RUNNEL="$(swift build -c release --show-bin-path)/runnel"
if [[ "${1:-}" == --cluster ]]; then
    shift
    BROKERS="${1:-3}"
    shift || true
    exec "$RUNNEL" cluster up --brokers "$BROKERS" --dir "$ROOT/data/cluster" "$@"
fi
exec "$RUNNEL" broker --config "$ROOT/Config/server.properties" "$@"
