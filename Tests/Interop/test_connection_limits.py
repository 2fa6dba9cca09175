"""Connection limits against greedy clients, on raw sockets and with real clients.

* max.connections.per.ip=5: five raw sockets are served, the sixth is closed without an answer
  (and one warning names the limit and the client), closing one lets a new one in, and
  kafka-python and confluent-kafka clients work under the limit.
* max.connections=3: the same, counted over all clients.
* connections.max.idle.ms=1000: a raw socket that sends nothing is closed after about a second,
  one waiting in a long-poll Fetch (max_wait_ms 3000) is answered, and a confluent-kafka producer
  and consumer keep working across idle closes (they reconnect).
"""

from __future__ import annotations

import re
import socket
import struct
import time
import urllib.request
import uuid

import pytest

import kafka_wire as kw
from interop_util import kp_consume, kp_producer
from storage_util import ck_consumer, ck_producer, create_topic

PER_IP = 5
MAX_CONNECTIONS = 3
IDLE_MS = 1000


@pytest.fixture(scope="module")
def per_ip_broker(module_broker_factory):
    return module_broker_factory({"max.connections.per.ip": PER_IP})


@pytest.fixture(scope="module")
def total_broker(module_broker_factory):
    return module_broker_factory({"max.connections": MAX_CONNECTIONS})


@pytest.fixture(scope="module")
def idle_broker(module_broker_factory):
    return module_broker_factory({"connections.max.idle.ms": IDLE_MS})


# ---------------------------------------------------------------------------------------


def _served(s, correlation_id: int) -> bool:
    """Whether ApiVersions on `s` is answered (False: the broker closed the connection)."""
    try:
        resp = kw.request(s, kw.encode_api_versions_request(0, correlation_id), timeout=5)
    except (kw.WireError, ConnectionResetError, BrokenPipeError):
        return False
    av = kw.decode_api_versions_response(resp, 0)
    assert av["correlation_id"] == correlation_id and av["error_code"] == 0
    return True


def _refused(broker) -> int:
    """Opens a connection the broker must close without answering; returns its client port."""
    s = kw.connect(broker.host, broker.port)
    port = s.getsockname()[1]
    try:
        kw.send_ignoring_reset(s, kw.frame(kw.encode_api_versions_request(0, 666)))
        outcome, got = kw.wait_closed(s, 5)
    finally:
        s.close()
    assert outcome == "closed", "the connection over the limit was not closed"
    assert got == b"", f"the connection over the limit was answered: {got[:64]!r}"
    return port


