#!/usr/bin/env bash
# Creates CACHE/venv with confluent-kafka, whose wheel bundles a recent librdkafka (2.x newer than
# Debian 12's 2.0.2, which mis-reads tagged fields that Tansu sends in ApiVersions v3), and links
# that library as CACHE/librdkafka/librdkafka.so.1 so that rdkafka_performance runs on it through
# LD_LIBRARY_PATH against every broker alike. Usage: make-venv.sh CACHE -> prints the lib dir.
set -euo pipefail
CACHE="$1"
PY="$CACHE/venv/bin/python"
[[ -x "$PY" ]] || python3 -m venv "$CACHE/venv" >&2
if ! "$PY" -c 'import confluent_kafka' 2>/dev/null; then
    "$PY" -m pip install --disable-pip-version-check -q confluent-kafka >&2
fi
SO="$("$PY" - <<'PY'
import glob, os, confluent_kafka
site = os.path.dirname(os.path.dirname(confluent_kafka.__file__))
found = sorted(glob.glob(os.path.join(site, "confluent_kafka.libs", "librdkafka*.so*")))
print(found[0] if found else "")
PY
)"
[[ -n "$SO" ]] || { echo "the confluent-kafka wheel carries no librdkafka" >&2; exit 1; }
mkdir -p "$CACHE/librdkafka"
ln -sf "$SO" "$CACHE/librdkafka/librdkafka.so.1"
echo "$CACHE/librdkafka"
