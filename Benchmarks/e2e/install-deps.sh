#!/usr/bin/env bash
# Installs the Debian packages the suite uses when any is missing, the way scripts/test.sh does
# (apt-get through sudo unless already root). BENCH_SKIP_APT=1 skips this step.
set -euo pipefail
PACKAGES=(gcc pkg-config librdkafka-dev iperf3 nats-server redis-server redis-tools golang-go
          golang-github-nats-io-go-nats-dev python3-venv unzip procps)
# perf only with PROFILE_ROWS (run.sh's profiling knob).
[[ -n "${PROFILE_ROWS:-}" ]] && PACKAGES+=(linux-perf)
[[ "${BENCH_SKIP_APT:-0}" == 1 ]] && exit 0
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[[ ${#missing[@]} -eq 0 ]] && exit 0
SUDO=()
[[ $(id -u) -ne 0 ]] && SUDO=(sudo -n)
echo "installing missing Debian packages: ${missing[*]}" >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
# A package that cannot be installed only costs its rows: install the rest one by one then.
if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
    for p in "${missing[@]}"; do
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$p" >&2 \
            || echo "could not install $p; the rows that need it will say so" >&2
    done
fi
