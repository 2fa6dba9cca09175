"""Dynamic configs and log directories from real admin clients, and the per-topic append rules
they control.

- AlterConfigs (KIP-133) and IncrementalAlterConfigs (KIP-339) on topics from confluent-kafka and
  kafka-python: SET / APPEND / SUBTRACT / DELETE, the legacy replace-everything semantics,
  validate_only, Kafka's error codes, and persistence across a restart.
- Dynamic broker configs (KIP-226): this broker's own value beats the cluster-wide default, both
  show in DescribeConfigs with their sources and reach topics that do not override the key.
- DescribeLogDirs (KIP-113, KIP-827) from kafka-python: partition sizes equal the segment bytes
  on disk.
- `compression.type` per topic: batches from kcat, confluent-kafka and kafka-python are stored
  with the topic's codec (checked with `runnel log dump`) and read back byte-equal.
- Timestamp bounds (KIP-937) and `max.message.bytes` changed at run time.
- aiokafka's admin client (AlterConfigs, DescribeConfigs) and producer against the same rules.
- Acknowledged config changes survive kill -9 (the metadata log is fsynced before they apply).
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from interop_util import ck_consume, kcat, kp_consume, kp_producer
from storage_util import ck_admin, ck_producer, create_topic, partition_dir
from test_log_dump import _batch_lines, _dump

# Kafka's ConfigSource ids as DescribeConfigs reports them.
DYNAMIC_TOPIC, DYNAMIC_BROKER, DYNAMIC_DEFAULT_BROKER, STATIC_BROKER, DEFAULT = 1, 2, 3, 4, 5


def _describe_topic(admin, topic: str) -> dict:
    from confluent_kafka.admin import ConfigResource, ResourceType

    res = ConfigResource(ResourceType.TOPIC, topic)
    entries = admin.describe_configs([res])[res].result(30)
    return {k: (v.value, int(v.source)) for k, v in entries.items()}


def _incremental(admin, rtype, name: str, ops: list[tuple[str, str, object]], validate_only: bool = False):
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

    entries = [ConfigEntry(k, v, incremental_operation=getattr(AlterConfigOpType, op)) for k, op, v in ops]
    res = ConfigResource(rtype, name, incremental_configs=entries)
    return admin.incremental_alter_configs([res], validate_only=validate_only)[res].result(30)


def _error_name(fn) -> str:
    from confluent_kafka import KafkaException

    with pytest.raises(KafkaException) as failure:
        fn()
    return failure.value.args[0].name()


def test_confluent_topic_configs_incremental_legacy_and_errors(broker, topic):
    from confluent_kafka.admin import ConfigResource, ResourceType

    create_topic(broker.bootstrap, topic, {"segment.ms": 600000})
    admin = ck_admin(broker.bootstrap)
    T = ResourceType.TOPIC
    _incremental(admin, T, topic, [("retention.ms", "SET", "123456"), ("cleanup.policy", "APPEND", "compact")])
    described = _describe_topic(admin, topic)
    assert described["retention.ms"] == ("123456", DYNAMIC_TOPIC)
    assert described["cleanup.policy"] == ("delete,compact", DYNAMIC_TOPIC)
    assert described["segment.ms"] == ("600000", DYNAMIC_TOPIC)
    assert described["compression.type"] == ("producer", DEFAULT)

    _incremental(admin, T, topic, [("cleanup.policy", "SUBTRACT", "delete"), ("segment.ms", "DELETE", None)])
    described = _describe_topic(admin, topic)
    assert described["cleanup.policy"] == ("compact", DYNAMIC_TOPIC)
    assert described["segment.ms"] == ("604800000", DEFAULT)

    # validate_only checks and changes nothing.
    _incremental(admin, T, topic, [("retention.ms", "SET", "1")], validate_only=True)
    assert _describe_topic(admin, topic)["retention.ms"] == ("123456", DYNAMIC_TOPIC)

    # Kafka's error codes.
    assert _error_name(lambda: _incremental(admin, T, topic, [("retention.ms", "SET", "soon")])) == "INVALID_CONFIG"
    assert _error_name(lambda: _incremental(admin, T, topic, [("no.such.key", "SET", "1")])) == "INVALID_CONFIG"
    assert _error_name(lambda: _incremental(admin, T, topic, [("retention.ms", "APPEND", "1")])) == "INVALID_CONFIG"
    assert _error_name(lambda: _incremental(admin, T, topic + "-missing", [("retention.ms", "SET", "1")])) == "UNKNOWN_TOPIC_OR_PART"
    # The refused changes wrote nothing.
    assert _describe_topic(admin, topic)["retention.ms"] == ("123456", DYNAMIC_TOPIC)

    # Legacy AlterConfigs replaces the whole set: keys left out return to their defaults.
    legacy = ConfigResource(T, topic, set_config={"max.message.bytes": "200000"})
    with pytest.warns(DeprecationWarning):
        admin.alter_configs([legacy])[legacy].result(30)
    described = _describe_topic(admin, topic)
    assert described["max.message.bytes"] == ("200000", DYNAMIC_TOPIC)
    assert described["retention.ms"][1] != DYNAMIC_TOPIC
    assert described["cleanup.policy"] == ("delete", DEFAULT)

    # An acknowledged change is in the fsynced metadata log: it survives kill -9.
    broker.kill9()
    broker.start()
    assert _describe_topic(ck_admin(broker.bootstrap), topic)["max.message.bytes"] == ("200000", DYNAMIC_TOPIC)


def test_dynamic_broker_configs_layer_over_static_ones(broker_factory, topic):
    from confluent_kafka.admin import ConfigResource, ResourceType
    from kafka.admin import ConfigResource as KConfigResource, ConfigResourceType, KafkaAdminClient

    b = broker_factory({"log.retention.ms": 1000000})
    create_topic(b.bootstrap, topic)
    admin = ck_admin(b.bootstrap)
    assert _describe_topic(admin, topic)["retention.ms"] == ("1000000", STATIC_BROKER)

    # The cluster-wide default (resource name ""): confluent-kafka and kafka-python both refuse an
    # empty broker name on their side (kafka-configs.sh --entity-default sends it), so this one
    # request is hand-encoded: AlterConfigs v0 from AlterConfigsRequest.json.
    assert _alter_cluster_default(b, "log.retention.ms", "2000000") == (0, None)
    assert _describe_topic(admin, topic)["retention.ms"] == ("2000000", DYNAMIC_DEFAULT_BROKER)
    kadmin = KafkaAdminClient(bootstrap_servers=b.bootstrap)
    try:
        described = kadmin.describe_configs([KConfigResource(ConfigResourceType.BROKER, "1", configs=["log.retention.ms"])],
                                           config_filter="all")
        entry = described["broker"]["1"]["log.retention.ms"]
        assert (entry["value"], entry["config_source"]) == ("2000000", "DYNAMIC_DEFAULT_BROKER_CONFIG")
    finally:
        kadmin.close()

    # This broker's own value wins over the cluster-wide default.
    _incremental(admin, ResourceType.BROKER, "1", [("log.retention.ms", "SET", "3000000")])
    assert _describe_topic(admin, topic)["retention.ms"] == ("3000000", DYNAMIC_BROKER)
    res = ConfigResource(ResourceType.BROKER, "1")
    entry = admin.describe_configs([res])[res].result(30)["log.retention.ms"]
    assert (entry.value, int(entry.source), entry.is_read_only) == ("3000000", DYNAMIC_BROKER, False)
    assert admin.describe_configs([res])[res].result(30)["num.partitions"].is_read_only

    # A read-only broker key is refused. (A request naming another broker id never reaches this
    # broker from confluent-kafka, which sends broker resources to that broker; the controller
    # test covers the broker's answer.)
    assert _error_name(lambda: _incremental(admin, ResourceType.BROKER, "1", [("num.partitions", "SET", "3")])) == "INVALID_REQUEST"

    b.kill9()
    b.start()
    admin = ck_admin(b.bootstrap)
    assert _describe_topic(admin, topic)["retention.ms"] == ("3000000", DYNAMIC_BROKER)
    _incremental(admin, ResourceType.BROKER, "1", [("log.retention.ms", "DELETE", None)])
    assert _describe_topic(admin, topic)["retention.ms"] == ("2000000", DYNAMIC_DEFAULT_BROKER)


def _alter_cluster_default(broker, key: str, value: str) -> tuple[int, object]:
    """AlterConfigs v0 for broker resource "" (the cluster-wide default); returns (error, message)."""
    import kafka_wire as kw

    body = (kw.Writer().int32(1).int8(4).string("").int32(1).string(key).string(value).int8(0)).bytes()
    sock = kw.connect(broker.host, broker.port)
    try:
        r = kw.Reader(kw.request(sock, kw.request_header(33, 0, 7, flexible=False) + body))
    finally:
        sock.close()
    assert r.int32() == 7  # correlation id
    r.int32()  # throttle_time_ms
    assert r.int32() == 1
    error, message = r.int16(), r.string()
    assert (r.int8(), r.string()) == (4, "")
    assert r.at_end()
    return error, message


def test_kafka_python_alter_configs_and_describe_log_dirs(broker, topic):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
        res = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.bytes": "1048576"})
        assert admin.alter_configs([res])["topic"][topic] == "OK"
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=["retention.bytes"])])
        entry = described["topic"][topic]["retention.bytes"]
        assert (entry["value"], entry["config_source"]) == ("1048576", "DYNAMIC_TOPIC_CONFIG")
        # The non-incremental AlterConfigs: kafka-python reads the topic's dynamic keys first and
        # sends them along, because the broker resets every key the request leaves out.
        res = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"segment.ms": "3600000"})
        assert admin.alter_configs([res], incremental=False)["topic"][topic] == "OK"
        # (kafka-python's describe_configs lists only "modified" keys unless asked for all.)
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")["topic"][topic]
        assert (described["retention.bytes"]["value"], described["segment.ms"]["value"]) == ("1048576", "3600000")
        # reset_configs over AlterConfigs: the key it resets is left out, so it returns to its default.
        admin.reset_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=["retention.bytes"])], incremental=False)
        # (kafka-python's describe_configs lists only "modified" keys unless asked for all.)
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")["topic"][topic]
        assert (described["retention.bytes"]["value"], described["segment.ms"]["value"]) == ("-1", "3600000")

        p = kp_producer(broker.bootstrap)
        for i in range(50):
            p.send(topic, value=b"v" * 500, partition=1)
        p.flush(30)
        p.close()
        dirs = admin.describe_log_dirs()
    finally:
        admin.close()
    (entry,) = dirs
    (log_dir,) = entry["log_dirs"]
    assert log_dir["error_code"] == 0
    assert Path(log_dir["log_dir"]).resolve() == Path(broker.log_dir).resolve()
    assert log_dir["total_bytes"] > 0 and 0 <= log_dir["usable_bytes"] <= log_dir["total_bytes"]
    sizes = {(t["name"], p["partition_index"]): p["partition_size"] for t in log_dir["topics"] for p in t["partitions"]}
    on_disk = sum(f.stat().st_size for f in partition_dir(broker, topic, 1).glob("*.log"))
    assert sizes[(topic, 1)] == on_disk > 50 * 500 / 10
    assert sizes[(topic, 0)] == 0


def _stored_codecs(runnel_path: str, broker, topic: str) -> list[str]:
    out = []
    for log in sorted(partition_dir(broker, topic, 0).glob("*.log")):
        cp = _dump(runnel_path, log)
        assert cp.returncode == 0, cp.stderr
        out += [row["codec"] for row in _batch_lines(cp.stdout)]
    return out


@pytest.mark.parametrize("target", ["zstd", "uncompressed"])
def test_compression_type_recompresses_every_producer(module_broker, runnel_path, topic, target):
    """Batches from kcat (gzip), confluent-kafka (lz4) and kafka-python (snappy, idempotent) are
    stored with the topic's codec and read back byte-equal by three consumers."""
    create_topic(module_broker.bootstrap, topic, {"compression.type": target})
    expected = []
    kcat(module_broker.bootstrap, "-P", "-t", topic, "-p", "0", "-z", "gzip", "-K:",
         input=b"".join(b"kc%d:kcat-%d-%s\n" % (i, i, b"x" * 300) for i in range(20)))
    expected += [(b"kc%d" % i, b"kcat-%d-%s" % (i, b"x" * 300), []) for i in range(20)]

    p = ck_producer(module_broker.bootstrap, **{"compression.type": "lz4", "linger.ms": 20})
    for i in range(20):
        p.produce(topic, value=b"ck-%d-%s" % (i, b"y" * 300), key=None if i % 5 == 0 else b"ck%d" % i,
                  headers=[("h", None), ("n", b"%d" % i)], partition=0)
    assert p.flush(30) == 0
    expected += [(None if i % 5 == 0 else b"ck%d" % i, b"ck-%d-%s" % (i, b"y" * 300), [("h", None), ("n", b"%d" % i)])
                 for i in range(20)]

    kp = kp_producer(module_broker.bootstrap, compression_type="snappy", linger_ms=20)
    for i in range(20):
        kp.send(topic, key=b"kp%d" % i, value=b"" if i == 3 else b"kp-%d-%s" % (i, b"z" * 300), partition=0)
    kp.flush(30)
    kp.close()
    expected += [(b"kp%d" % i, b"" if i == 3 else b"kp-%d-%s" % (i, b"z" * 300), []) for i in range(20)]

    stored = set(_stored_codecs(runnel_path, module_broker, topic))
    assert stored == {"none" if target == "uncompressed" else target}, stored

    got = [(m.key(), m.value(), list(m.headers() or [])) for m in ck_consume(module_broker.bootstrap, topic, 0, len(expected))]
    assert got == expected
    kp_got = [(r.key, r.value, [(k, v) for k, v in r.headers]) for r in kp_consume(module_broker.bootstrap, topic, 0, len(expected))]
    assert kp_got == expected
    cp = kcat(module_broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%S:%s\n")
    assert cp.stdout.split(b"\n")[:-1] == [b"%d:%s" % (len(v), v) for _, v, _ in expected]


def test_compression_type_change_applies_to_the_next_batch(module_broker, runnel_path, topic):
    from confluent_kafka.admin import ResourceType

    create_topic(module_broker.bootstrap, topic, {"compression.type": "gzip"})
    # librdkafka sends a batch uncompressed when compressing would not make it smaller, so the
    # records are long and repetitive.
    kcat(module_broker.bootstrap, "-P", "-t", topic, "-p", "0", "-z", "zstd", input=b"one" * 300 + b"\n")
    _incremental(ck_admin(module_broker.bootstrap), ResourceType.TOPIC, topic, [("compression.type", "SET", "producer")])
    kcat(module_broker.bootstrap, "-P", "-t", topic, "-p", "0", "-z", "zstd", input=b"two" * 300 + b"\n")
    assert _stored_codecs(runnel_path, module_broker, topic) == ["gzip", "zstd"]


def test_timestamp_bounds_and_log_append_time(module_broker, topic):
    create_topic(module_broker.bootstrap, topic, {"message.timestamp.before.max.ms": 3600000})
    create_topic(module_broker.bootstrap, topic + "-lat", {"message.timestamp.type": "LogAppendTime"})
    now = int(time.time() * 1000)
    p = ck_producer(module_broker.bootstrap, **{"linger.ms": 0})
    results = {}

    def produce(name, t, ts):
        p.produce(t, value=name.encode(), timestamp=ts, partition=0,
                  on_delivery=lambda err, msg: results.__setitem__(name, (err, msg.timestamp() if err is None else None)))
        assert p.flush(30) == 0

    produce("old", topic, now - 2 * 3600 * 1000)          # before message.timestamp.before.max.ms
    produce("future", topic, now + 2 * 3600 * 1000)       # after the default message.timestamp.after.max.ms (1 h)
    produce("recent", topic, now - 60 * 1000)
    produce("lat-old", topic + "-lat", now - 48 * 3600 * 1000)  # LogAppendTime: not checked, stamped
    assert results["old"][0].name() == "INVALID_TIMESTAMP"
    assert results["future"][0].name() == "INVALID_TIMESTAMP"
    assert results["recent"][0] is None
    err, (ts_type, ts) = results["lat-old"]
    assert err is None and ts_type == 2 and abs(ts - now) < 60_000  # TIMESTAMP_LOG_APPEND_TIME

    # kafka-python surfaces the same error on its future.
    from kafka.errors import InvalidTimestampError

    kp = kp_producer(module_broker.bootstrap, retries=0)
    try:
        with pytest.raises(InvalidTimestampError):
            kp.send(topic, value=b"kp-old", partition=0, timestamp_ms=now - 3 * 3600 * 1000).get(timeout=30)
    finally:
        kp.close()
    assert [m.value() for m in ck_consume(module_broker.bootstrap, topic, 0, 1)] == [b"recent"]


def test_max_message_bytes_lowered_at_run_time(module_broker, topic):
    from confluent_kafka.admin import ResourceType

    create_topic(module_broker.bootstrap, topic)
    _incremental(ck_admin(module_broker.bootstrap), ResourceType.TOPIC, topic, [("max.message.bytes", "SET", "2000")])
    p = ck_producer(module_broker.bootstrap, **{"linger.ms": 0})
    errors = []
    p.produce(topic, value=b"x" * 5000, partition=0, on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(30) == 0
    assert errors[0] is not None and errors[0].name() == "MSG_SIZE_TOO_LARGE"
    # The same producer (and connection) still delivers a record that fits.
    p.produce(topic, value=b"small", partition=0, on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(30) == 0
    assert errors[1] is None
    module_broker.wait_for_log(r"max\.message\.bytes 2000")


def test_aiokafka_alter_describe_configs_compression_and_timestamps(module_broker, runnel_path, topic):
    """aiokafka's admin client (AlterConfigs, DescribeConfigs v0-2) changes a topic's
    compression.type and timestamp bound; its producer's gzip batches are then stored as zstd,
    and a record older than the bound gets INVALID_TIMESTAMP."""
    import asyncio

    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
    from aiokafka.errors import InvalidTimestampError

    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=module_broker.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, 1, 1)])
            (altered,) = await admin.alter_configs([ConfigResource(
                ConfigResourceType.TOPIC, topic,
                configs={"compression.type": "zstd", "message.timestamp.before.max.ms": "3600000"})])
            assert [r[0] for r in altered.resources] == [0], altered
            (described,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
            (resource,) = described.resources
            assert resource[0] == 0, resource
            entries = {e[0]: e[1] for e in resource[4]}
            assert entries["compression.type"] == "zstd"
            assert entries["message.timestamp.before.max.ms"] == "3600000"
            assert entries["retention.ms"] == "604800000"
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=module_broker.bootstrap, compression_type="gzip", linger_ms=20)
        await producer.start()
        try:
            now = int(time.time() * 1000)
            sent = [await producer.send(topic, b"aio-%d-" % i + b"z" * 400, partition=0) for i in range(10)]
            metas = [await f for f in sent]
            assert [m.offset for m in metas] == list(range(10))
            with pytest.raises(InvalidTimestampError):
                await producer.send_and_wait(topic, b"too old", partition=0, timestamp_ms=now - 2 * 3600 * 1000)
        finally:
            await producer.stop()

    asyncio.run(run())
    assert set(_stored_codecs(runnel_path, module_broker, topic)) == {"zstd"}
    got = [m.value() for m in ck_consume(module_broker.bootstrap, topic, 0, 10)]
    assert got == [b"aio-%d-" % i + b"z" * 400 for i in range(10)]
