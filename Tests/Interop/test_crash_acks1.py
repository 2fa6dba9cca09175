"""kill -9 during an acks=1 produce stream, three times on the same log dir.

acks=1 acknowledges once the leader appended the batch to its log (page cache); a process
crash (not an OS crash) must not lose it. After each restart the recovered log must hold every
acknowledged record at its acknowledged offset, offsets 0..high watermark-1 must be contiguous,
and a consumer with check.crcs=true must read everything without an error (recovery truncates
a torn tail batch instead of serving it). The segment files themselves must parse as whole
batches with valid CRCs."""

from __future__ import annotations

import random
import threading
import time
import uuid

from confluent_kafka import KafkaError, TopicPartition

from storage_util import ck_consumer, ck_producer, create_topic, disk_batches, partition_dir, watermarks

ROUNDS = 3
SEGMENT_BYTES = 65536


def _produce_until_killed(b, topic, rnd: int, tag: str, kill_after: int, delivered: dict[int, bytes]) -> int:
    """Produce continuously with acks=1; a thread kills the broker (SIGKILL) once
    `kill_after` deliveries of this round were reported, plus a random 0-30 ms.
    Returns the number of deliveries this round."""
    count = [0]
    errors = [0]
    killed = threading.Event()

    def on_delivery(err, msg):
        if err is None:
            off = msg.offset()
            assert off not in delivered, f"offset {off} delivered twice"
            delivered[off] = msg.value()
            count[0] += 1
        else:
            errors[0] += 1

    def killer():
        while count[0] < kill_after and not killed.is_set():
            time.sleep(0.001)
        time.sleep(random.uniform(0, 0.03))
        b.kill9()
        killed.set()

    p = ck_producer(b.bootstrap, **{"acks": 1, "linger.ms": 2, "batch.num.messages": 200,
                                    "enable.idempotence": False, "message.timeout.ms": 3000,
                                    "request.timeout.ms": 2000, "retries": 0})
    t = threading.Thread(target=killer, daemon=True)
    t.start()
    i = 0
    deadline = time.monotonic() + 20
    try:
        while not killed.is_set():
            assert time.monotonic() < deadline, f"only {count[0]} deliveries in 20s (wanted {kill_after})"
            v = f"r{rnd}-{i:07d}-{tag}-".encode() + b"x" * (i % 97)
            try:
                p.produce(topic, partition=0, value=v, on_delivery=on_delivery)
                i += 1
            except BufferError:
                p.poll(0.01)
            p.poll(0)
        # acks that reached the client before the kill are still queued as delivery reports
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            p.poll(0.05)
        p.purge(in_queue=True, in_flight=True)
        p.poll(0.1)
        p.flush(0)
        p.close()
    finally:
        t.join(5)
        killed.set()
    return count[0]


def _verify(b, topic, delivered: dict[int, bytes]) -> int:
    low, high = watermarks(b.bootstrap, topic)
    assert low == 0
    assert high >= (max(delivered) + 1 if delivered else 0), (
        f"high watermark {high} after restart, but offset {max(delivered)} was acknowledged")

    c = ck_consumer(b.bootstrap, **{"check.crcs": True, "enable.partition.eof": True,
                                    "auto.offset.reset": "error"})
    seen: dict[int, bytes] = {}
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF and m.offset() >= high:
                    break
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"consumer error after {len(seen)} records: {m.error()!r}")
            assert m.offset() not in seen, f"offset {m.offset()} returned twice"
            seen[m.offset()] = m.value()
    finally:
        c.close()

    offsets = sorted(seen)
    assert offsets == list(range(high)), (
        f"offsets not contiguous 0..{high - 1}: {len(offsets)} records, "
        f"first gaps {[o for o in range(high) if o not in seen][:10]}")
    lost = [o for o, v in delivered.items() if seen.get(o) != v]
    assert not lost, (f"{len(lost)} acknowledged records lost or changed, e.g. "
                      f"{[(o, delivered[o][:20], (seen.get(o) or b'')[:20]) for o in sorted(lost)[:5]]}")

    # the recovered segments are whole batches with valid CRCs, nothing trailing
    d = partition_dir(b, topic)
    batches = disk_batches(d)
    bad = [(x["segment"], x["position"]) for x in batches if x.get("crc_ok") is False or x.get("error")]
    assert not bad, f"batches with a bad CRC on disk after recovery: {bad[:5]}"
    by_seg: dict[int, int] = {}
    for x in batches:
        by_seg[x["segment"]] = x["position"] + 12 + x["batch_length"]
    for seg, end in by_seg.items():
        size = (d / f"{seg:020d}.log").stat().st_size
        assert size == end, f"segment {seg}: {size - end} trailing bytes after the last whole batch"
    return high


