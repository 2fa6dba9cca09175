"""Malformed and hostile input on raw sockets, while a real client keeps producing.

One broker (started with socket.request.max.bytes=1048576) serves the whole module;
a kafka-python producer thread sends a record every ~20 ms for the duration and
every one of its sends must succeed (checked in the last test).

Expected broker behaviour (see research brief §0 rule 1, §2.1, §2.5):
* unparseable / unknown / unsupported-version requests -> the broker closes the
  connection (no reply in another version, no hang);
* frames larger than socket.request.max.bytes -> connection closed without
  reading the body;
* ApiVersions of an unknown version -> error 35 with a v0-shaped body (header v0)
  listing key 18's range.

Log expectation (deliberately loose, adjust LOG_WHY if the wording changes):
for every connection the broker closed because of bad input, its stderr log has
at least one line that contains the client's ephemeral port number (i.e. the
peer address "127.0.0.1:<port>" or "port=<port>" etc.) AND a word matching
LOG_WHY (close/closing/invalid/unsupported/unknown/too large/...).
"""

from __future__ import annotations

import random
import struct
import threading
import time
import uuid

import pytest

import kafka_wire as kw
from interop_util import kp_consume, kp_producer

MAX_REQUEST = 1_048_576
CLOSE_TIMEOUT = 5.0
LOG_WHY = (r"clos|disconnect|drop|abort|reset|invalid|unsupported|unknown|too (large|big)|exceed"
           r"|max|malformed|truncat|corrupt|reject|fail|error|bad|garbage|parse|decode|size")


@pytest.fixture(scope="module")
def bad_broker(module_broker_factory):
    return module_broker_factory({"socket.request.max.bytes": MAX_REQUEST})


class BackgroundProducer:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.acked: list[tuple[int, bytes]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bg-producer", daemon=True)

    def start(self) -> "BackgroundProducer":
        self._thread.start()
        if not self._started.wait(20):
            raise RuntimeError("background producer did not start")
        return self

    def _run(self) -> None:
        try:
            p = kp_producer(self.bootstrap, acks=1, linger_ms=0)
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"producer init: {e!r}")
            self._started.set()
            return
        i = 0
        try:
            while not self._stop.is_set():
                v = f"bg-{i:06d}".encode()
                try:
                    md = p.send(self.topic, partition=0, value=v).get(timeout=10)
                    self.acked.append((md.offset, v))
                except Exception as e:  # noqa: BLE001
                    self.errors.append(f"send {i}: {e!r}")
                if i == 0:
                    self._started.set()
                i += 1
                time.sleep(0.02)
        finally:
            self._started.set()
            p.close(timeout=5)

    def finish(self) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture(scope="module")
def background(bad_broker):
    bp = BackgroundProducer(bad_broker.bootstrap, f"bg-{uuid.uuid4().hex[:8]}").start()
    yield bp
    bp.finish()


@pytest.fixture(autouse=True)
def _running(background):
    """Every test here runs while the background producer is active."""
    yield


# ---------------------------------------------------------------------------------------


def _open(broker):
    s = kw.connect(broker.host, broker.port, timeout=CLOSE_TIMEOUT)
    return s, s.getsockname()[1]


def _send_bad(broker, data: bytes):
    """Send `data` on a fresh connection and wait for the broker to close it.
    Returns (outcome, bytes_received, client_port)."""
    s, port = _open(broker)
    try:
        kw.send_ignoring_reset(s, data)
        outcome, got = kw.wait_closed(s, CLOSE_TIMEOUT)
    finally:
        s.close()
    return outcome, got, port


def _assert_serving(broker) -> None:
    assert broker.alive(), f"broker process died (exit {broker.proc and broker.proc.poll()})"
    s, _ = _open(broker)
    try:
        resp = kw.request(s, kw.encode_api_versions_request(0, 4242))
    finally:
        s.close()
    av = kw.decode_api_versions_response(resp, 0)
    assert av["correlation_id"] == 4242 and av["error_code"] == 0


def _assert_logged(broker, port: int) -> None:
    import re

    rx = re.compile(LOG_WHY, re.I)
    lines = broker.wait_for_log(rf"(?<![0-9]){port}(?![0-9])", timeout=5)
    why = [ln for ln in lines if rx.search(ln)]
    assert why, (f"no stderr line mentions the closed connection from port {port} with a reason "
                 f"(lines with the port: {lines!r})")


def _closed(broker, data: bytes, *, allow_error_response: bool = False) -> None:
    outcome, got, port = _send_bad(broker, data)
    if allow_error_response and got:
        pass  # an error response is acceptable; it did not hang
    else:
        assert outcome == "closed", (
            f"broker did not close the connection within {CLOSE_TIMEOUT}s (got {len(got)} bytes)")
        assert got == b"", f"broker answered {got[:64]!r} instead of closing"
        _assert_logged(broker, port)
    _assert_serving(broker)


