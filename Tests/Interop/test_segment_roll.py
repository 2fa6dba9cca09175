"""Segment rolling: by segment.bytes, by segment.ms and by a full index (segment.index.bytes).

Kafka semantics: the active segment rolls on append when the batch would push it past
segment.bytes, when segment.ms passed since its first batch's timestamp, or when its offset
or time index is full (an offset index entry takes 8 bytes, a time index entry 12; an entry
is added once more than index.interval.bytes were appended since the last one). A roll
starts a segment named after the next offset; no roll happens without an append."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING

import kafka_wire
from storage_util import (
    ck_produce,
    ck_producer,
    ck_read,
    create_topic,
    disk_batches,
    partition_dir,
    segment_bases,
    segment_path,
)


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_roll_by_segment_bytes(broker_factory, topic):
    seg_bytes = 16384
    b = broker_factory()
    create_topic(b.bootstrap, topic, {"segment.bytes": seg_bytes})
    tag = uuid.uuid4().hex[:6]
    msgs = [{"value": f"sb-{i}-{tag}-".encode().ljust(200, b"s")} for i in range(600)]
    p = ck_producer(b.bootstrap, **{"batch.num.messages": 20})
    ck_produce(p, topic, msgs)
    d = partition_dir(b, topic)
    bases = segment_bases(d)
    assert len(bases) >= 5, bases
    batches = disk_batches(d)
    for i, base in enumerate(bases):
        size = segment_path(d, base).stat().st_size
        assert size <= seg_bytes, f"segment {base} is {size} bytes > segment.bytes {seg_bytes}"
        mine = [x for x in batches if x["segment"] == base]
        assert mine and mine[0]["base_offset"] == base, f"segment {base} does not start with offset {base}"
        if i + 1 < len(bases):
            nxt = [x for x in batches if x["segment"] == bases[i + 1]][0]
            assert size + 12 + nxt["batch_length"] > seg_bytes, (
                f"segment {base} rolled at {size} bytes although the next batch "
                f"({12 + nxt['batch_length']} bytes) fit under segment.bytes")
            assert mine[-1]["base_offset"] + mine[-1]["last_offset_delta"] + 1 == bases[i + 1]
    got = ck_read(b.bootstrap, topic, OFFSET_BEGINNING, len(msgs))
    assert [m.value() for m in got] == [m["value"] for m in msgs]


def test_roll_by_segment_ms_on_append(broker_factory, topic):
    b = broker_factory()
    create_topic(b.bootstrap, topic, {"segment.ms": 500})
    d = partition_dir(b, topic)
    p = ck_producer(b.bootstrap, **{"linger.ms": 0})
    offs = []
    for i in range(3):
        # two quick records: same segment
        res = ck_produce(p, topic, [{"value": f"a{i}".encode()}, {"value": f"b{i}".encode()}])
        offs += [r[1] for r in res]
        time.sleep(0.8)
    assert offs == list(range(6))
    assert segment_bases(d) == [0, 2, 4], "segment.ms=500: each pair after an 800 ms pause starts a segment"
    # no append, no roll
    time.sleep(0.8)
    assert segment_bases(d) == [0, 2, 4]
    res = ck_produce(p, topic, [{"value": b"last"}])
    assert res[0][1] == 6
    assert segment_bases(d) == [0, 2, 4, 6]
    got = ck_read(b.bootstrap, topic, OFFSET_BEGINNING, 7)
    assert [m.offset() for m in got] == list(range(7))


def test_roll_when_the_index_is_full(broker_factory, topic):
    """segment.index.bytes=120 holds 15 offset-index / 10 time-index entries;
    index.interval.bytes=0 indexes every batch after the first of a segment."""
    b = broker_factory()
    create_topic(b.bootstrap, topic, {"segment.index.bytes": 120, "index.interval.bytes": 0})
    base_ts = _now_ms() - 100_000
    n = 100
    msgs = [{"value": f"idx-{i}".encode(), "timestamp": base_ts + 10 * i} for i in range(n)]
    p = ck_producer(b.bootstrap, **{"batch.num.messages": 1, "linger.ms": 0})
    ck_produce(p, topic, msgs, flush_each=1)
    d = partition_dir(b, topic)
    bases = segment_bases(d)
    batches = disk_batches(d)
    assert len(batches) == n, "precondition: one batch per record"
    per_seg = [sum(1 for x in batches if x["segment"] == base) for base in bases]
    assert len(bases) >= 6, f"expected rolls on a full index: segments {bases}, batches per segment {per_seg}"
    # the first batch of a segment gets no entry, the next 10 fill the time index -> roll
    assert all(c == 11 for c in per_seg[:-1]), f"batches per segment {per_seg} (Kafka: 11)"
    for base in bases:
        for suffix, entry in ((".index", 8), (".timeindex", 12)):
            f = segment_path(d, base, suffix)
            assert f.exists(), f"missing {f.name}"
            assert f.stat().st_size <= 120, f"{f.name} is {f.stat().st_size} bytes > segment.index.bytes"

    b.restart()
    got = ck_read(b.bootstrap, topic, OFFSET_BEGINNING, n)
    assert [(m.offset(), m.value()) for m in got] == [(i, m["value"]) for i, m in enumerate(msgs)]
    # closed segments keep only the used part of their preallocated index files
    for base in bases[:-1]:
        f = segment_path(d, base, ".index")
        assert f.stat().st_size % 8 == 0 and f.stat().st_size > 0, (f.name, f.stat().st_size)
    assert kafka_wire.decode_record_batches(segment_path(d, bases[0]).read_bytes())