def test_kill9_during_acks1_produce(broker_factory, topic):
    b = broker_factory({"log.flush.offset.checkpoint.interval.ms": 500})
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES})
    tag = uuid.uuid4().hex[:6]
    rng = random.Random()
    delivered: dict[int, bytes] = {}
    started = time.monotonic()
    for rnd in range(ROUNDS):
        kill_after = rng.randint(2000, 5000)
        n = _produce_until_killed(b, topic, rnd, tag, kill_after, delivered)
        assert n >= kill_after
        b.start()
        high = _verify(b, topic, delivered)
        assert high >= len(delivered)
        print(f"round {rnd}: killed after {n} deliveries (target {kill_after}); "
              f"{len(delivered)} acknowledged in all, high watermark {high} after recovery")
    assert time.monotonic() - started < 60


def test_recovery_truncates_a_torn_tail_and_a_corrupt_last_batch(broker_factory, topic):
    """After kill -9 the unflushed active segment is recovered from its start: a partial batch
    at the end (torn write) is cut off, and so is everything from the first batch that fails
    its CRC. Offsets then continue from the truncation point."""
    from storage_util import ck_produce, ck_read, segment_path

    b = broker_factory()
    create_topic(b.bootstrap, topic, {})
    d = partition_dir(b, topic)
    p = ck_producer(b.bootstrap, **{"batch.num.messages": 20, "linger.ms": 1000})
    msgs = [{"value": f"torn-{i}-".encode().ljust(80, b"t")} for i in range(200)]
    res = ck_produce(p, topic, msgs, flush_each=20)
    assert [r[1] for r in res] == list(range(200))
    p.close()
    seg = segment_path(d, 0)

    # 1. torn write: the first 40 bytes of a would-be batch at the end
    b.kill9()
    good = seg.stat().st_size
    with open(seg, "ab") as f:
        f.write((200).to_bytes(8, "big") + (900).to_bytes(4, "big") + b"\x00\x00\x00\x00\x02" + b"\x11" * 23)
    b.start()
    assert watermarks(b.bootstrap, topic) == (0, 200)
    assert seg.stat().st_size == good, f"torn tail not truncated: {seg.stat().st_size} bytes, want {good}"
    got = ck_read(b.bootstrap, topic, 0, 200, extra={"check.crcs": True})
    assert [m.value() for m in got] == [m["value"] for m in msgs]
    p = ck_producer(b.bootstrap)
    assert ck_produce(p, topic, [{"value": b"after-torn"}])[0][1] == 200
    p.close()

    # 2. a flipped byte inside the batch at offsets 160..179: it and everything after it go
    b.kill9()
    batches = disk_batches(d)
    victim = [x for x in batches if x["base_offset"] == 160][0]
    pos = victim["position"] + 12 + victim["batch_length"] - 20
    buf = bytearray(seg.read_bytes())
    buf[pos] ^= 0x01
    seg.write_bytes(bytes(buf))
    b.start()
    assert watermarks(b.bootstrap, topic) == (0, 160), "recovery should truncate at the corrupt batch"
    assert seg.stat().st_size == victim["position"]
    got = ck_read(b.bootstrap, topic, 0, 160, extra={"check.crcs": True})
    assert [m.value() for m in got] == [m["value"] for m in msgs[:160]]
    p = ck_producer(b.bootstrap)
    assert ck_produce(p, topic, [{"value": b"after-corrupt"}])[0][1] == 160
    p.close()


def test_sigterm_while_clients_connect_is_a_clean_shutdown(broker_factory, topic):
    """SIGTERM while connections keep arriving must still be a clean shutdown: exit code 0,
    checkpoints and the clean shutdown marker (.kafka_cleanshutdown) written, so the next start
    skips recovery. (Clients reconnecting during a restart is the normal case.)"""
    import socket
    from pathlib import Path

    from storage_util import ck_produce

    b = broker_factory()
    create_topic(b.bootstrap, topic, {})
    p = ck_producer(b.bootstrap)
    ck_produce(p, topic, [{"value": b"x"}])
    p.close()
    codes = []
    for _ in range(3):
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    s = socket.create_connection(("127.0.0.1", b.port), timeout=0.5)
                    time.sleep(0.05)
                    s.close()
                except OSError:
                    time.sleep(0.005)

        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(16)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        codes.append(b.stop())
        marker = (Path(b.log_dir) / ".kafka_cleanshutdown").exists()
        stop.set()
        for t in threads:
            t.join(2)
        assert codes[-1] == 0, f"exit codes on SIGTERM with connecting clients: {codes}"
        assert marker, "no clean shutdown marker after SIGTERM"
        b.start()
    assert watermarks(b.bootstrap, topic) == (0, 1)
