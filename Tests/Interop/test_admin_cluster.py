"""Admin APIs for partitions and the cluster: CreatePartitions (KIP-195) from confluent-kafka and
kafka-python, DescribeCluster (KIP-700) from kafka-python, and the topic name collision rule."""
from __future__ import annotations

import pytest


def _partition_count(admin, topic: str) -> int:
    md = admin.list_topics(topic=topic, timeout=10)
    return len(md.topics[topic].partitions)


def test_confluent_create_partitions(broker, topic):
    from confluent_kafka import KafkaException, Producer
    from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(30)
    admin.create_partitions([NewPartitions(topic, 5)])[topic].result(30)
    assert _partition_count(admin, topic) == 5
    # The new partitions take writes.
    p = Producer({"bootstrap.servers": broker.bootstrap})
    p.produce(topic, b"into-4", partition=4)
    assert p.flush(30) == 0
    # Shrinking or keeping the count is refused with INVALID_PARTITIONS.
    for count in (5, 3):
        with pytest.raises(KafkaException) as failure:
            admin.create_partitions([NewPartitions(topic, count)])[topic].result(30)
        assert failure.value.args[0].name() == "INVALID_PARTITIONS"
    with pytest.raises(KafkaException) as failure:
        admin.create_partitions([NewPartitions(topic + "-missing", 3)])[topic + "-missing"].result(30)
    assert failure.value.args[0].name() == "UNKNOWN_TOPIC_OR_PART"
    # validate_only changes nothing.
    admin.create_partitions([NewPartitions(topic, 9)], validate_only=True)[topic].result(30)
    assert _partition_count(admin, topic) == 5
    broker.restart()
    assert _partition_count(AdminClient({"bootstrap.servers": broker.bootstrap}), topic) == 5


def test_kafka_python_create_partitions_and_describe_cluster(broker, topic):
    from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        admin.create_partitions({topic: NewPartitions(total_count=3)})
        described = admin.describe_topics([topic])
        assert len(described[0]["partitions"]) == 3
        cluster = admin.describe_cluster()
        assert cluster["controller_id"] == 1
        assert [b["node_id"] if "node_id" in b else b["broker_id"] for b in cluster["brokers"]] == [1]
        assert cluster["cluster_id"]
    finally:
        admin.close()


def test_topics_differing_only_in_dot_and_underscore_collide(broker, topic):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    underscored = topic.replace("-", "_") + "_x"
    dotted = underscored.replace("_x", ".x")
    admin.create_topics([NewTopic(underscored, num_partitions=1, replication_factor=1)])[underscored].result(30)
    with pytest.raises(KafkaException) as failure:
        admin.create_topics([NewTopic(dotted, num_partitions=1, replication_factor=1)])[dotted].result(30)
    assert failure.value.args[0].code() == 17  # INVALID_TOPIC_EXCEPTION (librdkafka names it TOPIC_EXCEPTION)
    assert "collides" in failure.value.args[0].str()


def test_confluent_describe_configs(broker_factory, topic):
    """Topic and broker configs with their sources, as `kafka-configs --describe` shows them."""
    from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic

    broker = broker_factory({"log.retention.hours": 24})
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1,
                                  config={"cleanup.policy": "compact"})])[topic].result(30)
    topic_resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    broker_resource = ConfigResource(ConfigResource.Type.BROKER, "1")
    futures = admin.describe_configs([topic_resource, broker_resource])
    topic_configs = futures[topic_resource].result(30)
    assert topic_configs["cleanup.policy"].value == "compact"
    assert topic_configs["cleanup.policy"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert topic_configs["retention.ms"].value == str(24 * 3_600_000)
    assert topic_configs["segment.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
    broker_configs = futures[broker_resource].result(30)
    assert broker_configs["log.retention.hours"].value == "24"
    assert broker_configs["log.retention.hours"].source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert broker_configs["num.partitions"].is_read_only


def test_kafka_python_describe_configs(broker, topic):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, topic_configs={"retention.ms": "60000"})])
        responses = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        text = repr(responses)
        assert "retention.ms" in text and "60000" in text, text[:2000]
    finally:
        admin.close()
