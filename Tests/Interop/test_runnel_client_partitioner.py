"""RunnelClient's keyed partitioner against librdkafka's `murmur2_random`: for 1,000 keys and
every partition count from 1 to 64 both put each key on the same partition.

One topic grows from 1 to 64 partitions (CreatePartitions) instead of 64 topics, which keeps the
broker's work to 64 partitions; each step uses a fresh librdkafka producer and a fresh
`runnel produce`, so both see the new partition count."""

from __future__ import annotations

import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewPartitions

from interop_util import CK_COMMON
from runnel_cli import create_topic, produce_lines

KEYS = [f"key-{i}-{i * 7919 % 1000}" for i in range(1000)]


def _librdkafka_partitions(bootstrap: str, topic: str) -> dict[str, int]:
    producer = Producer({**CK_COMMON, "bootstrap.servers": bootstrap, "partitioner": "murmur2_random",
                         "linger.ms": 20})
    chosen: dict[str, int] = {}

    def on_delivery(err, msg):
        assert err is None, err
        chosen[msg.key().decode()] = msg.partition()

    for key in KEYS:
        producer.produce(topic, key=key.encode(), value=b"librdkafka", on_delivery=on_delivery)
    assert producer.flush(30) == 0
    return chosen


def _swift_partitions(bootstrap: str, topic: str) -> dict[str, int]:
    """From `runnel produce --verbose`, which prints "TOPIC [PARTITION] @ OFFSET key=KEY" per record."""
    cp = produce_lines(bootstrap, topic, [f"{key}\tswift" for key in KEYS], "--key-separator", "\t", "--verbose")
    chosen: dict[str, int] = {}
    for line in cp.stderr.decode().splitlines():
        if line.startswith(topic + " ["):
            _, partition, _, _, key = line.split(" ")
            chosen[key.removeprefix("key=")] = int(partition.strip("[]"))
    return chosen


def test_same_partition_as_librdkafka_murmur2_random(module_broker):
    bootstrap = module_broker.bootstrap
    topic = f"murmur-{time.monotonic_ns() % 1_000_000}"
    create_topic(bootstrap, topic, 1)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for count in range(1, 65):
        if count > 1:
            admin.create_partitions([NewPartitions(topic, count)])[topic].result(30)
        theirs = _librdkafka_partitions(bootstrap, topic)
        ours = _swift_partitions(bootstrap, topic)
        assert len(theirs) == len(ours) == len(KEYS)
        assert max(ours.values()) < count
        mismatches = [(key, ours[key], theirs[key]) for key in KEYS if ours[key] != theirs[key]]
        assert mismatches == [], f"{count} partitions"
