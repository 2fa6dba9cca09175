"""Large records: a topic with max.message.bytes=5242880 (5 MiB).

Each client (kcat, kafka-python, confluent-kafka) round-trips a 4 MiB record, with the client's
own limits raised (kcat/confluent `message.max.bytes`, kafka-python `max_request_size`) and
consumers allowed large fetches (`fetch.message.max.bytes` / `max.partition.fetch.bytes` /
`max_partition_fetch_bytes`). A 6 MiB record, which the clients let through with their limits
raised to 10 MB, is refused by the broker with MESSAGE_TOO_LARGE (10); the broker logs a line
naming the topic's limit, does not close the connection (Kafka answers the partition with the
error and keeps the connection), and the same client then produces a small record.

The kafka-python producer is the non-idempotent one of interop_util.kp_producer: kafka-python
3.0.12's idempotent producer moves its TransactionManager to FATAL_ERROR on MESSAGE_TOO_LARGE and
fails every later send with that error without sending it (a client choice: the broker answer is
Kafka's, and the Java producer instead adjusts its sequences and carries on).

A raw-socket Produce of an oversized batch (kafka-python's classes) gets error 10 in the
partition response, and the connection still answers ApiVersions.
"""

from __future__ import annotations

import os
import re
import time
import uuid

import pytest
from kafka.protocol.admin import CreateTopicsRequest, CreateTopicsResponse
from kafka.protocol.metadata import ApiVersionsRequest, ApiVersionsResponse
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record.default_records import DefaultRecordBatchBuilder

import kafka_wire as kw
from interop_util import CK_COMMON, kcat, kp_consumer, kp_producer

TOPIC_LIMIT = 5242880
BIG = 4 * 1024 * 1024
TOO_BIG = 6 * 1024 * 1024
CLIENT_LIMIT = 10_000_000
MESSAGE_TOO_LARGE = 10

LIMIT_LINE = r"MESSAGE_TOO_LARGE.*max\.message\.bytes {limit}.*topic={topic}(?![\w.-])"
CLOSE_WORDS = re.compile(r"clos|disconnect|reset|abort|drop", re.I)


