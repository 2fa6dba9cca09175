"""Durable acknowledgement (`runnel.log.flush.on.ack` / `runnel.flush.on.ack`) and Kafka's
background flushes (`flush.messages`, `flush.ms`, `log.flush.*`).

With flush.on.ack an acks=1/acks=all answer waits until the leader fdatasynced the batch; the
syncs are shared by every batch appended while one runs (group commit), so many concurrent
producers cause far fewer syncs (runnel_log_flushes_total) than produce requests. The keys show
in DescribeConfigs with their sources and change with IncrementalAlterConfigs; kill -9 right
after the acknowledgements loses nothing acknowledged."""

from __future__ import annotations

import random
import threading
import time
import uuid

from confluent_kafka import TopicPartition

from storage_util import ck_admin, ck_consumer, ck_producer, create_topic, wait_for, watermarks
from test_admin_configs import DYNAMIC_TOPIC, STATIC_BROKER, _describe_topic, _incremental
from test_crash_acks1 import _produce_until_killed, _verify
from test_metrics import scrape, value

PRODUCERS = 16
PER_PRODUCER = 100


def _flushes(b) -> float:
    return value(scrape(b), "runnel_log_flushes_total")


def _produce_concurrently(b, topic: str, producers: int, per_producer: int, acks: int = 1) -> dict[int, bytes]:
    """`producers` confluent-kafka producers in threads, each sending one record per request
    (batch.num.messages=1, linger.ms=0); returns offset -> value of every acknowledged record."""
    delivered: dict[int, bytes] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        p = ck_producer(b.bootstrap, **{"acks": acks, "linger.ms": 0, "batch.num.messages": 1,
                                        "enable.idempotence": False})

        def on_delivery(err, msg):
            with lock:
                if err is not None:
                    errors.append(str(err))
                else:
                    assert msg.offset() not in delivered
                    delivered[msg.offset()] = msg.value()

        for i in range(per_producer):
            while True:
                try:
                    p.produce(topic, partition=0, value=f"p{n}-{i:05d}-".encode() + b"x" * 1000, on_delivery=on_delivery)
                    break
                except BufferError:
                    p.poll(0.01)
            p.poll(0)
        assert p.flush(60) == 0

    threads = [threading.Thread(target=run, args=(n,)) for n in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:5]
    assert len(delivered) == producers * per_producer
    return delivered


def _read_back(b, topic: str, delivered: dict[int, bytes]) -> None:
    c = ck_consumer(b.bootstrap, **{"enable.partition.eof": True})
    seen: dict[int, bytes] = {}
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 30
        while len(seen) < len(delivered) and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            seen[m.offset()] = m.value()
    finally:
        c.close()
    lost = [o for o, v in delivered.items() if seen.get(o) != v]
    assert not lost, f"{len(lost)} acknowledged records missing or changed, e.g. {sorted(lost)[:5]}"


def test_produce_with_topic_flush_on_ack_shares_syncs(broker_factory, topic):
    b = broker_factory()
    create_topic(b.bootstrap, topic, {"runnel.flush.on.ack": "true"})
    assert _describe_topic(ck_admin(b.bootstrap), topic)["runnel.flush.on.ack"] == ("true", DYNAMIC_TOPIC)

    before = scrape(b)
    delivered = _produce_concurrently(b, topic, PRODUCERS, PER_PRODUCER)
    after = scrape(b)
    _read_back(b, topic, delivered)

    requests = value(after, "runnel_requests_total", api="Produce") - value(before, "runnel_requests_total", api="Produce")
    flushes = value(after, "runnel_log_flushes_total") - value(before, "runnel_log_flushes_total")
    acks = value(after, "runnel_log_flush_acks_total") - value(before, "runnel_log_flush_acks_total")
    print(f"{requests:.0f} produce requests, {flushes:.0f} fdatasyncs, {acks:.0f} acknowledgements released by a sync")
    assert requests >= PRODUCERS * PER_PRODUCER * 0.9, "one record per produce request"
    assert flushes >= 1
    assert acks >= 1
    # One sync per request would be `requests`; how far below depends on how fast a (debug)
    # broker on a loaded 2-core machine turns requests around compared with one fdatasync:
    # 0.35-0.55 of the requests were seen here.
    assert flushes <= requests * 2 / 3, f"group commit: {flushes:.0f} syncs for {requests:.0f} concurrent produce requests"
    assert value(after, "runnel_log_flush_duration_seconds_count") == value(after, "runnel_log_flushes_total")
    assert value(after, "runnel_log_flush_failures_total") == 0


