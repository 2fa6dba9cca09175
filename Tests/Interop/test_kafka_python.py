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


def test_offsets_for_times(broker, topic):
    base = int(time.time() * 1000) - 100_000
    p = kp_producer(broker.bootstrap, linger_ms=20)
    try:
        futs = [p.send(topic, partition=0, value=f"t{i}".encode(), timestamp_ms=base + i * 10)
                for i in range(20)]
        p.flush(10)
        [f.get(timeout=10) for f in futs]
    finally:
        p.close(timeout=5)
    from interop_util import kp_consumer

    c = kp_consumer(broker.bootstrap)
    try:
        tp = TopicPartition(topic, 0)
        res = c.offsets_for_times({tp: base + 55})  # first record with ts >= target: i=6
        assert res[tp] is not None and (res[tp].offset, res[tp].timestamp) == (6, base + 60)
        res = c.offsets_for_times({tp: base})
        assert res[tp].offset == 0
        res = c.offsets_for_times({tp: base + 10_000})  # after every record
        assert res[tp] is None
    finally:
        c.close()


def test_tailing_consumer_sees_records_produced_later(broker, topic):
    """Long-poll Fetch on an empty partition must wake up when records arrive."""
    import threading

    from interop_util import kp_consumer

    kp_producer(broker.bootstrap).send(topic, partition=0, value=b"first").get(timeout=10)
    c = kp_consumer(broker.bootstrap, fetch_max_wait_ms=500)
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek(tp, 1)  # at the end: nothing to read yet
        assert c.poll(timeout_ms=1000) == {}

        def later():
            time.sleep(1.0)
            p = kp_producer(broker.bootstrap)
            try:
                for i in range(5):
                    p.send(topic, partition=0, value=f"late-{i}".encode()).get(timeout=10)
            finally:
                p.close(timeout=5)

        t = threading.Thread(target=later)
        t.start()
        got = []
        deadline = time.monotonic() + 15
        while len(got) < 5 and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                got.extend(recs)
        t.join(15)
        assert [(g.offset, g.value) for g in got] == [(i + 1, f"late-{i}".encode()) for i in range(5)]
    finally:
        c.close()


def test_large_record_and_too_large_record(broker_factory, topic):
    from kafka.errors import MessageSizeTooLargeError

    b = broker_factory({"message.max.bytes": 1048588})
    big = bytes(range(256)) * 3500  # 896000 bytes, under the 1 MiB limit
    p = kp_producer(b.bootstrap, max_request_size=4 * 1048576, batch_size=4 * 1048576, retries=0)
    try:
        md = p.send(topic, partition=0, value=big).get(timeout=15)
        assert md.offset == 0
        huge = b"h" * 2_000_000
        with pytest.raises(MessageSizeTooLargeError):
            p.send(topic, partition=0, value=huge).get(timeout=15)
        assert p.send(topic, partition=0, value=b"after").get(timeout=10).offset == 1
    finally:
        p.close(timeout=5)
    got = kp_consume(b.bootstrap, topic, 0, 2, max_partition_fetch_bytes=1048576)
    assert [g.value for g in got] == [big, b"after"]


def test_delete_and_recreate_topic_starts_empty(broker):
    from kafka.admin import KafkaAdminClient

    name = f"recreate-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, **KP_COMMON)
    try:
        admin.create_topics({name: {"num_partitions": 1, "replication_factor": 1}})
        (t1,) = admin.describe_topics([name])
        p = kp_producer(broker.bootstrap)
        try:
            assert p.send(name, partition=0, value=b"old").get(timeout=10).offset == 0
        finally:
            p.close(timeout=5)
        admin.delete_topics([name])
        deadline = time.monotonic() + 10
        while name in admin.list_topics() and time.monotonic() < deadline:
            time.sleep(0.2)
        admin.create_topics({name: {"num_partitions": 1, "replication_factor": 1}})
        (t2,) = admin.describe_topics([name])
        assert t2["topic_id"] != t1["topic_id"], "a recreated topic needs a new topic id"
    finally:
        admin.close()
    p = kp_producer(broker.bootstrap)
    try:
        assert p.send(name, partition=0, value=b"new").get(timeout=10).offset == 0
    finally:
        p.close(timeout=5)
    got = kp_consume(broker.bootstrap, name, 0, 2, timeout_s=3)
    assert [g.value for g in got] == [b"new"]
