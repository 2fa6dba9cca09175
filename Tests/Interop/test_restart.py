"""Durability across broker restarts (graceful SIGTERM and kill -9)."""

from __future__ import annotations

import uuid

import pytest

import kafka_wire
from interop_util import kp_consume, kp_producer


def _topic_id_wire(broker, topic: str, version: int = 12):
    """Topic id via a raw Metadata request (v10+ carries topic ids)."""
    s = kafka_wire.connect(broker.host, broker.port)
    try:
        resp = kafka_wire.request(s, kafka_wire.encode_metadata_request(version, 7, [topic]))
    finally:
        s.close()
    md = kafka_wire.decode_metadata_response(resp, version)
    assert md["correlation_id"] == 7
    assert md["trailing"] == 0, f"{md['trailing']} unparsed bytes in Metadata v{version} response"
    (t,) = [t for t in md["topics"] if t["name"] == topic]
    assert t["error_code"] == 0, t
    return t["topic_id"]


def _topic_id_kafka_python(broker, topic: str):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    try:
        (t,) = admin.describe_topics([topic])
        return t["topic_id"]
    finally:
        admin.close()


def _produce(broker, topic, values, acks="all", **kw):
    p = kp_producer(broker.bootstrap, acks=acks, **kw)
    try:
        futs = [p.send(topic, partition=0, key=v[:8], value=v) for v in values]
        p.flush(30)
        return [f.get(timeout=10).offset for f in futs]
    finally:
        p.close(timeout=5)


@pytest.mark.parametrize("segment_bytes", [None, 16384], ids=["default-segments", "small-segments"])
def test_graceful_restart_keeps_data_offsets_and_topic_id(broker_factory, topic, segment_bytes):
    overrides = {"log.segment.bytes": segment_bytes} if segment_bytes else {}
    b = broker_factory(overrides)
    tag = uuid.uuid4().hex[:8]
    first = [f"before-{i:04d}-{tag}-".encode() + b"p" * (i % 90) for i in range(400)]
    offs = _produce(b, topic, first)
    assert offs == list(range(len(first)))

    tid_wire = _topic_id_wire(b, topic)
    tid_kp = _topic_id_kafka_python(b, topic)
    assert tid_wire.int != 0, "topic id must not be the zero UUID"
    assert str(tid_kp) == str(tid_wire)

    code = b.restart()
    assert code == 0, f"broker exit code after SIGTERM was {code} (expected a clean 0 exit)"

    got = kp_consume(b.bootstrap, topic, 0, len(first))
    assert [g.offset for g in got] == offs
    assert [g.value for g in got] == first

    assert _topic_id_wire(b, topic) == tid_wire, "topic id changed across restart"
    assert str(_topic_id_kafka_python(b, topic)) == str(tid_wire)

    second = [f"after-{i:04d}-{tag}".encode() for i in range(50)]
    offs2 = _produce(b, topic, second)
    assert offs2 == list(range(len(first), len(first) + len(second)))
    got = kp_consume(b.bootstrap, topic, 0, len(first) + len(second))
    assert [g.value for g in got] == first + second
    assert [g.offset for g in got] == list(range(len(first) + len(second)))


@pytest.mark.parametrize("segment_bytes", [None, 16384], ids=["default-segments", "small-segments"])
def test_kill9_keeps_acknowledged_records(broker_factory, topic, segment_bytes):
    overrides = {"log.segment.bytes": segment_bytes} if segment_bytes else {}
    b = broker_factory(overrides)
    tag = uuid.uuid4().hex[:8]
    acked: dict[int, bytes] = {}
    p = kp_producer(b.bootstrap, acks="all", linger_ms=0)
    try:
        for i in range(300):
            v = f"k9-{i:04d}-{tag}-".encode() + b"d" * (i % 70)
            md = p.send(topic, partition=0, value=v).get(timeout=10)
            acked[md.offset] = v
    finally:
        p.close(timeout=5)
    assert sorted(acked) == list(range(300))
    tid = _topic_id_wire(b, topic)

    b.kill9()
    b.start()

    got = kp_consume(b.bootstrap, topic, 0, len(acked))
    by_offset = {g.offset: g.value for g in got}
    missing = [o for o in acked if by_offset.get(o) != acked[o]]
    assert not missing, f"{len(missing)} acknowledged records lost/changed after kill -9, e.g. {missing[:5]}"
    assert _topic_id_wire(b, topic) == tid

    more = _produce(b, topic, [b"after-kill-1", b"after-kill-2"])
    assert more == [max(by_offset) + 1, max(by_offset) + 2]


def test_restart_preserves_multiple_topics_and_partitions(broker_factory):
    b = broker_factory({"num.partitions": 3})
    topics = [f"multi-{i}-{uuid.uuid4().hex[:6]}" for i in range(3)]
    p = kp_producer(b.bootstrap, acks="all")
    expected = {}
    try:
        futs = []
        for t in topics:
            for part in range(3):
                for i in range(10):
                    v = f"{t}/{part}/{i}".encode()
                    futs.append((t, part, v, p.send(t, partition=part, value=v)))
        p.flush(30)
        for t, part, v, f in futs:
            expected.setdefault((t, part), []).append((f.get(timeout=10).offset, v))
    finally:
        p.close(timeout=5)
    ids = {t: _topic_id_wire(b, t) for t in topics}
    assert len(set(ids.values())) == len(topics), "topic ids must be distinct"

    b.restart()
    for (t, part), pairs in expected.items():
        got = kp_consume(b.bootstrap, t, part, len(pairs))
        assert [(g.offset, g.value) for g in got] == pairs, (t, part)
    assert {t: _topic_id_wire(b, t) for t in topics} == ids
