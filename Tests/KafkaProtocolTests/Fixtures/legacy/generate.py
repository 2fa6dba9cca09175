#!/usr/bin/env python3
"""Regenerates the legacy message set fixtures (magic 0 and 1) used by LegacyMessageSetTests.swift.

Two sources, both real client code:

  kafka-python-m<magic>-<codec>.bin   message sets built by kafka-python's LegacyRecordBatchBuilder
                                      (kafka/record/legacy_records.py) from RECORDS below: magic 0
                                      and 1 with none, gzip and snappy (xerial framing), magic 1
                                      with lz4. Magic 0 with lz4 needs the `xxhash` module for
                                      kafka-python's KAFKA-3160 header (not installed here); the
                                      Swift tests build that case themselves.
  kafka-go-produce-v2-<codec>.bin     the Produce v2 request frame (header + body, without the size
                                      prefix) that Debian's kafka-go 0.2.1 sent for RECORDS with
                                      none, gzip, snappy (raw block) and lz4 (pierrec/lz4 frame),
                                      captured through Tests/Interop/tcp_proxy.py in front of a
                                      runnel broker (needs RUNNEL_BIN and the kafkago_client built
                                      as test_codec_matrix.py does, passed as KAFKAGO_CLIENT).

The message sets of both are checked field by field in Swift against RECORDS (keys, values and,
for magic 1, timestamps; kafka-go is given RECORDS' timestamps). Usage:

    RUNNEL_BIN=.build-legacy/debug/runnel KAFKAGO_CLIENT=/path/kafkago_client \\
        .venv/bin/python Tests/KafkaProtocolTests/Fixtures/legacy/generate.py
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kafka.record.legacy_records import LegacyRecordBatchBuilder

HERE = Path(__file__).resolve().parent
INTEROP = HERE.parents[2] / "Interop"

T0 = 1_700_000_000_000
# (key, value, timestamp); the timestamps are not monotonic on purpose.
RECORDS = [
    (b"key-0", b"value-0", T0 + 5),
    (None, b"null key", T0 + 1),
    (b"", b"empty key", T0 + 9),
    (b"k-null-value", None, T0 + 3),
    (b"k-empty-value", b"", T0 + 7),
    (b"big", b"runnel legacy message set " * 40, T0 + 2),
]
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3}


def kafka_python_sets() -> None:
    for magic in (0, 1):
        for name, codec in CODECS.items():
            if magic == 0 and name == "lz4":
                continue
            b = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 20)
            for offset, (key, value, ts) in enumerate(RECORDS):
                assert b.append(offset, timestamp=ts, key=key, value=value) is not None
            (HERE / f"kafka-python-m{magic}-{name}.bin").write_bytes(bytes(b.build()))


def kafka_go_frames() -> None:
    client = os.environ.get("KAFKAGO_CLIENT")
    if not client:
        print("KAFKAGO_CLIENT not set: kafka-go fixtures left as they are", file=sys.stderr)
        return
    sys.path.insert(0, str(INTEROP))
    from harness import Broker, free_port  # noqa: E402
    from tcp_proxy import RecordingProxy  # noqa: E402

    lines = "".join(json.dumps({"key": None if k is None else base64.b64encode(k).decode(),
                                "value": None if v is None else base64.b64encode(v).decode(),
                                "headers": [], "timestamp": ts}) + "\n" for k, v, ts in RECORDS).encode()
    with tempfile.TemporaryDirectory(prefix="legacy-fixtures-") as work:
        port = free_port()
        proxy = RecordingProxy(target_port=port).start()
        broker = Broker(Path(work), port=port, advertised_port=proxy.port, name="fixtures").start()
        try:
            for name in CODECS:
                proxy.clear()
                subprocess.run([client, "produce", "--bootstrap", f"127.0.0.1:{proxy.port}",
                                "--topic", f"legacy-fixture-{name}", "--codec", name],
                               input=lines, check=True, timeout=60)
                produce = [f.payload for f in proxy.requests() if f.payload[:4] == b"\x00\x00\x00\x02"]
                assert len(produce) == 1, f"{name}: {len(produce)} Produce v2 frames"
                (HERE / f"kafka-go-produce-v2-{name}.bin").write_bytes(produce[0])
        finally:
            broker.stop()
            proxy.stop()


if __name__ == "__main__":
    kafka_python_sets()
    kafka_go_frames()