def _admitted_again(broker, timeout: float = 5.0):
    """A new connection, served once the broker has noticed earlier closes (may take a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        s = kw.connect(broker.host, broker.port)
        if _served(s, 777):
            return s
        s.close()
        assert time.monotonic() < deadline, "no connection admitted after one was closed"
        time.sleep(0.05)


def _assert_limit_logged(broker, limit: str, port: int) -> None:
    lines = broker.wait_for_log(rf"{re.escape(limit)}.*127\.0\.0\.1:{port}(?![0-9])|127\.0\.0\.1:{port}(?![0-9]).*{re.escape(limit)}")
    assert lines, f"no warning names {limit} and the refused client port {port}"


def _limit_holds(broker, limit: int, limit_text: str) -> None:
    held = []
    try:
        # Retried: connections just closed elsewhere (the harness's readiness probe, an earlier
        # test's clients) count until the broker has seen them close.
        for _ in range(limit):
            held.append(_admitted_again(broker))
        port = _refused(broker)
        _assert_limit_logged(broker, limit_text, port)
        # Those already open are unaffected.
        assert all(_served(s, 200 + i) for i, s in enumerate(held))
        held.pop(0).close()
        held.append(_admitted_again(broker))
        _refused(broker)
        assert all(_served(s, 300 + i) for i, s in enumerate(held))
    finally:
        for s in held:
            s.close()


def _metric(broker, name: str) -> float:
    text = urllib.request.urlopen(broker.metrics_url, timeout=5).read().decode()
    m = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    assert m, f"{name} not in the metrics"
    return float(m.group(1))


# ---------------------------------------------------------------------------------------
# max.connections.per.ip


def test_per_ip_limit_closes_the_connection_beyond_it(per_ip_broker):
    _limit_holds(per_ip_broker, PER_IP, f"max.connections.per.ip ({PER_IP}) reached")


def test_clients_work_under_the_per_ip_limit(per_ip_broker):
    topic = f"per-ip-{uuid.uuid4().hex[:8]}"
    p = kp_producer(per_ip_broker.bootstrap)
    try:
        for i in range(3):
            p.send(topic, partition=0, value=f"kp-{i}".encode()).get(timeout=10)
    finally:
        p.close(timeout=5)
    assert [r.value for r in kp_consume(per_ip_broker.bootstrap, topic, 0, 3)] == [b"kp-0", b"kp-1", b"kp-2"]

    cp = ck_producer(per_ip_broker.bootstrap)
    cp.produce(topic, value=b"ck", partition=0)
    assert cp.flush(15) == 0
    del cp  # its connections close, leaving room under the limit for the consumer's
    from confluent_kafka import TopicPartition

    c = ck_consumer(per_ip_broker.bootstrap)
    try:
        c.assign([TopicPartition(topic, 0, 3)])
        msg = None
        deadline = time.monotonic() + 15
        while msg is None and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                msg = m
        assert msg is not None and msg.value() == b"ck" and msg.offset() == 3
    finally:
        c.close()


# ---------------------------------------------------------------------------------------
# max.connections


def test_broker_wide_limit_closes_the_connection_beyond_it(total_broker):
    _limit_holds(total_broker, MAX_CONNECTIONS, f"max.connections ({MAX_CONNECTIONS}) reached")


# ---------------------------------------------------------------------------------------
# connections.max.idle.ms


def test_idle_connections_are_closed(idle_broker):
    silent = kw.connect(idle_broker.host, idle_broker.port)
    used = None
    try:
        t0 = time.monotonic()
        outcome, got = kw.wait_closed(silent, 5)
        waited = time.monotonic() - t0
        assert outcome == "closed" and got == b""
        assert 0.7 <= waited <= 3.0, f"a silent connection was closed after {waited:.2f}s"

        # Each request restarts the idle time: requests every 0.5 s outlive the 1 s timeout.
        used = kw.connect(idle_broker.host, idle_broker.port)
        for i in range(4):
            time.sleep(0.5)
            assert _served(used, 10 + i), f"request {i} after {0.5 * (i + 1)}s of requests every 0.5s was refused"
        t0 = time.monotonic()
        outcome, got = kw.wait_closed(used, 5)
        waited = time.monotonic() - t0
        assert outcome == "closed" and got == b""
        assert 0.7 <= waited <= 3.0, f"an idle connection was closed {waited:.2f}s after its last answer"
    finally:
        silent.close()
        if used is not None:
            used.close()


def _fetch_v4(correlation_id: int, topic: str, offset: int, max_wait_ms: int) -> bytes:
    w = kw.Writer().int32(-1).int32(max_wait_ms).int32(1).int32(1_048_576).int8(0)
    w.int32(1).string(topic).int32(1).int32(0).int64(offset).int32(1_048_576)
    return kw.request_header(1, 4, correlation_id) + w.bytes()


def test_a_long_poll_fetch_is_not_idle(idle_broker):
    topic = f"long-poll-{uuid.uuid4().hex[:8]}"
    create_topic(idle_broker.bootstrap, topic)
    s = kw.connect(idle_broker.host, idle_broker.port)
    try:
        t0 = time.monotonic()
        resp = kw.request(s, _fetch_v4(4242, topic, 0, 3000), timeout=8)
        waited = time.monotonic() - t0
        correlation_id, throttle, topics = struct.unpack_from(">iii", resp, 0)
        name_len = struct.unpack_from(">h", resp, 12)[0]
        partitions, partition, error_code = struct.unpack_from(">iih", resp, 14 + name_len)
        assert correlation_id == 4242 and topics == 1 and partitions == 1 and partition == 0
        assert error_code == 0
        assert waited >= 2.5, f"the long poll was answered after {waited:.2f}s, before max_wait_ms"
        # Idle again from the answer.
        outcome, _ = kw.wait_closed(s, 5)
        assert outcome == "closed"
    finally:
        s.close()


def test_confluent_clients_reconnect_across_idle_closes(idle_broker):
    from confluent_kafka import TopicPartition

    topic = f"idle-ck-{uuid.uuid4().hex[:8]}"
    create_topic(idle_broker.bootstrap, topic)
    p = ck_producer(idle_broker.bootstrap, **{"log.connection.close": False})
    c = ck_consumer(idle_broker.bootstrap, **{"log.connection.close": False})
    got: list[bytes] = []

    def read(n: int) -> None:
        deadline = time.monotonic() + 15
        while len(got) < n and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                got.append(m.value())
        assert len(got) >= n, f"read {len(got)} of {n} records"

    try:
        accepted_before = _metric(idle_broker, "runnel_connections_accepted_total")
        c.assign([TopicPartition(topic, 0, 0)])
        for round_ in range(2):
            p.produce(topic, value=f"r{round_}".encode(), partition=0)
            assert p.flush(15) == 0, "produce after an idle close failed"
            read(round_ + 1)
            # Nothing to send for twice the idle time: the broker closes the producer's and (paused)
            # consumer's connections; both must reconnect for the next round.
            c.pause([TopicPartition(topic, 0)])
            time.sleep(2.2)
            c.resume([TopicPartition(topic, 0)])
        p.produce(topic, value=b"last", partition=0)
        assert p.flush(15) == 0
        read(3)
        assert got == [b"r0", b"r1", b"last"]
        assert _metric(idle_broker, "runnel_connections_accepted_total") >= accepted_before + 2, \
            "the clients never reconnected: were their connections closed when idle?"
    finally:
        c.close()


def test_per_ip_overrides_raise_the_limit_for_their_address_only(broker_factory):
    """max.connections.per.ip=2 with max.connections.per.ip.overrides=127.0.0.1:4: four sockets
    from 127.0.0.1 are served, the fifth is closed; from 127.0.0.2 the third is closed."""
    broker = broker_factory({"max.connections.per.ip": 2, "max.connections.per.ip.overrides": "127.0.0.1:4"})
    opened = []
    try:
        for i in range(4):
            s = kw.connect(broker.host, broker.port)
            opened.append(s)
            assert _served(s, 100 + i)
        _refused(broker)
        for i in range(2):
            s = socket.create_connection((broker.host, broker.port), timeout=5, source_address=("127.0.0.2", 0))
            opened.append(s)
            assert _served(s, 200 + i)
        s = socket.create_connection((broker.host, broker.port), timeout=5, source_address=("127.0.0.2", 0))
        opened.append(s)
        assert not _served(s, 300), "the third connection from 127.0.0.2 was served"
    finally:
        for s in opened:
            s.close()
