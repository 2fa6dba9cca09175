"""Hostile clients next to well-behaved ones (issue 11).

attacker.py, from 127.0.0.2, opens about 2,000 connections: it holds 1,500 of them half-way
through a request, pipelines 100,000 ApiVersions requests on 200 connections with 4 KiB receive
buffers without reading the answers, and keeps sending Metadata requests whose topic array claims
2^31-1 entries. Meanwhile a confluent-kafka producer (one record every 5 ms, acks=1, linger.ms=5,
5 requests in flight) and a consumer on 127.0.0.1 keep working: every record is delivered and read
back, every giant count is refused, and broker RSS stays at or under 512 MiB.

Latency: the producer's p99 under attack must stay within 5x its idle p99, measured in the same
run over windows of the same length, so that a hiccup of the shared machine is as likely in either
(the test prints both, their ratio, and the slowest deliveries under attack with their time from
the start of the attack). No absolute floor: the idle p99 is never tiny, as linger.ms=5 and the
5 ms produce cadence alone put it at 6-16 ms here.

The broker runs on its defaults, and one of them is what this test holds to account:
runnel.max.requests.in.progress.per.ip=0 (twice the cores). The attacker's address has at most
that many requests being handled at once however many connections it has, and its other
connections are not read from meanwhile, so the producer finds at most that many of the
attacker's requests ahead of its own (SourceAddressFairness). With -1 (only a fair share of
queued.max.requests) the producer's p99 under this flood is about 50x its idle p99 (350-380 ms).

Until 2026-12-01 1 to 2 runs in 6 missed 5x, from one 150-200 ms stall at the start of the flood,
during which an event loop ran tasks without polling its sockets. The tasks were a cascade of
fairness wake-ups: a connection woken with room reserved held back because others of its address
waited behind it, handed the room to the next waiter, which did the same, through all of the
attacker's ~1,700 waiting connections, each left stuck. With that fixed (FairShareTests'
aWokenConnectionTakesItsTurnWhileOthersWaitBehindIt), 12 runs of 12 came to 1.2-1.5x (debug
build, 2026-12-01).

The attacker reports ready once the broker has accepted all its connections, so the window
measures the flood, not the tail of the accept storm before it (a few hundred milliseconds of a
debug broker's time for 1,700 connections: a connection-rate problem, which Kafka bounds with
KIP-612 connection creation quotas and Runnel does not yet).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from storage_util import ck_consumer, ck_producer, create_topic

RSS_LIMIT = 512 * 1024 * 1024
ATTACK_SECONDS = 6.0
P99_RATIO = 5.0


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _p99(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[max(0, int(len(xs) * 0.99) - 1)]


class SteadyProducer(threading.Thread):
    """Produces one record every 5 ms until stopped; keeps (sent time, latency) per delivery."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__()
        self.p = ck_producer(bootstrap, **{"acks": 1, "linger.ms": 5, "max.in.flight.requests.per.connection": 5,
                                           "client.id": "good"})
        self.topic = topic
        self.stop_event = threading.Event()
        self.delivered: list[tuple[float, float]] = []
        self.failures: list = []
        self.sent = 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            sent_at = time.monotonic()

            def done(err, msg, sent_at=sent_at):
                if err is None:
                    self.delivered.append((sent_at, time.monotonic() - sent_at))
                else:
                    self.failures.append(err)
            self.p.produce(self.topic, value=b"good-%d" % self.sent, on_delivery=done)
            self.sent += 1
            self.p.poll(0.005)
        self.p.flush(30)

    def latencies(self, start: float, end: float) -> list[float]:
        return [lat for t, lat in self.delivered if start <= t < end]


def test_well_behaved_clients_keep_working_under_attack(broker_factory):
    broker = broker_factory()
    topic = f"victim-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap, topic)
    producer = SteadyProducer(broker.bootstrap, topic)
    producer.start()
    peak = [_rss(broker.pid)]
    try:
        time.sleep(1)                     # connected and warm
        idle_start = time.monotonic()
        time.sleep(ATTACK_SECONDS)        # as long as the attack: a hiccup of the shared machine is as likely in either
        idle_end = time.monotonic()
        attacker = subprocess.Popen([sys.executable, str(Path(__file__).with_name("attacker.py")), broker.host,
                                     str(broker.port), str(ATTACK_SECONDS)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(Path(__file__).parent))
        assert attacker.stdout.readline().strip() == "ready", attacker.stderr.read()[-2000:]
        attack_start = time.monotonic()
        while attacker.poll() is None and time.monotonic() < attack_start + ATTACK_SECONDS + 30:
            peak[0] = max(peak[0], _rss(broker.pid))
            time.sleep(0.1)
        out, err = attacker.communicate(timeout=30)
        attack_end = attack_start + ATTACK_SECONDS
    finally:
        producer.stop_event.set()
        producer.join(60)
    assert attacker.returncode == 0, err[-2000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["partial"] == 1500 and report["flooders"] == 200 and report["giant_counts"] >= 3, report
    assert not producer.failures, producer.failures[:3]

    c = ck_consumer(broker.bootstrap, **{"group.id": f"g-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    seen = 0
    deadline = time.monotonic() + 30
    while seen < producer.sent and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            seen += 1
    c.close()
    refused = [ln for ln in broker.log_text().splitlines() if "invalid length 2147483647" in ln]
    idle = producer.latencies(idle_start, idle_end)
    attacked = producer.latencies(attack_start, attack_end)
    idle_p99, attacked_p99 = _p99(idle), _p99(attacked)
    print(f"attacker {report}; producer p99 idle {idle_p99 * 1000:.1f} ms ({len(idle)} records), under attack "
          f"{attacked_p99 * 1000:.1f} ms ({len(attacked)} records), ratio {attacked_p99 / idle_p99:.1f} "
          f"(target {P99_RATIO:.0f}x); "
          f"broker RSS peak {peak[0] / 2**20:.0f} MiB")
    slowest = sorted(((lat, t - attack_start) for t, lat in producer.delivered if attack_start <= t < attack_end), reverse=True)
    print("slowest under attack (ms at s): " + ", ".join(f"{lat * 1000:.0f} at {at:.2f}" for lat, at in slowest[:8]))
    assert seen == producer.sent
    assert refused, "no request with a giant array count was refused"
    assert peak[0] <= RSS_LIMIT
    assert attacked_p99 <= P99_RATIO * idle_p99, f"p99 {attacked_p99 * 1000:.1f} ms under attack, {idle_p99 * 1000:.1f} ms idle"