def test_produce_with_broker_flush_on_ack_and_topic_overrides(broker_factory, topic):
    b = broker_factory({"runnel.log.flush.on.ack": "true"})
    admin = ck_admin(b.bootstrap)
    off = topic + "-off"
    create_topic(b.bootstrap, topic)
    create_topic(b.bootstrap, off, {"runnel.flush.on.ack": "false"})
    assert _describe_topic(admin, topic)["runnel.flush.on.ack"] == ("true", STATIC_BROKER)
    assert _describe_topic(admin, off)["runnel.flush.on.ack"] == ("false", DYNAMIC_TOPIC)

    # The topic that turned it off: acks=1 answers never wait, and nothing asks for a sync.
    start = _flushes(b)
    delivered_off = _produce_concurrently(b, off, 2, 100)
    assert _flushes(b) == start, "flush.on.ack=false and flush.messages unset: no sync"

    delivered = _produce_concurrently(b, topic, 4, 100, acks=-1)
    assert _flushes(b) > start
    _read_back(b, topic, delivered)
    _read_back(b, off, delivered_off)

    # With the broker default on, an offset commit (an acks=all append to __consumer_offsets) is
    # answered once synced.
    start = _flushes(b)
    c = ck_consumer(b.bootstrap, **{"group.id": "flush-on-ack-group"})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, 10)], asynchronous=False)
        assert c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == 10
    finally:
        c.close()
    assert _flushes(b) > start

    # IncrementalAlterConfigs turns it on for the other topic at run time.
    from confluent_kafka.admin import ResourceType
    _incremental(admin, ResourceType.TOPIC, off, [("runnel.flush.on.ack", "SET", "true")])
    assert _describe_topic(admin, off)["runnel.flush.on.ack"] == ("true", DYNAMIC_TOPIC)
    start = _flushes(b)
    _produce_concurrently(b, off, 1, 20)
    assert _flushes(b) > start


def test_produce_with_flush_messages_and_flush_ms_syncs_in_the_background(broker_factory, topic):
    b = broker_factory({"log.flush.scheduler.interval.ms": 100})
    admin = ck_admin(b.bootstrap)
    counted = topic + "-messages"
    create_topic(b.bootstrap, counted, {"flush.messages": 50})
    create_topic(b.bootstrap, topic, {"flush.ms": 200})
    described = _describe_topic(admin, counted)
    assert described["flush.messages"] == ("50", DYNAMIC_TOPIC)
    assert described["runnel.flush.on.ack"][0] == "false"
    # flush.ms falls back to log.flush.interval.ms, then log.flush.scheduler.interval.ms.
    assert _describe_topic(admin, topic + "-messages")["flush.ms"] == ("100", STATIC_BROKER)

    start = _flushes(b)
    _produce_concurrently(b, counted, 1, 200)
    wait_for(lambda: _flushes(b), lambda n: n >= start + 1, 10, "a background sync after flush.messages appends")

    start = _flushes(b)
    _produce_concurrently(b, topic, 1, 5)
    wait_for(lambda: _flushes(b), lambda n: n >= start + 1, 10, "a background sync after flush.ms")
    # Nothing appended since: the scheduler does not sync again.
    time.sleep(0.5)
    settled = _flushes(b)
    time.sleep(0.6)
    assert _flushes(b) == settled


def _wait_serving(b, topic: str) -> None:
    """Waits until ListOffsets answers after a restart. The first consumer's FindCoordinator
    creates __consumer_offsets (50 partitions), which on a loaded machine can hold a debug
    broker's first ListOffsets past the 5 s of a single watermarks() call."""
    wait_for(lambda: watermarks(b.bootstrap, topic), lambda _: True, 60, "ListOffsets answered after the restart")


def test_crash_kill9_right_after_flush_on_ack_loses_nothing_acknowledged(broker_factory, topic):
    b = broker_factory({"log.flush.offset.checkpoint.interval.ms": 500})
    create_topic(b.bootstrap, topic, {"segment.bytes": 65536, "runnel.flush.on.ack": "true"})
    tag = uuid.uuid4().hex[:6]
    delivered: dict[int, bytes] = {}
    for rnd in range(2):
        kill_after = random.randint(1000, 3000)
        n = _produce_until_killed(b, topic, rnd, tag, kill_after, delivered)
        assert n >= kill_after
        b.start()
        _wait_serving(b, topic)
        high = _verify(b, topic, delivered)
        assert high >= len(delivered)
        print(f"round {rnd}: killed after {n} durable acknowledgements; high watermark {high} after recovery")
