"""Timestamp lookups (ListOffsets with a timestamp, KIP-79; -3 max timestamp, KIP-734) over
records spread across batches, segments and compressed batches, from confluent-kafka,
kafka-python and kcat; and LogAppendTime topics.

Kafka semantics: a timestamp lookup returns the first offset whose record timestamp is >= the
target -- the exact record, also inside a compressed batch -- and its timestamp; when no
record qualifies the broker answers offset -1 / timestamp -1, which confluent-kafka reports
as offset -1 (OFFSET_END) and kafka-python as None. -3 returns the offset and timestamp of
the record with the largest timestamp (the exact record, not its batch's last offset)."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, TopicPartition

from interop_util import KP_COMMON, kcat, kp_consume, kp_producer
from storage_util import (
    ck_admin,
    ck_consumer,
    ck_produce,
    ck_producer,
    ck_read,
    create_topic,
    disk_batches,
    partition_dir,
    segment_bases,
)

SEGMENT_BYTES = 16384


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ck_lookup(bootstrap, topic, ts) -> int:
    c = ck_consumer(bootstrap)
    try:
        (tp,) = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=10)
        assert tp.error is None, tp.error
        return tp.offset
    finally:
        c.close()


def _kp_lookup(bootstrap, topic, ts):
    from kafka import KafkaConsumer, TopicPartition as KTP

    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **KP_COMMON)
    try:
        tp = KTP(topic, 0)
        r = c.offsets_for_times({tp: ts}, timeout_ms=10000)
        v = r[tp]
        return None if v is None else (v.offset, v.timestamp)
    finally:
        c.close()


def _kcat_lookup(bootstrap, topic, ts) -> list[tuple[int, int]]:
    cp = kcat(bootstrap, "-C", "-t", topic, "-p", "0", "-o", f"s@{ts}", "-c", "1", "-e",
              "-f", "%o %T\\n", timeout=30)
    out = []
    for line in cp.stdout.decode().splitlines():
        if line.strip():
            o, t = line.split()
            out.append((int(o), int(t)))
    return out


def _check_lookups(bootstrap, topic, ts: list[int], cases: list[tuple[str, int, int]], kcat_too=True):
    """cases: (label, target timestamp, expected offset or -1 for none)."""
    problems = []
    for label, target, want in cases:
        got_ck = _ck_lookup(bootstrap, topic, target)
        if got_ck != want:
            problems.append(f"confluent {label}: target {target} -> offset {got_ck}, want {want}")
        got_kp = _kp_lookup(bootstrap, topic, target)
        want_kp = None if want == -1 else (want, ts[want])
        if got_kp != want_kp:
            problems.append(f"kafka-python {label}: target {target} -> {got_kp}, want {want_kp}")
        if kcat_too and want != -1:
            got_kc = _kcat_lookup(bootstrap, topic, target)
            if got_kc != [(want, ts[want])]:
                problems.append(f"kcat {label}: -o s@{target} -> {got_kc}, want {[(want, ts[want])]}")
    assert not problems, "\n".join(problems)


def test_offsets_for_times_across_batches_and_segments(broker_factory, topic):
    """kafka-python produces 400 records with timestamp_ms in 20-record batches over several
    16 KiB segments; a gap of 100 s sits between offsets 199 and 200."""
    b = broker_factory()
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES})
    tag = uuid.uuid4().hex[:6]
    base = _now_ms() - 600_000
    n = 400
    ts = [base + 10 * i + (100_000 if i >= 200 else 0) for i in range(n)]
    p = kp_producer(b.bootstrap, linger_ms=1000, batch_size=1 << 20)
    offsets = []
    try:
        for start in range(0, n, 20):
            futs = [p.send(topic, partition=0, value=f"ts-{i}-{tag}-".encode().ljust(150, b"t"), timestamp_ms=ts[i])
                    for i in range(start, start + 20)]
            p.flush(30)
            for f in futs:
                md = f.get(timeout=10)
                offsets.append(md.offset)
                assert md.timestamp == ts[md.offset], "CreateTime echoed back in RecordMetadata"
    finally:
        p.close(timeout=5)
    assert offsets == list(range(n))

    got = kp_consume(b.bootstrap, topic, 0, n)
    assert [(r.offset, r.timestamp, r.timestamp_type) for r in got] == [(i, ts[i], 0) for i in range(n)]

    bases = segment_bases(partition_dir(b, topic))
    assert len(bases) >= 3, f"expected several segments, got bases {bases}"
    seg = bases[2]
    cases = [
        ("before all", base - 5000, 0),
        ("first record exactly", ts[0], 0),
        ("exact record", ts[123], 123),
        ("between two records", ts[57] + 5, 58),
        ("between two batches", ts[39] + 3, 40),
        ("inside the 100s gap", ts[199] + 50_000, 200),
        ("first record of a later segment", ts[seg], seg),
        ("between segments", ts[seg - 1] + 1, seg),
        ("last record exactly", ts[-1], n - 1),
        ("after all", ts[-1] + 1, -1),
        ("far after all", ts[-1] + 86_400_000, -1),
    ]
    _check_lookups(b.bootstrap, topic, ts, cases)

    # the time index survives a restart
    b.restart()
    _check_lookups(b.bootstrap, topic, ts, cases, kcat_too=False)


# librdkafka only uses lz4 when the broker offers FindCoordinator v0 (which runnel does not
# yet), so lz4 batches come from kafka-python.
@pytest.mark.parametrize("client,codec", [("confluent", "gzip"), ("confluent", "zstd"), ("kafka-python", "gzip"),
                                          ("kafka-python", "lz4"), ("kafka-python", "zstd")])
def test_offsets_for_times_inside_compressed_batches(broker_factory, topic, client, codec):
    """10-record compressed batches (one per flush) with explicit CreateTimes."""
    b = broker_factory()
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES})
    tag = uuid.uuid4().hex[:6]
    base = _now_ms() - 600_000
    n = 300
    ts = [base + 10 * i for i in range(n)]
    # partly random payloads so that the 30 batches span several 16 KiB segments
    values = [f"{codec}-{i}-{tag}-".encode() + os.urandom(100) + b"z" * 150 for i in range(n)]
    if client == "confluent":
        p = ck_producer(b.bootstrap, **{"compression.type": codec, "linger.ms": 1000,
                                        "batch.num.messages": 10})
        res = ck_produce(p, topic, [{"value": v, "timestamp": t} for v, t in zip(values, ts)], flush_each=10)
        assert [r[1] for r in res] == list(range(n))
        assert [r[2] for r in res] == [(TIMESTAMP_CREATE_TIME, t) for t in ts]
    else:
        kp = kp_producer(b.bootstrap, compression_type=codec, linger_ms=1000, batch_size=1 << 20)
        try:
            mds = []
            for start in range(0, n, 10):
                futs = [kp.send(topic, partition=0, value=values[i], timestamp_ms=ts[i]) for i in range(start, start + 10)]
                kp.flush(30)
                mds += [f.get(timeout=10) for f in futs]
        finally:
            kp.close(timeout=5)
        assert [(m.offset, m.timestamp) for m in mds] == list(zip(range(n), ts))

    # precondition: the log really holds compressed 10-record batches over several segments
    batches = disk_batches(partition_dir(b, topic))
    assert [(x["base_offset"], x["record_count"], x["compression"]) for x in batches] == \
        [(o, 10, codec) for o in range(0, n, 10)], "batches on disk differ from the produced ones"
    assert len({x["segment"] for x in batches}) >= 2
    assert [x["max_timestamp"] for x in batches] == [ts[o + 9] for o in range(0, n, 10)]

    got = ck_read(b.bootstrap, topic, 0, n)
    assert [(m.offset(), m.timestamp()) for m in got] == [(i, (TIMESTAMP_CREATE_TIME, ts[i])) for i in range(n)]

    cases = [
        ("before all", base - 1, 0),
        ("exact first record of a batch", ts[70], 70),
        ("between 1st and 2nd record of a batch", ts[70] + 1, 71),
        ("between two records mid-batch", ts[73] + 5, 74),
        ("exact record mid-batch", ts[75], 75),
        ("exact last record of a batch", ts[79], 79),
        ("between two batches", ts[69] + 5, 70),
        ("mid-batch in a later segment", ts[251] + 9, 252),
        ("after all", ts[-1] + 1, -1),
    ]
    _check_lookups(b.bootstrap, topic, ts, cases)


def test_max_timestamp_lookup(broker_factory, topic):
    """ListOffsets -3 (KIP-734): the record with the largest timestamp sits mid-batch inside
    a compressed batch, and is not the last record of the log."""
    from confluent_kafka.admin import OffsetSpec as CkOffsetSpec
    from kafka import TopicPartition as KTP
    from kafka.admin import KafkaAdminClient, OffsetSpec

    b = broker_factory()
    # The largest timestamps lie about 2.6 h ahead of the clock: allow that (the default
    # message.timestamp.after.max.ms of 1 h would refuse them with INVALID_TIMESTAMP).
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES, "message.timestamp.after.max.ms": 86_400_000})
    base = _now_ms() - 600_000
    n = 200
    ts = [base + 10 * i for i in range(n)]
    ts[47] = base + 10_000_000
    ts[150] = base + 9_000_000
    msgs = [{"value": f"max-{i}".encode() * 20, "timestamp": ts[i]} for i in range(n)]
    p = ck_producer(b.bootstrap, **{"compression.type": "zstd", "linger.ms": 1000, "batch.num.messages": 10})
    ck_produce(p, topic, msgs, flush_each=10)

    def lookups():
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=10000)
        try:
            r = admin.list_partition_offsets({KTP(topic, 0): OffsetSpec.MAX_TIMESTAMP})
        finally:
            admin.close()
        kp = r[KTP(topic, 0)]
        ck_adm = ck_admin(b.bootstrap)  # keep a reference: the futures never resolve once it is gone
        fs = ck_adm.list_offsets({TopicPartition(topic, 0): CkOffsetSpec.max_timestamp()}, request_timeout=10)
        ck = list(fs.values())[0].result(timeout=15)
        return (kp.offset, kp.timestamp), (ck.offset, ck.timestamp)

    kp, ck = lookups()
    assert kp == (47, ts[47]), f"kafka-python MAX_TIMESTAMP -> {kp}"
    assert ck == (47, ts[47]), f"confluent max_timestamp -> {ck}"

    b.restart()
    assert lookups() == ((47, ts[47]), (47, ts[47])), "max timestamp lookup changed across restart"


def test_log_append_time_topic(broker_factory, topic):
    """message.timestamp.type=LogAppendTime: the broker stamps every batch with its clock,
    overriding the producer's CreateTime; clients see timestamp type LogAppendTime."""
    b = broker_factory()
    create_topic(b.bootstrap, topic, {"message.timestamp.type": "LogAppendTime", "segment.bytes": SEGMENT_BYTES})
    tag = uuid.uuid4().hex[:6]
    stale = _now_ms() - 3_600_000

    before = _now_ms()
    p = ck_producer(b.bootstrap, **{"compression.type": "lz4", "batch.num.messages": 25, "linger.ms": 1000})
    res = ck_produce(p, topic, [{"value": f"lat-ck-{i}-{tag}".encode(), "timestamp": stale + i} for i in range(100)],
                     flush_each=25)
    kp = kp_producer(b.bootstrap)
    try:
        futs = [kp.send(topic, partition=0, value=f"lat-kp-{i}-{tag}".encode(), timestamp_ms=stale + i)
                for i in range(50)]
        kp.flush(30)
        kp_md = [f.get(timeout=10) for f in futs]
    finally:
        kp.close(timeout=5)
    after = _now_ms()

    def within(t):
        return before - 2 <= t <= after + 2

    bad = [r for r in res if r[2][0] != TIMESTAMP_LOG_APPEND_TIME or not within(r[2][1])]
    assert not bad, f"confluent delivery reports: {len(bad)} without a LogAppendTime in [{before}, {after}]: {bad[:3]}"
    assert [m.offset for m in kp_md] == list(range(100, 150))
    bad = [m.timestamp for m in kp_md if not within(m.timestamp)]
    assert not bad, f"kafka-python RecordMetadata.timestamp not the log append time: {bad[:3]}"

    got = ck_read(b.bootstrap, topic, 0, 150)
    assert [m.offset() for m in got] == list(range(150))
    bad = [(m.offset(), m.timestamp()) for m in got
           if m.timestamp()[0] != TIMESTAMP_LOG_APPEND_TIME or not within(m.timestamp()[1])]
    assert not bad, f"consumed timestamps are not LogAppendTime in [{before}, {after}]: {bad[:3]}"
    # the confluent records' delivery timestamps are the stored ones
    assert [m.timestamp()[1] for m in got[:100]] == [r[2][1] for r in res]

    kgot = kp_consume(b.bootstrap, topic, 0, 150)
    assert {r.timestamp_type for r in kgot} == {1}
    assert [r.timestamp for r in kgot] == [m.timestamp()[1] for m in got]

    batches = disk_batches(partition_dir(b, topic))
    assert all(x["timestamp_type"] == "log_append" and within(x["max_timestamp"]) for x in batches), \
        [(x["base_offset"], x["timestamp_type"], x["max_timestamp"]) for x in batches]

    # lookups use the append times, not the producer's stale CreateTime
    assert _ck_lookup(b.bootstrap, topic, stale) == 0
    assert _ck_lookup(b.bootstrap, topic, after + 60_000) == -1
    assert _kp_lookup(b.bootstrap, topic, after + 60_000) is None
    last_ts = got[-1].timestamp()[1]
    first_at_last = min(m.offset() for m in got if m.timestamp()[1] == last_ts)
    assert _kp_lookup(b.bootstrap, topic, last_ts) == (first_at_last, last_ts)

    # stored, not recomputed on read
    b.restart()
    again = ck_read(b.bootstrap, topic, 0, 150)
    assert [m.timestamp() for m in again] == [m.timestamp() for m in got]
