"""Client quotas (KIP-13, KIP-55, KIP-546) against real clients.

Neither confluent-kafka nor kafka-python has the client quota admin calls, so AlterClientQuotas and
DescribeClientQuotas (v1) are encoded here from Kafka's message schemas.

* A producer_byte_rate quota on client id "greedy": two confluent-kafka producers ("greedy" and
  "free") produce as fast as they can at the same time; greedy's acknowledged throughput is near
  its quota, free's is many times higher, and librdkafka sees throttle_time_ms (its `throttle`
  statistics).
* A consumer_byte_rate quota through the default client id entity throttles a consumer to it.
* Quotas are in the metadata log: after a restart DescribeClientQuotas lists them again.
"""

from __future__ import annotations

import json
import re
import struct
import threading
import time
import urllib.request
import uuid

import kafka_wire as kw
from storage_util import ck_consumer, ck_producer, create_topic

PRODUCE_QUOTA = 256 * 1024          # bytes per second
CONSUME_QUOTA = 512 * 1024
OVERRIDES = {"quota.window.num": 4, "quota.window.size.seconds": 1}


def _entity(w: kw.Writer, entity: list[tuple[str, str | None]]) -> None:
    w.uvarint(len(entity) + 1)
    for etype, name in entity:
        w.compact_string(etype).compact_string(name).tags()


def alter_client_quotas(broker, entries: list[tuple[list[tuple[str, str | None]], list[tuple[str, float, bool]]]],
                        validate_only: bool = False) -> list[tuple[int, str | None]]:
    w = kw.Writer().uvarint(len(entries) + 1)
    for entity, ops in entries:
        _entity(w, entity)
        w.uvarint(len(ops) + 1)
        for key, value, remove in ops:
            w.compact_string(key).raw(struct.pack(">d", value)).bool(remove).tags()
        w.tags()
    w.bool(validate_only).tags()
    s = kw.connect(broker.host, broker.port)
    try:
        resp = kw.request(s, kw.request_header(49, 1, 11) + w.bytes())
    finally:
        s.close()
    r = kw.Reader(resp)
    assert r.int32() == 11
    r.tags()
    r.int32()  # throttle_time_ms

    def entry():
        code, message = r.int16(), r.compact_string()
        r.array(True, lambda: (r.compact_string(), r.compact_string(), r.tags()))
        r.tags()
        return code, message
    return r.array(True, entry)


def describe_client_quotas(broker, components: list[tuple[str, int, str | None]], strict: bool = False) -> dict:
    w = kw.Writer().uvarint(len(components) + 1)
    for etype, match_type, match in components:
        w.compact_string(etype).int8(match_type).compact_string(match).tags()
    w.bool(strict).tags()
    s = kw.connect(broker.host, broker.port)
    try:
        resp = kw.request(s, kw.request_header(48, 1, 12) + w.bytes())
    finally:
        s.close()
    r = kw.Reader(resp)
    assert r.int32() == 12
    r.tags()
    r.int32()
    code, message = r.int16(), r.compact_string()
    assert code == 0, (code, message)

    def entry():
        entity = r.array(True, lambda: (r.compact_string(), r.compact_string(), r.tags())[:2])
        values = r.array(True, lambda: (r.compact_string(), struct.unpack(">d", r.take(8))[0], r.tags())[:2])
        r.tags()
        return tuple(tuple(c) for c in entity), dict(values)
    return dict(r.array(True, entry))


def _produce_flat_out(bootstrap: str, topic: str, client_id: str, seconds: float, acked: list, throttles: list) -> None:
    """Keeps librdkafka's queue full for `seconds`; records (time, bytes) of each acknowledgement."""
    def on_stats(raw: str) -> None:
        for b in json.loads(raw).get("brokers", {}).values():
            if b.get("nodeid", -1) >= 0:
                throttles.append(b.get("throttle", {}).get("max", 0))

    p = ck_producer(bootstrap, **{"client.id": client_id, "acks": 1, "linger.ms": 5, "batch.size": 65536,
                                  "queue.buffering.max.kbytes": 2048, "statistics.interval.ms": 500,
                                  "stats_cb": on_stats, "message.timeout.ms": 60000})
    value = b"q" * 4096

    def delivered(err, msg):
        if err is None:
            acked.append((time.monotonic(), len(msg.value())))

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            p.produce(topic, value=value, on_delivery=delivered)
        except BufferError:
            p.poll(0.05)
            continue
        p.poll(0)
    p.purge()
    p.flush(10)


def _rate(acked: list, start: float, end: float) -> float:
    return sum(n for t, n in acked if start <= t < end) / (end - start)


