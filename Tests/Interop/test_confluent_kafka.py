"""confluent-kafka-python 2.16 (librdkafka 2.16) against runnel.

Consumers use assign() with an explicit OFFSET_BEGINNING: `group.id` has to be set
for the Consumer object, but assign() performs no group operations."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from interop_util import CK_COMMON, ck_consume

ADMIN_TIMEOUT = 10.0


def _producer(bootstrap: str, **extra) -> Producer:
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


def _produce_all(p: Producer, topic: str, msgs: list[dict]) -> list:
    """Produce and wait; returns the per-message delivery (err, partition, offset)."""
    results: list = [None] * len(msgs)

    def cb_for(i):
        def cb(err, msg):
            results[i] = (err, msg.partition() if msg else None, msg.offset() if msg else None)
        return cb

    for i, m in enumerate(msgs):
        p.produce(topic, on_delivery=cb_for(i), **m)
        p.poll(0)
    remaining = p.flush(30)
    assert remaining == 0, f"{remaining} messages still queued after flush"
    return results


def _messages(n: int, tag: str) -> list[dict]:
    base_ts = int(time.time() * 1000) - 120_000
    return [{
        "partition": 0,
        "key": f"ck-{i % 9}".encode(),
        "value": f"payload-{i}-{tag}-".encode() + b"q" * (i % 50),
        "headers": [("idx", str(i).encode()), ("tag", tag.encode())],
        "timestamp": base_ts + i,
    } for i in range(n)]


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_produce_consume(broker, topic, codec):
    tag = uuid.uuid4().hex[:8]
    msgs = _messages(300, tag)
    p = _producer(broker.bootstrap, **{"compression.type": codec})
    results = _produce_all(p, topic, msgs)
    assert [r[0] for r in results] == [None] * len(msgs), [r[0] for r in results if r[0]][:3]
    assert [r[2] for r in results] == list(range(len(msgs)))
    assert {r[1] for r in results} == {0}

    got = ck_consume(broker.bootstrap, topic, 0, len(msgs))
    assert len(got) == len(msgs), f"consumed {len(got)}/{len(msgs)}"
    assert [m.offset() for m in got] == list(range(len(msgs)))
    assert [m.key() for m in got] == [m["key"] for m in msgs]
    assert [m.value() for m in got] == [m["value"] for m in msgs]
    assert [list(m.headers() or []) for m in got] == [m["headers"] for m in msgs]
    assert [m.timestamp() for m in got] == [(1, m["timestamp"]) for m in msgs]  # (CREATE_TIME, ts)


def _admin(bootstrap: str) -> AdminClient:
    cfg = dict(CK_COMMON)
    cfg["bootstrap.servers"] = bootstrap
    return AdminClient(cfg)


def _create(admin: AdminClient, topic: NewTopic):
    fs = admin.create_topics([topic], operation_timeout=ADMIN_TIMEOUT, request_timeout=ADMIN_TIMEOUT)
    return fs[topic.topic].result(timeout=ADMIN_TIMEOUT + 5)


def test_admin_create_list_delete(broker):
    name = f"ck-admin-{uuid.uuid4().hex[:8]}"
    admin = _admin(broker.bootstrap)
    assert _create(admin, NewTopic(name, num_partitions=3, replication_factor=1)) is None

    md = admin.list_topics(timeout=ADMIN_TIMEOUT)
    assert name in md.topics
    t = md.topics[name]
    assert t.error is None, t.error
    assert sorted(t.partitions) == [0, 1, 2]
    assert all(p.leader == 1 for p in t.partitions.values())
    assert list(md.brokers) == [1]
    assert md.controller_id == 1

    fs = admin.delete_topics([name], operation_timeout=ADMIN_TIMEOUT, request_timeout=ADMIN_TIMEOUT)
    assert fs[name].result(timeout=ADMIN_TIMEOUT + 5) is None
    deadline = time.monotonic() + 10
    while name in admin.list_topics(timeout=ADMIN_TIMEOUT).topics and time.monotonic() < deadline:
        time.sleep(0.2)
    assert name not in admin.list_topics(timeout=ADMIN_TIMEOUT).topics


def test_admin_create_with_broker_defaults(broker_factory):
    """CreateTopics v4+ with num_partitions/replication_factor -1 uses broker defaults."""
    b = broker_factory({"num.partitions": 2})
    name = f"ck-defaults-{uuid.uuid4().hex[:8]}"
    admin = _admin(b.bootstrap)
    assert _create(admin, NewTopic(name)) is None  # -1 / -1
    md = admin.list_topics(topic=name, timeout=ADMIN_TIMEOUT)
    assert sorted(md.topics[name].partitions) == [0, 1]


def test_admin_create_existing_topic_fails(broker):
    name = f"ck-dup-{uuid.uuid4().hex[:8]}"
    admin = _admin(broker.bootstrap)
    assert _create(admin, NewTopic(name, num_partitions=1, replication_factor=1)) is None
    with pytest.raises(KafkaException) as ei:
        _create(admin, NewTopic(name, num_partitions=1, replication_factor=1))
    assert ei.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS, ei.value


def test_admin_create_invalid_topic_name_fails(broker):
    admin = _admin(broker.bootstrap)
    bad = "bad/topic name!"
    with pytest.raises(KafkaException) as ei:
        _create(admin, NewTopic(bad, num_partitions=1, replication_factor=1))
    # INVALID_TOPIC_EXCEPTION (17) from the broker
    assert ei.value.args[0].code() == KafkaError.TOPIC_EXCEPTION, ei.value
    assert bad not in admin.list_topics(timeout=ADMIN_TIMEOUT).topics


def test_consume_multiple_partitions(broker_factory, topic):
    b = broker_factory({"num.partitions": 3})
    p = _producer(b.bootstrap)
    msgs = [{"partition": i % 3, "value": f"v{i}".encode()} for i in range(90)]
    results = _produce_all(p, topic, msgs)
    assert all(r[0] is None for r in results)
    for part in range(3):
        offs = [r[2] for r, m in zip(results, msgs) if m["partition"] == part]
        assert offs == list(range(30))
        got = ck_consume(b.bootstrap, topic, part, 30)
        assert [m.value() for m in got] == [f"v{i}".encode() for i in range(part, 90, 3)]
