"""Helpers for the storage-engine interop tests (retention, DeleteRecords, timestamps,
compaction, crash recovery, `runnel log dump`): topic creation with configs through the
confluent-kafka AdminClient, producing with delivery reports, watermarks, polling with a
deadline, and looking at a partition's files on disk."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

from interop_util import CK_COMMON

ADMIN_TIMEOUT = 10.0
T = TypeVar("T")

SEGMENT_RE = re.compile(r"^(\d{20})\.log$")


# ---------------------------------------------------------------------------------------
# confluent-kafka
# ---------------------------------------------------------------------------------------


def ck_admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    cfg = dict(CK_COMMON)
    cfg["bootstrap.servers"] = bootstrap
    return AdminClient(cfg)


def create_topic(bootstrap: str, name: str, config: Optional[dict[str, Any]] = None,
                 partitions: int = 1) -> None:
    """CreateTopics with topic-level configs (values are stringified)."""
    from confluent_kafka.admin import NewTopic

    admin = ck_admin(bootstrap)
    nt = NewTopic(name, num_partitions=partitions, replication_factor=1,
                  config={k: str(v) for k, v in (config or {}).items()})
    fs = admin.create_topics([nt], operation_timeout=ADMIN_TIMEOUT, request_timeout=ADMIN_TIMEOUT)
    fs[name].result(timeout=ADMIN_TIMEOUT + 5)
    # wait until the partition has a leader in metadata
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        md = admin.list_topics(topic=name, timeout=ADMIN_TIMEOUT)
        t = md.topics.get(name)
        if t is not None and t.error is None and 0 in t.partitions and t.partitions[0].leader >= 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {name} has no leader 10s after creation")


def ck_producer(bootstrap: str, **extra):
    from confluent_kafka import Producer

    cfg = dict(CK_COMMON)
    cfg.update({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 20000,
        "request.timeout.ms": 10000,
    })
    cfg.update(extra)
    return Producer(cfg)


def ck_produce(p, topic: str, msgs: list[dict], flush_each: Optional[int] = None) -> list[tuple]:
    """Produce `msgs` (dicts of Producer.produce kwargs; partition defaults to 0) and wait.
    Returns per message (error, offset, (timestamp_type, timestamp)).
    With `flush_each=n` the producer is flushed after every n messages, so (with
    batch.num.messages >= n) each group of n becomes its own record batch."""
    results: list = [None] * len(msgs)

    def cb_for(i):
        def cb(err, msg):
            results[i] = (err, msg.offset() if msg is not None else None,
                          msg.timestamp() if msg is not None else None)
        return cb

    for i, m in enumerate(msgs):
        kw = dict(m)
        kw.setdefault("partition", 0)
        while True:
            try:
                p.produce(topic, on_delivery=cb_for(i), **kw)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        if flush_each and (i + 1) % flush_each == 0:
            assert p.flush(30) == 0
    remaining = p.flush(30)
    assert remaining == 0, f"{remaining} messages still queued after flush"
    errs = [r[0] for r in results if r is None or r[0] is not None]
    assert not errs, f"{len(errs)} produce errors, e.g. {errs[:3]}"
    return results


def ck_consumer(bootstrap: str, **extra):
    from confluent_kafka import Consumer

    cfg = dict(CK_COMMON)
    cfg.update({
        "bootstrap.servers": bootstrap,
        "group.id": "runnel-interop-storage",  # required; assign() does no group operations
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
        "enable.partition.eof": True,
    })
    cfg.update(extra)
    return Consumer(cfg)


def watermarks(bootstrap: str, topic: str, partition: int = 0, consumer=None) -> tuple[int, int]:
    """(low, high) watermark via ListOffsets (not the consumer's cached values)."""
    from confluent_kafka import TopicPartition

    c = consumer or ck_consumer(bootstrap)
    try:
        return tuple(c.get_watermark_offsets(TopicPartition(topic, partition), timeout=5, cached=False))
    finally:
        if consumer is None:
            c.close()


def ck_read(bootstrap: str, topic: str, start: int, end: int, partition: int = 0,
            timeout_s: float = 20.0, extra: Optional[dict] = None) -> list:
    """Consume from `start` (an offset or OFFSET_BEGINNING) until a message at offset
    >= end - 1 arrived (or partition EOF at >= end). Any consumer error other than
    partition EOF fails."""
    from confluent_kafka import KafkaError, TopicPartition

    c = ck_consumer(bootstrap, **(extra or {}))
    out: list = []
    try:
        c.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    if m.offset() >= end:
                        break
                    continue
                raise AssertionError(f"consumer error at {len(out)} messages: {m.error()!r}")
            out.append(m)
            if m.offset() >= end - 1:
                break
        return out
    finally:
        c.close()


# ---------------------------------------------------------------------------------------
# waiting
# ---------------------------------------------------------------------------------------


def wait_for(fn: Callable[[], T], pred: Callable[[T], bool], timeout: float, what: str,
             interval: float = 0.2) -> T:
    """Call fn() until pred(value) holds; AssertionError with the last value on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = fn()
            if pred(last):
                return last
        except AssertionError:
            raise
        except Exception as e:  # transient client errors while the broker works
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------
# on disk
# ---------------------------------------------------------------------------------------


def partition_dir(broker, topic: str, partition: int = 0) -> Path:
    return Path(broker.log_dir) / f"{topic}-{partition}"


def segment_bases(d: Path) -> list[int]:
    """Base offsets of the live segments (`<20 digits>.log`, not `.log.deleted`)."""
    out = []
    for f in d.iterdir():
        m = SEGMENT_RE.match(f.name)
        if m:
            out.append(int(m.group(1)))
    return sorted(out)


def deleted_files(d: Path) -> list[str]:
    return sorted(f.name for f in d.iterdir() if f.name.endswith(".deleted"))


def segment_path(d: Path, base: int, suffix: str = ".log") -> Path:
    return d / f"{base:020d}{suffix}"


def live_log_bytes(d: Path) -> dict[int, int]:
    return {b: segment_path(d, b).stat().st_size for b in segment_bases(d)}


def disk_batches(d: Path) -> list[dict]:
    """Every record batch in every live segment, in order, with `segment` and `position`."""
    import kafka_wire

    out = []
    for base in segment_bases(d):
        data = segment_path(d, base).read_bytes()
        pos = 0
        for b in kafka_wire.decode_record_batches(data):
            b["segment"] = base
            b["position"] = pos
            pos += 12 + b["batch_length"]
            out.append(b)
    return out