# ---------------------------------------------------------------------------------------
# (a) garbage


def test_a_random_bytes_with_plausible_size(bad_broker):
    rnd = random.Random(1234)
    body = bytes(rnd.getrandbits(8) for _ in range(100))
    # Make sure the "api key" is not a real one (random could hit 0..75 with a small version).
    body = b"\x7f\x3c" + body[2:]
    _closed(bad_broker, struct.pack(">i", 100) + body, allow_error_response=True)


def test_a_pure_garbage_negative_size(bad_broker):
    rnd = random.Random(99)
    _closed(bad_broker, b"\xde\xad\xbe\xef" + bytes(rnd.getrandbits(8) for _ in range(60)))


def test_a_http_request(bad_broker):
    # "GET " as a size prefix = 1195725856 bytes > socket.request.max.bytes
    _closed(bad_broker, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")


def test_a_zero_size_frame(bad_broker):
    _closed(bad_broker, b"\x00\x00\x00\x00", allow_error_response=True)


def test_a_valid_produce_header_random_body(bad_broker):
    rnd = random.Random(7)
    payload = kw.request_header(0, 7, 11) + bytes(rnd.getrandbits(8) for _ in range(200))
    _closed(bad_broker, kw.frame(payload), allow_error_response=True)


def test_a_client_disconnects_mid_frame(bad_broker):
    s, _ = _open(bad_broker)
    s.sendall(struct.pack(">i", 100) + b"\x00\x03\x00\x01")  # 8 of 104 bytes
    s.close()
    time.sleep(0.2)
    _assert_serving(bad_broker)


# (b) oversized frame


def test_b_frame_larger_than_socket_request_max_bytes(bad_broker):
    data = struct.pack(">i", 2_000_000) + kw.request_header(3, 1, 1) + b"\x00" * 1000
    t0 = time.monotonic()
    _closed(bad_broker, data)
    assert time.monotonic() - t0 < CLOSE_TIMEOUT + 6


# (c) unknown API key


def test_c_unknown_api_key(bad_broker):
    payload = kw.request_header(999, 0, 21, flexible=False)
    _closed(bad_broker, kw.frame(payload))


# (d) unsupported version of a known API


def test_d_metadata_v99(bad_broker):
    payload = kw.request_header(3, 99, 22, flexible=True) + b"\x01\x00\x00"
    _closed(bad_broker, kw.frame(payload))


# (e) ApiVersions of an unknown version


def test_e_api_versions_v99_gets_v0_error_body(bad_broker):
    s, _ = _open(bad_broker)
    try:
        resp = kw.request(s, kw.encode_api_versions_request(99, 31337))
        av = kw.decode_api_versions_response(resp, 0)  # v0-shaped body, header v0
        assert av["correlation_id"] == 31337
        assert av["error_code"] == kw.UNSUPPORTED_VERSION
        assert av["api_keys"].get(18) == (0, 4), av["entries"]
        assert av["trailing"] == 0, f"{av['trailing']} extra bytes: body is not v0-shaped"
        # the connection stays usable: the client retries with a supported version
        resp = kw.request(s, kw.encode_api_versions_request(3, 31338))
        av3 = kw.decode_api_versions_response(resp, 3)
        assert av3["correlation_id"] == 31338 and av3["error_code"] == 0
    finally:
        s.close()
    _assert_serving(bad_broker)


# (f) truncated body


def test_f_truncated_metadata_request(bad_broker):
    payload = kw.request_header(3, 1, 23) + struct.pack(">i", 5)  # 5 topics promised, none sent
    _closed(bad_broker, kw.frame(payload))


def test_f_truncated_produce_request(bad_broker):
    w = kw.Writer().string(None).int16(1).int32(1000).int32(1).string("t").int32(1).int32(0)
    w.int32(500).raw(b"\x00" * 20)  # records length 500, only 20 bytes follow
    _closed(bad_broker, kw.frame(kw.request_header(0, 7, 24) + w.bytes()))


# (g) ApiVersions v0 / v3 / v4 parse correctly


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_g_api_versions(bad_broker, version):
    s, _ = _open(bad_broker)
    try:
        resp = kw.request(s, kw.encode_api_versions_request(version, 1000 + version))
    finally:
        s.close()
    av = kw.decode_api_versions_response(resp, version)
    assert av["correlation_id"] == 1000 + version
    assert av["error_code"] == 0
    assert av["trailing"] == 0, f"{av['trailing']} unparsed bytes in ApiVersions v{version} response"
    keys = av["api_keys"]
    assert keys.get(0) == (0, 9), "Produce must be advertised 0-9"
    assert keys.get(1) == (0, 12), "Fetch must be advertised 0-12 (v0-3 down-converted)"
    assert keys.get(18) == (0, 4), "ApiVersions must be advertised 0-4"
    assert keys.get(3) == (0, 12), "Metadata 0-12"
    assert all(lo <= hi for lo, hi in keys.values()), keys
    assert len(av["entries"]) == len(keys), "duplicate api keys"
    if version >= 1:
        assert av["throttle_time_ms"] == 0


@pytest.mark.parametrize("version", [0, 1, 4, 7, 9, 10, 12])
@pytest.mark.parametrize("topics", [None, []], ids=["all-topics", "no-topics"])
def test_g_metadata_all_and_no_topics(bad_broker, version, topics):
    """Metadata with a null topic list (all topics) and an empty one (no topics;
    librdkafka's AdminClient sends this as Metadata v12 to learn the brokers)."""
    if version == 0 and topics == []:
        pytest.skip("v0 has no way to ask for no topics")
    s, _ = _open(bad_broker)
    try:
        resp = kw.request(s, kw.encode_metadata_request(version, 50 + version, topics))
        # the connection must stay usable afterwards
        again = kw.request(s, kw.encode_api_versions_request(0, 99))
    finally:
        s.close()
    md = kw.decode_metadata_response(resp, version)
    assert md["correlation_id"] == 50 + version
    assert md["trailing"] == 0
    assert [(b["node_id"], b["port"]) for b in md["brokers"]] == [(1, bad_broker.port)]
    if topics == []:
        assert md["topics"] == []
    else:
        assert background_topic_in(md)
    assert kw.decode_api_versions_response(again, 0)["correlation_id"] == 99


def test_g_metadata_v12_all_topics_as_sent_by_librdkafka(bad_broker):
    """librdkafka 2.16 (confluent-kafka AdminClient.list_topics()) sends its
    "all topics" Metadata v12 with 3 bytes after the schema'd body
    (body 00 00 00 00 | 01 00 00). Kafka's parser ignores unread bytes, so the
    broker must answer it like a normal all-topics request."""
    payload = kw.request_header(3, 12, 3, client_id="rdkafka") + bytes.fromhex("00000000010000")
    s, _ = _open(bad_broker)
    try:
        resp = kw.request(s, payload)
    finally:
        s.close()
    md = kw.decode_metadata_response(resp, 12)
    assert md["correlation_id"] == 3 and md["trailing"] == 0
    assert background_topic_in(md)


def background_topic_in(md) -> bool:
    return any(t["name"].startswith("bg-") and t["error_code"] == 0 for t in md["topics"])


def test_g_pipelined_requests_answered_in_order(bad_broker):
    s, _ = _open(bad_broker)
    try:
        s.sendall(kw.frame(kw.encode_api_versions_request(0, 1))
                  + kw.frame(kw.encode_metadata_request(1, 2, []))
                  + kw.frame(kw.encode_api_versions_request(3, 3)))
        r1, r2, r3 = (kw.recv_frame(s, 5) for _ in range(3))
    finally:
        s.close()
    assert kw.decode_api_versions_response(r1, 0)["correlation_id"] == 1
    md = kw.decode_metadata_response(r2, 1)
    assert md["correlation_id"] == 2 and md["trailing"] == 0
    assert [(b["node_id"], b["host"], b["port"]) for b in md["brokers"]] == [
        (1, "127.0.0.1", bad_broker.port)]
    assert md["controller_id"] == 1
    assert md["topics"] == []  # v1+: empty list = no topics
    assert kw.decode_api_versions_response(r3, 3)["correlation_id"] == 3


# ---------------------------------------------------------------------------------------


def test_z_broker_survived_and_background_producer_never_failed(bad_broker, background):
    time.sleep(0.5)
    background.finish()
    assert bad_broker.alive()
    assert not background.errors, f"{len(background.errors)} background sends failed: {background.errors[:5]}"
    assert len(background.acked) > 10, "background producer made no progress"
    offsets = [o for o, _ in background.acked]
    assert offsets == list(range(len(offsets))), "background offsets not contiguous from 0"

    got = kp_consume(bad_broker.bootstrap, background.topic, 0, len(background.acked))
    assert [(g.offset, g.value) for g in got] == background.acked

    topic = f"after-bad-{uuid.uuid4().hex[:8]}"
    p = kp_producer(bad_broker.bootstrap)
    try:
        md = p.send(topic, partition=0, value=b"still alive").get(timeout=10)
    finally:
        p.close(timeout=5)
    assert md.offset == 0
    assert [g.value for g in kp_consume(bad_broker.bootstrap, topic, 0, 1)] == [b"still alive"]