def test_producer_over_its_quota_is_throttled_and_others_are_not(broker_factory):
    broker = broker_factory(OVERRIDES)
    topic = f"quota-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap, topic)
    assert alter_client_quotas(broker, [([("client-id", "greedy")], [("producer_byte_rate", PRODUCE_QUOTA, False)])]) == [(0, None)]
    assert describe_client_quotas(broker, [("client-id", 0, "greedy")]) == {
        (("client-id", "greedy"),): {"producer_byte_rate": float(PRODUCE_QUOTA)}}
    # Bad requests are answered per entry.
    assert [c for c, _ in alter_client_quotas(broker, [([("client-id", "x")], [("producer_byte_rate", 1.5, False)]),
                                                      ([("ip", None)], [("connection_creation_rate", 5, False)])])] == [42, 42]

    acked = {"greedy": [], "free": []}
    throttles = {"greedy": [], "free": []}
    seconds = 10.0
    started = time.monotonic()
    threads = [threading.Thread(target=_produce_flat_out, args=(broker.bootstrap, topic, c, seconds, acked[c], throttles[c]))
               for c in ("greedy", "free")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    # Skip the first windows: a new sensor spreads its first burst over the span (KIP-13).
    window = (started + 4, started + seconds)
    greedy, free = _rate(acked["greedy"], *window), _rate(acked["free"], *window)
    print(f"greedy {greedy / 1024:.0f} KiB/s (quota {PRODUCE_QUOTA / 1024:.0f} KiB/s), free {free / 1024:.0f} KiB/s; "
          f"greedy throttle max {max(throttles['greedy'], default=0)} ms, free {max(throttles['free'], default=0)} ms")
    assert 0.5 * PRODUCE_QUOTA <= greedy <= 1.6 * PRODUCE_QUOTA
    assert free >= 5 * PRODUCE_QUOTA
    assert max(throttles["greedy"], default=0) > 0, "librdkafka saw no throttle_time_ms"
    assert max(throttles["free"], default=0) == 0
    metrics = urllib.request.urlopen(broker.metrics_url, timeout=5).read().decode()
    throttled = re.search(r"^runnel_requests_throttled_total (\d+)", metrics, re.M)
    assert throttled and int(throttled.group(1)) > 0, "runnel_requests_throttled_total"

    broker.restart()
    assert describe_client_quotas(broker, [("client-id", 0, "greedy")]) == {
        (("client-id", "greedy"),): {"producer_byte_rate": float(PRODUCE_QUOTA)}}


def test_consumer_over_its_default_quota_is_throttled(broker_factory):
    broker = broker_factory(OVERRIDES)
    topic = f"quota-c-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap, topic)
    p = ck_producer(broker.bootstrap, **{"linger.ms": 20})
    for _ in range(1500):                      # ~6 MiB
        p.produce(topic, value=b"c" * 4096)
    assert p.flush(30) == 0
    assert alter_client_quotas(broker, [([("client-id", None)], [("consumer_byte_rate", CONSUME_QUOTA, False)])]) == [(0, None)]
    assert describe_client_quotas(broker, [("client-id", 1, None)], strict=True) == {
        (("client-id", None),): {"consumer_byte_rate": float(CONSUME_QUOTA)}}

    c = ck_consumer(broker.bootstrap, **{"client.id": "reader", "group.id": f"g-{uuid.uuid4().hex[:6]}",
                                         "auto.offset.reset": "earliest", "fetch.max.bytes": 1048576,
                                         "max.partition.fetch.bytes": 262144})
    c.subscribe([topic])
    got = []
    started = time.monotonic()
    while time.monotonic() - started < 8:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            got.append((time.monotonic(), len(m.value())))
    c.close()
    rate = _rate(got, started + 4, started + 8)
    print(f"consumer {rate / 1024:.0f} KiB/s (quota {CONSUME_QUOTA / 1024:.0f} KiB/s), {sum(n for _, n in got)} bytes in all")
    assert 0.4 * CONSUME_QUOTA <= rate <= 1.6 * CONSUME_QUOTA


def _metadata_loop(broker, client_id: str, count: int, budget_s: float) -> tuple[float, int]:
    """Sends up to `count` Metadata requests one after another for at most about `budget_s`;
    returns the time taken and how many were answered."""
    s = kw.connect(broker.host, broker.port)
    try:
        started = time.monotonic()
        for i in range(count):
            if time.monotonic() - started > budget_s:
                return time.monotonic() - started, i
            resp = kw.request(s, kw.encode_metadata_request(1, i, None, client_id=client_id), timeout=15)
            assert int.from_bytes(resp[:4], "big") == i
        return time.monotonic() - started, count
    finally:
        s.close()


def test_request_percentage_holds_a_busy_client(broker_factory):
    """request_percentage=0.1 for client id "busy" (0.1% of a thread, 3 ms of handling in the
    3 s minimum span): its Metadata requests are answered, but held back once its handling time
    passes the quota; "free" is not held."""
    broker = broker_factory(OVERRIDES)
    assert alter_client_quotas(broker, [([("user", None), ("client-id", "busy")], [("request_percentage", 0.1, False)])]) == [(0, None)]
    free, free_done = _metadata_loop(broker, "free", 300, 10)
    # Enough requests that even a release build spends well over the 3 ms of handling the quota
    # allows (300 took 20 ms in all there, under the quota); the loop stops at its 3 s budget.
    busy, busy_done = _metadata_loop(broker, "busy", 5000, 3)
    free_rate, busy_rate = free_done / free, busy_done / busy
    print(f"Metadata requests: free {free_done} in {free:.2f} s ({free_rate:.0f}/s), "
          f"busy {busy_done} in {busy:.2f} s ({busy_rate:.0f}/s)")
    assert free_done == 300
    assert busy_done < 5000 and busy_rate < 0.25 * free_rate
