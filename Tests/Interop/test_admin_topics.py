"""The day-to-day topic admin cycle from confluent-kafka's AdminClient and kafka-python's
KafkaAdminClient: create with broker defaults (-1 partitions / replication factor, KIP-464),
describe, delete records (KIP-107), delete the topic; and Kafka's topic name rules (legal
characters, at most 249 characters, "." and ".." refused) with INVALID_TOPIC_EXCEPTION."""
from __future__ import annotations

import time

import pytest

from interop_util import kp_producer
from storage_util import ck_admin, ck_consumer, ck_producer, create_topic, watermarks

BAD_NAMES = ["", ".", "..", "a" * 250, "has space", "slash/inside", "ümlaut"]
GOOD_LONGEST = "b" * 249


def _wait_gone(list_names, name: str) -> None:
    deadline = time.monotonic() + 10
    while name in list_names() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert name not in list_names()


def test_confluent_admin_cycle_and_name_rules(broker_factory, topic):
    from confluent_kafka import KafkaException, TopicPartition
    from confluent_kafka.admin import NewTopic

    # Without auto-creation: the producer still alive would recreate the deleted topic with its
    # next metadata refresh (as on Kafka).
    b = broker_factory({"num.partitions": 3, "auto.create.topics.enable": "false"})
    admin = ck_admin(b.bootstrap)
    admin.create_topics([NewTopic(topic)])[topic].result(30)  # -1 / -1: the broker's defaults
    md = admin.list_topics(topic=topic, timeout=10).topics[topic]
    assert sorted(md.partitions) == [0, 1, 2]
    assert all(len(p.replicas) == 1 for p in md.partitions.values())

    p = ck_producer(b.bootstrap)
    for i in range(10):
        p.produce(topic, value=b"r%d" % i, partition=1)
    assert p.flush(30) == 0
    (deleted,) = admin.delete_records([TopicPartition(topic, 1, 6)], request_timeout=10, operation_timeout=10).values()
    assert deleted.result(30).low_watermark == 6
    assert watermarks(b.bootstrap, topic, 1) == (6, 10)
    c = ck_consumer(b.bootstrap)
    try:
        c.assign([TopicPartition(topic, 1, -2)])  # OFFSET_BEGINNING: now the log start offset
        m = None
        deadline = time.monotonic() + 10
        while (m is None or m.error()) and time.monotonic() < deadline:
            m = c.poll(0.5)
        assert (m.offset(), m.value()) == (6, b"r6")
    finally:
        c.close()
    # Beyond the high watermark: OFFSET_OUT_OF_RANGE.
    (beyond,) = admin.delete_records([TopicPartition(topic, 1, 11)], request_timeout=10, operation_timeout=10).values()
    with pytest.raises(KafkaException) as failure:
        beyond.result(30)
    assert failure.value.args[0].name() == "OFFSET_OUT_OF_RANGE"

    admin.delete_topics([topic], operation_timeout=10)[topic].result(30)
    _wait_gone(lambda: admin.list_topics(timeout=10).topics, topic)

    for bad in BAD_NAMES:
        if bad == "":
            continue  # confluent-kafka refuses an empty name before sending anything
        with pytest.raises(KafkaException) as failure:
            admin.create_topics([NewTopic(bad, 1, 1)])[bad].result(30)
        assert failure.value.args[0].name() == "TOPIC_EXCEPTION", (bad, failure.value)  # INVALID_TOPIC_EXCEPTION (17)
    admin.create_topics([NewTopic(GOOD_LONGEST, 1, 1)])[GOOD_LONGEST].result(30)
    assert GOOD_LONGEST in admin.list_topics(timeout=10).topics
    assert not any(t in admin.list_topics(timeout=10).topics for t in BAD_NAMES)


def test_kafka_python_admin_cycle_and_name_rules(broker_factory, topic):
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import InvalidTopicError, OffsetOutOfRangeError

    b = broker_factory({"num.partitions": 2, "auto.create.topics.enable": "false"})
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=10000)
    try:
        admin.create_topics([NewTopic(topic)])  # -1 / -1
        (desc,) = admin.describe_topics([topic])
        assert sorted(p["partition_index"] for p in desc["partitions"]) == [0, 1]

        p = kp_producer(b.bootstrap)
        for i in range(8):
            p.send(topic, value=b"r%d" % i, partition=0)
        p.flush(30)
        p.close()
        result = admin.delete_records({TopicPartition(topic, 0): 5})
        assert result[TopicPartition(topic, 0)]["low_watermark"] == 5
        assert watermarks(b.bootstrap, topic, 0) == (5, 8)
        with pytest.raises(OffsetOutOfRangeError):
            admin.delete_records({TopicPartition(topic, 0): 9})

        admin.delete_topics([topic])
        _wait_gone(admin.list_topics, topic)

        for bad in BAD_NAMES:
            with pytest.raises(InvalidTopicError):
                admin.create_topics([NewTopic(bad, 1, 1)])
        admin.create_topics([NewTopic(GOOD_LONGEST, 1, 1)])
        assert GOOD_LONGEST in admin.list_topics()
    finally:
        admin.close()