def _payload(n: int, seed: bytes) -> bytes:
    # Not compressible and not constant, so corruption or truncation shows.
    block = os.urandom(4096)
    return (seed + block * (n // 4096 + 1))[:n]


def _call(sock, req, version, resp_cls, corr):
    req.with_header(correlation_id=corr, client_id="large-records")
    req.API_VERSION = version
    r = resp_cls.decode(kw.request(sock, bytes(req.encode(header=True)), timeout=30), version=version, header=True)
    assert r.header.correlation_id == corr
    return r


def _create_topic(broker, name: str) -> None:
    T = CreateTopicsRequest.CreatableTopic
    C = T.CreatableTopicConfig
    s = kw.connect(broker.host, broker.port)
    try:
        r = _call(s, CreateTopicsRequest(topics=[T(name=name, num_partitions=1, replication_factor=1, assignments=[],
                                                   configs=[C(name="max.message.bytes", value=str(TOPIC_LIMIT))])],
                                         timeout_ms=10000), 5, CreateTopicsResponse, 1)
    finally:
        s.close()
    (t,) = r.topics
    assert t.error_code == 0, t
    assert {c.name: c.value for c in t.configs}["max.message.bytes"] == str(TOPIC_LIMIT)


@pytest.fixture
def big_topic(module_broker, request):
    name = f"big-{request.node.name[5:30]}-{uuid.uuid4().hex[:6]}".replace("_", "-")
    _create_topic(module_broker, name)
    return name


def _assert_limit_logged(broker, topic: str) -> list[str]:
    """The rejection is logged with the limit; returns the peer ports named in those lines."""
    lines = broker.wait_for_log(LIMIT_LINE.format(limit=TOPIC_LIMIT, topic=re.escape(topic)), timeout=5)
    assert lines, f"no broker log line names max.message.bytes {TOPIC_LIMIT} for {topic}:\n{broker.tail(20)}"
    ports = []
    for ln in lines:
        m = re.search(r"127\.0\.0\.1:(\d+)", ln)
        if m:
            ports.append(m.group(1))
    return ports


def _assert_not_closed(broker, ports: list[str]) -> None:
    """No log line reports closing the connections the rejections came from."""
    for port in ports:
        closes = [ln for ln in broker.log_text().splitlines()
                  if re.search(rf"(?<!\d){port}(?!\d)", ln) and CLOSE_WORDS.search(ln)
                  and "produce rejected" not in ln]
        assert not closes, f"connection from port {port} was closed after MESSAGE_TOO_LARGE: {closes}"


# --------------------------------------------------------------------------------------
# kcat
# --------------------------------------------------------------------------------------


def _kcat_read(bootstrap, topic, count) -> list[tuple[int, int]]:
    out = kcat(bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-c", str(count), "-e",
               "-X", f"fetch.message.max.bytes={CLIENT_LIMIT}", "-f", "%o %S\n").stdout
    return [tuple(map(int, ln.split())) for ln in out.decode().splitlines()]


def test_kcat_large_records(module_broker, big_topic, tmp_path):
    b = module_broker.bootstrap
    big = _payload(BIG, b"kcat-big")
    (tmp_path / "big.bin").write_bytes(big)
    kcat(b, "-P", "-t", big_topic, "-p", "0", "-X", f"message.max.bytes={CLIENT_LIMIT}", str(tmp_path / "big.bin"))
    got = kcat(b, "-C", "-t", big_topic, "-p", "0", "-o", "0", "-c", "1", "-e",
               "-X", f"fetch.message.max.bytes={CLIENT_LIMIT}", "-f", "%s").stdout
    assert got == big

    # One kcat process (one producer, one connection): the 6 MiB file, then a small one.
    (tmp_path / "huge.bin").write_bytes(_payload(TOO_BIG, b"kcat-huge"))
    (tmp_path / "small.bin").write_bytes(b"kcat-small-after")
    cp = kcat(b, "-P", "-t", big_topic, "-p", "0", "-X", f"message.max.bytes={CLIENT_LIMIT}",
              str(tmp_path / "huge.bin"), str(tmp_path / "small.bin"), check=False)
    err = cp.stderr.decode(errors="replace")
    assert cp.returncode == 1 and "Delivery failed for message: Broker: Message size too large" in err, err
    assert err.count("Delivery failed") == 1, err
    assert _kcat_read(b, big_topic, 2) == [(0, BIG), (1, len(b"kcat-small-after"))]
    _assert_not_closed(module_broker, _assert_limit_logged(module_broker, big_topic))


# --------------------------------------------------------------------------------------
# kafka-python
# --------------------------------------------------------------------------------------


def test_kafka_python_large_records(module_broker, big_topic):
    from kafka.errors import MessageSizeTooLargeError

    b = module_broker.bootstrap
    big = _payload(BIG, b"kp-big")
    p = kp_producer(b, max_request_size=CLIENT_LIMIT)
    try:
        md = p.send(big_topic, value=big, partition=0).get(timeout=30)
        assert md.offset == 0
        fut = p.send(big_topic, value=_payload(TOO_BIG, b"kp-huge"), partition=0)
        with pytest.raises(MessageSizeTooLargeError) as ei:
            fut.get(timeout=30)
        assert getattr(ei.value, "errno", MESSAGE_TOO_LARGE) == MESSAGE_TOO_LARGE
        md = p.send(big_topic, value=b"kp-small-after", partition=0).get(timeout=30)
        assert md.offset == 1
    finally:
        p.close(timeout=5)
    got = []
    c = kp_consumer(b, max_partition_fetch_bytes=CLIENT_LIMIT, fetch_max_bytes=4 * CLIENT_LIMIT)
    try:
        from kafka import TopicPartition

        tp = TopicPartition(big_topic, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        deadline = time.monotonic() + 20
        while len(got) < 2 and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                got += [(r.offset, r.value) for r in recs]
    finally:
        c.close()
    assert got == [(0, big), (1, b"kp-small-after")]
    _assert_not_closed(module_broker, _assert_limit_logged(module_broker, big_topic))


# --------------------------------------------------------------------------------------
# confluent-kafka
# --------------------------------------------------------------------------------------


def test_confluent_large_records(module_broker, big_topic):
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

    b = module_broker.bootstrap
    big = _payload(BIG, b"ck-big")
    reports: list = []
    cfg = dict(CK_COMMON)
    cfg.update({"bootstrap.servers": b, "message.max.bytes": CLIENT_LIMIT, "linger.ms": 5})
    p = Producer(cfg)

    def send(value):
        n = len(reports)
        p.produce(big_topic, value=value, partition=0, on_delivery=lambda err, msg: reports.append((err, msg)))
        assert p.flush(30) == 0
        assert len(reports) == n + 1
        return reports[-1]

    err, msg = send(big)
    assert err is None and msg.offset() == 0, err
    err, msg = send(_payload(TOO_BIG, b"ck-huge"))
    assert err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
    err, msg = send(b"ck-small-after")
    assert err is None and msg.offset() == 1, err

    ccfg = dict(CK_COMMON)
    ccfg.update({"bootstrap.servers": b, "group.id": "large-ck", "enable.auto.commit": False,
                 "max.partition.fetch.bytes": CLIENT_LIMIT, "fetch.max.bytes": 4 * CLIENT_LIMIT,
                 "receive.message.max.bytes": 4 * CLIENT_LIMIT + 1024})
    c = Consumer(ccfg)
    got = []
    try:
        c.assign([TopicPartition(big_topic, 0, 0)])
        deadline = time.monotonic() + 20
        while len(got) < 2 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            got.append((m.offset(), m.value()))
    finally:
        c.close()
    assert got == [(0, big), (1, b"ck-small-after")]
    _assert_not_closed(module_broker, _assert_limit_logged(module_broker, big_topic))


# --------------------------------------------------------------------------------------
# Raw socket
# --------------------------------------------------------------------------------------


def _batch(value: bytes) -> bytes:
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=len(value) + 1024)
    assert b.append(0, timestamp=int(time.time() * 1000), key=None, value=value, headers=[]) is not None
    return bytes(b.build())


def _batch_of_size(total: int) -> bytes:
    """A one-record batch whose whole size (offset + length prefix included) is `total` bytes."""
    n = total - 100
    for _ in range(10):
        b = _batch(b"s" * n)
        if len(b) == total:
            return b
        n += total - len(b)
    raise AssertionError(f"could not build a batch of exactly {total} bytes")


def test_raw_batch_size_boundary(module_broker, big_topic):
    """Kafka compares the whole batch size (61-byte header with its 12-byte offset/length prefix,
    plus the records) against max.message.bytes: equal is accepted, one byte more is not
    (UnifiedLog.analyzeAndValidateRecords: batchSize > config.maxMessageSize)."""
    TD = ProduceRequest.TopicProduceData
    PD = TD.PartitionProduceData
    s = kw.connect(module_broker.host, module_broker.port, timeout=30)
    try:
        results = []
        for corr, size in enumerate([TOPIC_LIMIT + 1, TOPIC_LIMIT], start=21):
            req = ProduceRequest(transactional_id=None, acks=-1, timeout_ms=10000, topic_data=[
                TD(name=big_topic, partition_data=[PD(index=0, records=_batch_of_size(size))])])
            (p,) = _call(s, req, 9, ProduceResponse, corr).responses[0].partition_responses
            results.append((size - TOPIC_LIMIT, p.error_code, p.base_offset))
    finally:
        s.close()
    assert results == [(1, MESSAGE_TOO_LARGE, -1), (0, 0, 0)]


@pytest.mark.parametrize("version", [3, 7, 9])
def test_raw_oversized_produce_keeps_connection(module_broker, big_topic, version):
    TD = ProduceRequest.TopicProduceData
    PD = TD.PartitionProduceData
    s = kw.connect(module_broker.host, module_broker.port, timeout=30)
    try:
        local_port = s.getsockname()[1]
        huge = _batch(_payload(TOO_BIG, b"raw-huge"))
        assert len(huge) > TOPIC_LIMIT
        req = ProduceRequest(transactional_id=None, acks=-1, timeout_ms=10000, topic_data=[
            TD(name=big_topic, partition_data=[PD(index=0, records=huge)])])
        r = _call(s, req, version, ProduceResponse, 11)
        (t,) = r.responses
        (p,) = t.partition_responses
        assert (t.name, p.index, p.error_code) == (big_topic, 0, MESSAGE_TOO_LARGE), p
        assert p.base_offset == -1
        # Same connection: ApiVersions answered, then a small produce accepted.
        av = _call(s, ApiVersionsRequest(client_software_name="large", client_software_version="1"), 3,
                   ApiVersionsResponse, 12)
        assert av.error_code == 0 and any(k.api_key == 0 for k in av.api_keys)
        req = ProduceRequest(transactional_id=None, acks=-1, timeout_ms=10000, topic_data=[
            TD(name=big_topic, partition_data=[PD(index=0, records=_batch(b"raw-small-after"))])])
        r = _call(s, req, version, ProduceResponse, 13)
        (p,) = r.responses[0].partition_responses
        assert (p.error_code, p.base_offset) == (0, 0), p
    finally:
        s.close()
    ports = _assert_limit_logged(module_broker, big_topic)
    assert str(local_port) in ports, (local_port, ports)
    _assert_not_closed(module_broker, [str(local_port)])
