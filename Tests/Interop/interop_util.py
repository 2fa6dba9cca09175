"""Client helpers shared by the interop tests (kafka-python, confluent-kafka, kcat)."""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import Any, Optional

# Client timeouts are lowered everywhere so that a broker that never answers
# fails a test in seconds, not minutes.
REQUEST_TIMEOUT_MS = 10000
CONSUME_TIMEOUT_S = 20.0

KP_COMMON: dict[str, Any] = {
    "request_timeout_ms": REQUEST_TIMEOUT_MS,
    "reconnect_backoff_ms": 50,
    "reconnect_backoff_max_ms": 500,
    "retry_backoff_ms": 100,
}


def kp_producer(bootstrap: str, **overrides):
    from kafka import KafkaProducer

    cfg = dict(KP_COMMON)
    cfg.update(bootstrap_servers=bootstrap, enable_idempotence=False, acks=1,
               linger_ms=5, max_block_ms=15000, delivery_timeout_ms=30000)
    cfg.update(overrides)
    return KafkaProducer(**cfg)


def kp_consumer(bootstrap: str, **overrides):
    from kafka import KafkaConsumer

    cfg = dict(KP_COMMON)
    cfg.update(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
               auto_offset_reset="earliest", consumer_timeout_ms=int(CONSUME_TIMEOUT_S * 1000),
               fetch_max_wait_ms=200)
    cfg.update(overrides)
    return KafkaConsumer(**cfg)


def kp_consume(bootstrap: str, topic: str, partition: int, expected: int,
               timeout_s: float = CONSUME_TIMEOUT_S, **overrides) -> list:
    """Assign one partition, seek to beginning, read until `expected` records
    arrived or `timeout_s` passed. Returns the ConsumerRecords read."""
    from kafka import TopicPartition

    c = kp_consumer(bootstrap, **overrides)
    try:
        tp = TopicPartition(topic, partition)
        c.assign([tp])
        c.seek_to_beginning(tp)
        out = []
        deadline = time.monotonic() + timeout_s
        while len(out) < expected and time.monotonic() < deadline:
            batch = c.poll(timeout_ms=500)
            for recs in batch.values():
                out.extend(recs)
        return out
    finally:
        c.close()


def kp_produce_values(bootstrap: str, topic: str, values: list[bytes], partition: int = 0,
                      keys: Optional[list[Optional[bytes]]] = None, **overrides) -> list:
    """Send values, wait for every ack, return the RecordMetadata list."""
    p = kp_producer(bootstrap, **overrides)
    try:
        futs = [p.send(topic, value=v, key=(keys[i] if keys else None), partition=partition)
                for i, v in enumerate(values)]
        p.flush(30)
        return [f.get(timeout=REQUEST_TIMEOUT_MS / 1000) for f in futs]
    finally:
        p.close(timeout=5)


# ---------------------------------------------------------------------------------------
# kcat
# ---------------------------------------------------------------------------------------

KCAT_FAST = [
    "-X", "socket.timeout.ms=10000",
    "-X", "topic.metadata.refresh.interval.ms=1000",
    "-X", "metadata.max.age.ms=5000",
    "-X", "reconnect.backoff.ms=50",
    "-X", "reconnect.backoff.max.ms=500",
    "-X", "retry.backoff.ms=100",
]


def kcat_path() -> str:
    p = shutil.which("kcat") or shutil.which("kafkacat")
    if not p:
        raise RuntimeError("kcat not installed (scripts/test.sh installs it with apt-get)")
    return p


def kcat(bootstrap: str, *args: str, input: Optional[bytes] = None,
         timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [kcat_path(), "-b", bootstrap, *KCAT_FAST, *args]
    cp = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=timeout)
    if check and cp.returncode != 0:
        raise AssertionError(
            f"kcat failed ({cp.returncode}): {' '.join(cmd)}\n"
            f"stderr:\n{cp.stderr.decode(errors='replace')[-4000:]}")
    return cp


# ---------------------------------------------------------------------------------------
# confluent-kafka
# ---------------------------------------------------------------------------------------

CK_COMMON: dict[str, Any] = {
    "socket.timeout.ms": 10000,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
    "retry.backoff.ms": 100,
    "topic.metadata.refresh.interval.ms": 2000,
}


def ck_consume(bootstrap: str, topic: str, partition: int, expected: int,
               timeout_s: float = CONSUME_TIMEOUT_S, extra: Optional[dict] = None) -> list:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    errors: list = []
    cfg = dict(CK_COMMON)
    cfg.update({
        "bootstrap.servers": bootstrap,
        "group.id": "runnel-interop-assign",  # required by the client; no group ops with assign()
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 200,
        "error_cb": errors.append,
    })
    cfg.update(extra or {})
    c = Consumer(cfg)
    out = []
    try:
        c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout_s
        while len(out) < expected and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                # partition EOF and similar are informational
                continue
            out.append(m)
        return out
    finally:
        c.close()


def check_codec_on_wire(batches: list[dict], codec: str, small: int = 3) -> None:
    """Every produced batch carries `codec`, except that librdkafka sends a batch uncompressed
    when compressing would not make it smaller (rdkafka_msgset_writer.c): that happens only to
    tiny batches, e.g. a one-record tail batch under load, so `none` is accepted for batches of at
    most `small` records, and at least one batch must carry `codec`."""
    codecs = {b["compression"] for b in batches}
    assert codec in codecs, f"no {codec} batch on the wire: {sorted(codecs)}"
    odd = [b for b in batches if b["compression"] != codec and not (b["compression"] == "none" and b["record_count"] <= small)]
    assert not odd, f"batches not sent as {codec}: {[(b['compression'], b['record_count']) for b in odd]}"
