"""Back-pressure against clients that pipeline without reading their responses.

Several raw sockets each pipeline hundreds of Fetch requests (every answer is about 512 KiB of
records, gigabytes in all) and read nothing. The broker must stop reading from them instead of
building the responses up: its RSS stays bounded (runnel.max.in.flight.requests.per.connection,
queued.max.requests and the slow-reader rule), and a well-behaved confluent-kafka producer keeps
working meanwhile. Then each slow client reads everything: every response arrives, in order.
"""

from __future__ import annotations

import re
import select
import socket
import threading
import time
import urllib.request
import uuid

import kafka_wire as kw
from storage_util import ck_producer, create_topic

ATTACKERS = 4
PIPELINED = 300                 # Fetch requests per attacker, sent without reading
PARTITION_MAX_BYTES = 512 * 1024
RSS_GROWTH_LIMIT = 160 * 1024 * 1024   # unbounded would be ATTACKERS * PIPELINED * 512 KiB = 600 MiB


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _fetch_v4(correlation_id: int, topic: str) -> bytes:
    """Fetch v4 (no sessions): replica -1, max_wait 0, min_bytes 1, one partition from offset 0."""
    w = kw.Writer().int32(-1).int32(0).int32(1).int32(PARTITION_MAX_BYTES).int8(0)
    w.int32(1).string(topic).int32(1).int32(0).int64(0).int32(PARTITION_MAX_BYTES)
    return kw.request_header(1, 4, correlation_id, "pipeliner") + w.bytes()


def _send_all_nonblocking(s: socket.socket, data: bytes, deadline: float) -> int:
    """Sends what the kernel takes before `deadline` without ever reading; returns bytes sent."""
    s.setblocking(False)
    sent = 0
    while sent < len(data) and time.monotonic() < deadline:
        _, writable, _ = select.select([], [s], [], 0.05)
        if writable:
            try:
                sent += s.send(data[sent:])
            except BlockingIOError:
                pass
    s.setblocking(True)
    return sent


def _read_responses(s: socket.socket, count: int, timeout: float) -> list[int]:
    ids = []
    deadline = time.monotonic() + timeout
    for _ in range(count):
        payload = kw.recv_frame(s, max(0.1, deadline - time.monotonic()))
        assert payload is not None, f"connection closed after {len(ids)} responses"
        ids.append(int.from_bytes(payload[:4], "big", signed=True))
    return ids


def test_pipelining_clients_that_do_not_read_are_not_buffered_for(broker_factory):
    broker = broker_factory({"queued.max.requests": 16})
    topic = f"bp-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap, topic)
    p = ck_producer(broker.bootstrap, **{"linger.ms": 20})
    value = b"x" * 8192
    for i in range(80):            # ~640 KiB: every fetch answer is PARTITION_MAX_BYTES of it
        p.produce(topic, value=value, key=str(i).encode())
    assert p.flush(30) == 0

    baseline = _rss(broker.pid)
    attackers = []
    for a in range(ATTACKERS):
        s = kw.connect(broker.host, broker.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        payload = b"".join(kw.frame(_fetch_v4(a * 100_000 + i, topic)) for i in range(PIPELINED))
        attackers.append((s, payload))
    sent = [_send_all_nonblocking(s, payload, time.monotonic() + 2) for s, payload in attackers]

    # While nobody reads, a normal producer is served and the broker's memory stays flat.
    peak = baseline
    delivered = []
    p2 = ck_producer(broker.bootstrap)
    for i in range(50):
        p2.produce(topic, value=b"ok-%d" % i, on_delivery=lambda err, msg: delivered.append(err))
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        p2.poll(0.1)
        peak = max(peak, _rss(broker.pid))
    assert p2.flush(20) == 0
    assert len(delivered) == 50 and all(e is None for e in delivered), delivered
    growth = peak - baseline
    print(f"broker RSS baseline {baseline / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB "
          f"(+{growth / 2**20:.1f} MiB) with {ATTACKERS}x{PIPELINED} pipelined fetches unread")
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.1f} MiB"
    gauges = urllib.request.urlopen(broker.metrics_url, timeout=5).read().decode()
    queued = re.search(r"^runnel_request_queue_requests (\S+)", gauges, re.M)
    # Parked behind clients that do not read, their requests leave the count (a few may overshoot).
    assert queued is not None and float(queued.group(1)) <= 16 + ATTACKERS * 5, "runnel_request_queue_requests"

    # Each slow client now reads while the rest of its requests go out: every response arrives,
    # in request order.
    results: dict[int, list[int]] = {}

    def drain(a: int, s: socket.socket) -> None:
        results[a] = _read_responses(s, PIPELINED, 90)

    threads = [threading.Thread(target=drain, args=(a, s)) for a, (s, _) in enumerate(attackers)]
    for t in threads:
        t.start()
    for (s, payload), done in zip(attackers, sent):
        s.sendall(payload[done:])
    for t in threads:
        t.join(120)
    for a in range(ATTACKERS):
        assert results.get(a) == [a * 100_000 + i for i in range(PIPELINED)]
    for s, _ in attackers:
        s.close()


def test_a_client_retrying_rejected_batches_cannot_flood_the_log(broker_factory):
    """'produce rejected' lines are rate-limited per client address and error (10 per 10 s)."""
    broker = broker_factory()
    topic = f"flood-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap, topic, {"max.message.bytes": 1024})
    p = ck_producer(broker.bootstrap, **{"linger.ms": 0, "batch.num.messages": 1, "retries": 0})
    errors = []
    for i in range(60):
        p.produce(topic, value=b"z" * 4096, on_delivery=lambda err, msg: errors.append(err))
        p.poll(0)
    p.flush(30)
    assert len(errors) == 60 and all(e is not None and e.name() == "MSG_SIZE_TOO_LARGE" for e in errors), errors[:3]
    lines = [ln for ln in broker.log_text().splitlines() if "produce rejected" in ln]
    print(f"{len(lines)} 'produce rejected' lines for 60 rejected batches")
    assert 1 <= len(lines) <= 10
