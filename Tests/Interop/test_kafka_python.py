"""kafka-python 3.0.x against runnel (no group APIs: assign() only, idempotence off)."""

from __future__ import annotations

import time
import uuid

import pytest
from kafka import TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

from interop_util import KP_COMMON, REQUEST_TIMEOUT_MS, kp_consume, kp_producer


def _records(n: int, tag: str):
    base_ts = int(time.time() * 1000) - 60_000
    return [
        {
            "key": f"key-{i % 5}".encode(),
            "value": f"value-{i}-{tag}".encode() * (1 + i % 3),
            "headers": [("h-index", str(i).encode()), ("h-tag", tag.encode())] if i % 2 == 0 else [],
            "timestamp_ms": base_ts + i,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("acks", [1, "all"])
def test_produce_consume_keys_values_headers_timestamps(broker, topic, acks):
    tag = uuid.uuid4().hex[:8]
    recs = _records(50, tag)
    p = kp_producer(broker.bootstrap, acks=acks)
    try:
        futs = [p.send(topic, partition=0, **r) for r in recs]
        p.flush(30)
        metas = [f.get(timeout=10) for f in futs]
    finally:
        p.close(timeout=5)
    assert [m.offset for m in metas] == list(range(len(recs)))
    assert all(m.partition == 0 and m.topic == topic for m in metas)
    assert [m.timestamp for m in metas] == [r["timestamp_ms"] for r in recs]

    got = kp_consume(broker.bootstrap, topic, 0, len(recs))
    assert len(got) == len(recs), f"consumed {len(got)}/{len(recs)}"
    assert [g.offset for g in got] == list(range(len(recs)))
    assert [g.key for g in got] == [r["key"] for r in recs]
    assert [g.value for g in got] == [r["value"] for r in recs]
    assert [list(g.headers) for g in got] == [r["headers"] for r in recs]
    assert [g.timestamp for g in got] == [r["timestamp_ms"] for r in recs]
    assert all(g.timestamp_type == 0 for g in got)  # CreateTime


def test_null_key_and_empty_value(broker, topic):
    p = kp_producer(broker.bootstrap)
    try:
        m1 = p.send(topic, partition=0, key=None, value=b"").get(timeout=10)
        m2 = p.send(topic, partition=0, key=b"k", value=None).get(timeout=10)  # tombstone
    finally:
        p.close(timeout=5)
    assert (m1.offset, m2.offset) == (0, 1)
    got = kp_consume(broker.bootstrap, topic, 0, 2)
    assert [(g.key, g.value) for g in got] == [(None, b""), (b"k", None)]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_round_trip(broker, topic, codec):
    tag = uuid.uuid4().hex[:8]
    values = [f"{codec}-{i:05d}-{tag}-".encode() + b"z" * (i % 100) for i in range(500)]
    p = kp_producer(broker.bootstrap, compression_type=codec, linger_ms=20, batch_size=16384)
    try:
        futs = [p.send(topic, partition=0, key=str(i).encode(), value=v) for i, v in enumerate(values)]
        p.flush(30)
        offsets = [f.get(timeout=10).offset for f in futs]
    finally:
        p.close(timeout=5)
    assert offsets == list(range(len(values)))
    got = kp_consume(broker.bootstrap, topic, 0, len(values))
    assert [g.value for g in got] == values
    assert [g.key for g in got] == [str(i).encode() for i in range(len(values))]
    assert [g.offset for g in got] == offsets


def test_consume_from_middle_with_seek(broker, topic):
    p = kp_producer(broker.bootstrap, linger_ms=50)
    try:
        futs = [p.send(topic, partition=0, value=f"m{i}".encode()) for i in range(30)]
        p.flush(10)
        [f.get(timeout=10) for f in futs]
    finally:
        p.close(timeout=5)
    from interop_util import kp_consumer

    c = kp_consumer(broker.bootstrap)
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek(tp, 17)  # inside a batch: the broker returns the whole batch, client skips
        got = []
        deadline = time.monotonic() + 15
        while len(got) < 13 and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                got.extend(recs)
        assert [g.offset for g in got] == list(range(17, 30))
        assert [g.value for g in got] == [f"m{i}".encode() for i in range(17, 30)]
        assert c.end_offsets([tp])[tp] == 30
        assert c.beginning_offsets([tp])[tp] == 0
    finally:
        c.close()


def test_admin_create_list_delete_topics(broker):
    name = f"kp-admin-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, **KP_COMMON)
    try:
        res = admin.create_topics({name: {"num_partitions": 3, "replication_factor": 1}},
                                  timeout_ms=REQUEST_TIMEOUT_MS)
        assert [(t["name"], t["error_code"]) for t in res["topics"]] == [(name, 0)], res
        assert name in admin.list_topics()
        (desc,) = admin.describe_topics([name])
        assert desc["error_code"] == 0
        assert sorted(p["partition_index"] for p in desc["partitions"]) == [0, 1, 2]
        assert all(p["leader_id"] == 1 for p in desc["partitions"])

        with pytest.raises(TopicAlreadyExistsError):
            admin.create_topics({name: {"num_partitions": 3, "replication_factor": 1}},
                                timeout_ms=REQUEST_TIMEOUT_MS)

        # every partition takes writes
        p = kp_producer(broker.bootstrap)
        try:
            offs = [p.send(name, partition=i, value=b"v").get(timeout=10) for i in range(3)]
        finally:
            p.close(timeout=5)
        assert [(m.partition, m.offset) for m in offs] == [(0, 0), (1, 0), (2, 0)]

        res = admin.delete_topics([name], timeout_ms=REQUEST_TIMEOUT_MS)
        assert [(t["name"], t["error_code"]) for t in res["topics"]] == [(name, 0)], res
        deadline = time.monotonic() + 10
        while name in admin.list_topics() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert name not in admin.list_topics()
    finally:
        admin.close()
