"""Retention (retention.ms / retention.bytes), segment deletion on disk, and DeleteRecords
(API 21) with confluent-kafka and kafka-python; the log start offset survives restarts.

Kafka semantics asserted here:
* retention.ms deletes a segment once `now - segment.largestTimestamp > retention.ms`
  (record timestamps, CreateTime); when every segment has expired the active segment is
  rolled and deleted too, leaving one empty segment at the log end offset.
* retention.bytes deletes the oldest segments while the log stays >= retention.bytes
  without them.
* deleted segments are renamed `*.deleted` and removed `file.delete.delay.ms` later;
  the low watermark (log start offset) is the base offset of the oldest live segment.
* DeleteRecords moves the log start offset to the requested offset (OFFSET_END/-1 means the
  high watermark), never backwards; an offset above the high watermark is
  OFFSET_OUT_OF_RANGE; a fetch below the log start offset is OFFSET_OUT_OF_RANGE.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, KafkaException, TopicPartition

from storage_util import (
    ck_admin,
    ck_consumer,
    ck_produce,
    ck_producer,
    ck_read,
    create_topic,
    deleted_files,
    live_log_bytes,
    partition_dir,
    segment_bases,
    wait_for,
    watermarks,
)

# retention checks twice a second, deleted files removed quickly, checkpoints frequent
BROKER = {
    "log.retention.check.interval.ms": 500,
    "log.segment.delete.delay.ms": 200,
    "log.flush.offset.checkpoint.interval.ms": 200,
    "log.flush.start.offset.checkpoint.interval.ms": 200,
}
SEGMENT_BYTES = 16384
# ~20 records of ~230 bytes per batch: ~3 batches (~60 records) per 16 KiB segment
PRODUCER = {"batch.num.messages": 20, "linger.ms": 5}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _value(tag: str, kind: str, i: int) -> bytes:
    return f"{kind}-{i:05d}-{tag}-".encode().ljust(200, b"r")


def _produce(b, topic, msgs):
    p = ck_producer(b.bootstrap, **PRODUCER)
    res = ck_produce(p, topic, msgs)
    offs = [r[1] for r in res]
    assert offs == list(range(len(msgs))), "unexpected produce offsets"
    return res


def _assert_tail_intact(b, topic, msgs, low, high):
    """Consuming from OFFSET_BEGINNING starts at `low` and returns msgs[low:high] unchanged."""
    got = ck_read(b.bootstrap, topic, OFFSET_BEGINNING, high)
    assert got, "nothing consumed from OFFSET_BEGINNING"
    assert got[0].offset() == low, f"consumption from the beginning started at {got[0].offset()}, low watermark {low}"
    assert [m.offset() for m in got] == list(range(low, high))
    assert [m.value() for m in got] == [m["value"] for m in msgs[low:high]]
    want_ts = [m.get("timestamp") for m in msgs[low:high]]
    if all(t is not None for t in want_ts):
        assert [m.timestamp()[1] for m in got] == want_ts


def _assert_oldest_segment_holds(d, offset):
    bases = segment_bases(d)
    assert bases, f"no live segment in {d}: {sorted(os.listdir(d))}"
    assert bases[0] <= offset and (len(bases) == 1 or bases[1] > offset), (
        f"oldest live segment should contain offset {offset}; live segment bases {bases}")


# ---------------------------------------------------------------------------------------
# retention.ms
# ---------------------------------------------------------------------------------------


def test_retention_ms_deletes_expired_segments_and_low_watermark_survives_restart(broker_factory, topic):
    """Old-CreateTime records fill many segments, then fresh records follow. Every segment
    made only of old records expires at the first retention check; the segment holding the
    first fresh record and everything after it stays (retention.ms=60s outlasts the test)."""
    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES, "retention.ms": 60000,
                                      "file.delete.delay.ms": 200})
    tag = uuid.uuid4().hex[:6]
    n_old, n_new = 1200, 150
    now = _now_ms()
    msgs = ([{"value": _value(tag, "old", i), "timestamp": now - 3_600_000 + i} for i in range(n_old)]
            + [{"value": _value(tag, "new", i), "timestamp": now + i} for i in range(n_new)])
    n = len(msgs)
    _produce(b, topic, msgs)
    d = partition_dir(b, topic)

    # final state: every segment made only of old records is gone, the oldest live segment
    # holds the first fresh record, and the low watermark is its base offset (retention may
    # take several passes to get there)
    def state():
        return watermarks(b.bootstrap, topic), segment_bases(d), deleted_files(d)

    def settled(v):
        (low, _), bases, dele = v
        return (bool(bases) and low == bases[0] and bases[0] <= n_old
                and (len(bases) == 1 or bases[1] > n_old) and not dele)

    (low, high), _, _ = wait_for(state, settled, 15,
                                 f"segments older than offset {n_old} deleted and their files removed")
    assert 0 < low <= n_old
    assert high == n
    _assert_oldest_segment_holds(d, n_old)
    bases = segment_bases(d)
    assert not [f for f in os.listdir(d) if f.endswith((".index", ".timeindex"))
                and int(f.split(".")[0]) < low], "index files of deleted segments left behind"
    assert bases[-1] <= n - 1, f"active segment (base {bases[-1]}) should hold the last record {n - 1}"
    assert len(bases) >= 2, f"fresh records span several 16 KiB segments; live bases {bases}"

    _assert_tail_intact(b, topic, msgs, low, n)
    assert watermarks(b.bootstrap, topic) == (low, n), "retention deleted more than the expired segments"

    # the log start offset is persisted
    code = b.restart()
    assert watermarks(b.bootstrap, topic) == (low, n), "low watermark changed across a graceful restart"
    assert segment_bases(d)[0] == low
    _assert_tail_intact(b, topic, msgs, low, n)
    assert code == 0, f"broker exit code {code} on SIGTERM (expected a clean 0 exit)"


def test_retention_ms_expires_the_active_segment_too(broker_factory, topic):
    """With every record expired Kafka rolls the active segment and deletes it as well:
    low watermark == high watermark == log end offset and one empty segment remains at
    the log end offset; offsets continue from there."""
    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES, "retention.ms": 2000,
                                      "file.delete.delay.ms": 200})
    tag = uuid.uuid4().hex[:6]
    msgs = [{"value": _value(tag, "soon-expired", i)} for i in range(500)]
    n = len(msgs)
    _produce(b, topic, msgs)
    d = partition_dir(b, topic)
    assert len(segment_bases(d)) >= 3 or watermarks(b.bootstrap, topic)[0] > 0, \
        f"expected several segments before retention: {segment_bases(d)}"

    c = ck_consumer(b.bootstrap)
    try:
        w = wait_for(lambda: watermarks(b.bootstrap, topic, consumer=c), lambda w: w[0] == n, 15,
                     f"all {n} records to expire (low watermark == {n})")
    finally:
        c.close()
    assert w == (n, n)
    wait_for(lambda: (segment_bases(d), deleted_files(d)), lambda v: v[0] == [n] and not v[1], 15,
             f"only an empty segment at base {n} left in {d}")
    assert os.path.getsize(d / f"{n:020d}.log") == 0

    # records stamped an hour ahead cannot expire while the test reads them back
    later = _now_ms() + 3_600_000
    more = [{"value": f"after-expiry-{i}-{tag}".encode(), "timestamp": later + i} for i in range(3)]
    p = ck_producer(b.bootstrap)
    res = ck_produce(p, topic, more)
    assert [r[1] for r in res] == [n, n + 1, n + 2], "offsets must continue from the log end offset"
    got = ck_read(b.bootstrap, topic, OFFSET_BEGINNING, n + 3)
    assert [(m.offset(), m.value()) for m in got] == [(n + i, m["value"]) for i, m in enumerate(more)]


def test_deleted_segments_are_renamed_then_removed_after_file_delete_delay(broker_factory, topic):
    """file.delete.delay.ms=3000: expired segments first become `<base>.log.deleted`
    (with their indexes) and stay so for about the delay before they are removed."""
    delay_ms = 3000
    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES, "retention.ms": 60000,
                                      "file.delete.delay.ms": delay_ms})
    d = partition_dir(b, topic)
    seen: dict[str, list[float]] = {}  # name -> [first seen, last seen]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            t = time.monotonic()
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                names = []
            for name in names:
                if name.endswith(".deleted"):
                    seen.setdefault(name, [t, t])[1] = t
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        tag = uuid.uuid4().hex[:6]
        now = _now_ms()
        msgs = ([{"value": _value(tag, "old", i), "timestamp": now - 3_600_000 + i} for i in range(600)]
                + [{"value": _value(tag, "new", i), "timestamp": now + i} for i in range(100)])
        _produce(b, topic, msgs)
        wait_for(lambda: dict(seen), lambda s: any(k.endswith(".log.deleted") for k in s), 12,
                 "expired segments renamed to *.log.deleted")
        # final state: the oldest live segment holds offset 600, the first fresh record
        bases = wait_for(lambda: segment_bases(d), lambda v: v and v[0] <= 600 and (len(v) == 1 or v[1] > 600),
                         12, "all-old segments deleted")
        wait_for(lambda: deleted_files(d), lambda v: not v, 15, "*.deleted files removed")
        low = watermarks(b.bootstrap, topic)[0]
        assert low == bases[0] > 0
        time.sleep(0.2)
    finally:
        stop.set()
        watcher.join(2)

    logs = sorted(k for k in seen if k.endswith(".log.deleted"))
    for name in logs:
        base = int(name.split(".")[0])
        assert base < low, (f"{name} renamed but the low watermark is {low}; live segments {segment_bases(d)}; "
                            f".deleted seen (first, last): {sorted(seen.items())}")
        assert not (d / f"{base:020d}.log").exists(), f"{name} renamed but {base:020d}.log still live"
    assert any(k.endswith(".index.deleted") for k in seen), f"no .index renamed along with the .log: {sorted(seen)}"
    assert any(k.endswith(".timeindex.deleted") for k in seen), f"no .timeindex renamed: {sorted(seen)}"
    # a file seen .deleted for less than half the delay was removed too early
    lifetimes = {k: round(v[1] - v[0], 2) for k, v in seen.items()}
    assert max(lifetimes.values()) >= delay_ms / 1000 / 2, (
        f".deleted files removed well before file.delete.delay.ms={delay_ms}: {lifetimes}")


def test_leftover_deleted_files_are_removed_at_startup(broker_factory, topic):
    """A crash between the `.deleted` rename and the delayed removal leaves `*.deleted` files;
    Kafka's log loader deletes such stray files when the log is opened."""
    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES, "retention.ms": 60000,
                                      "file.delete.delay.ms": 600_000})
    d = partition_dir(b, topic)
    tag = uuid.uuid4().hex[:6]
    now = _now_ms()
    msgs = ([{"value": _value(tag, "old", i), "timestamp": now - 3_600_000 + i} for i in range(400)]
            + [{"value": _value(tag, "new", i), "timestamp": now + i} for i in range(100)])
    n = len(msgs)
    _produce(b, topic, msgs)
    bases = wait_for(lambda: segment_bases(d), lambda v: v and v[0] <= 400 and (len(v) == 1 or v[1] > 400),
                     12, "all-old segments deleted")
    assert deleted_files(d), "file.delete.delay.ms=600000: the renamed segments should still be there"
    low = watermarks(b.bootstrap, topic)[0]
    assert low == bases[0] > 0
    time.sleep(1.0)  # start offset checkpoint interval is 200 ms
    b.kill9()
    b.start()
    wait_for(lambda: deleted_files(d), lambda v: not v, 5, "stray *.deleted files removed at startup")
    assert segment_bases(d)[0] == low
    assert watermarks(b.bootstrap, topic) == (low, n)
    _assert_tail_intact(b, topic, msgs, low, n)


# ---------------------------------------------------------------------------------------
# retention.bytes
# ---------------------------------------------------------------------------------------


def test_retention_bytes_keeps_the_newest_segments(broker_factory, topic):
    retention_bytes = 3 * SEGMENT_BYTES
    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES, "retention.bytes": retention_bytes,
                                      "retention.ms": -1, "file.delete.delay.ms": 200})
    tag = uuid.uuid4().hex[:6]
    msgs = [{"value": _value(tag, "bytes", i)} for i in range(1200)]  # ~280 KB
    n = len(msgs)
    _produce(b, topic, msgs)
    d = partition_dir(b, topic)

    def state():
        sizes = live_log_bytes(d)
        return sizes, watermarks(b.bootstrap, topic), deleted_files(d)

    def settled(v):
        sizes, (low, _), dele = v
        if not sizes or low == 0 or dele:
            return False
        oldest = min(sizes)
        return low == oldest and sum(sizes.values()) - sizes[oldest] < retention_bytes

    sizes, (low, high), _ = wait_for(state, settled, 12, f"retention.bytes={retention_bytes} to be enforced")
    total = sum(sizes.values())
    assert total >= retention_bytes, f"retention deleted too much: {total} bytes left < retention.bytes {retention_bytes}"
    assert high == n
    _assert_tail_intact(b, topic, msgs, low, n)

    b.restart()
    assert watermarks(b.bootstrap, topic) == (low, n)


# ---------------------------------------------------------------------------------------
# DeleteRecords
# ---------------------------------------------------------------------------------------


def _delete_records_ck(admin, topic, offset):
    fs = admin.delete_records([TopicPartition(topic, 0, offset)], request_timeout=10, operation_timeout=10)
    assert len(fs) == 1
    (f,) = fs.values()
    return f.result(timeout=15)


def _assert_fetch_below_start_is_out_of_range_ck(b, topic, offset, low):
    c = ck_consumer(b.bootstrap, **{"auto.offset.reset": "error", "enable.partition.eof": False})
    try:
        c.assign([TopicPartition(topic, 0, offset)])
        deadline = time.monotonic() + 15
        err = None
        while time.monotonic() < deadline and err is None:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                err = m.error()
                break
            raise AssertionError(f"fetch at {offset} below low watermark {low} returned a record at {m.offset()}")
        assert err is not None, f"no consumer error for a fetch at {offset} below the low watermark {low}"
        # librdkafka turns OFFSET_OUT_OF_RANGE with auto.offset.reset=error into _AUTO_OFFSET_RESET
        assert err.code() in (KafkaError._AUTO_OFFSET_RESET, KafkaError.OFFSET_OUT_OF_RANGE), err
    finally:
        c.close()


def test_delete_records_confluent(broker_factory, topic):
    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES, "file.delete.delay.ms": 200})
    tag = uuid.uuid4().hex[:6]
    base_ts = _now_ms() - 600_000
    msgs = [{"value": _value(tag, "dr", i), "key": f"k{i % 7}".encode(), "timestamp": base_ts + 10 * i}
            for i in range(1000)]
    n = len(msgs)
    _produce(b, topic, msgs)
    admin = ck_admin(b.bootstrap)

    dr = _delete_records_ck(admin, topic, 437)
    assert dr.low_watermark == 437
    assert watermarks(b.bootstrap, topic) == (437, n)
    _assert_tail_intact(b, topic, msgs, 437, n)

    # timestamp lookups never answer an offset below the log start offset
    c = ck_consumer(b.bootstrap)
    try:
        found = c.offsets_for_times([TopicPartition(topic, 0, base_ts + 10 * 100),
                                     TopicPartition(topic, 0, base_ts + 10 * 436 + 5)], timeout=10)
        assert [tp.offset for tp in found] == [437, 437], found
        (tp,) = c.offsets_for_times([TopicPartition(topic, 0, base_ts + 10 * 600)], timeout=10)
        assert tp.offset == 600
    finally:
        c.close()
    _assert_fetch_below_start_is_out_of_range_ck(b, topic, 100, 437)

    # never backwards: a smaller offset is a no-op that reports the current low watermark
    assert _delete_records_ck(admin, topic, 200).low_watermark == 437
    assert watermarks(b.bootstrap, topic) == (437, n)

    # above the high watermark
    with pytest.raises(KafkaException) as ei:
        _delete_records_ck(admin, topic, n + 5)
    assert ei.value.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE, ei.value
    assert watermarks(b.bootstrap, topic) == (437, n)

    # segments wholly below the log start offset are deleted by the retention check
    d = partition_dir(b, topic)
    wait_for(lambda: (segment_bases(d), deleted_files(d)),
             lambda v: v[0] and v[0][0] <= 437 and (len(v[0]) == 1 or v[0][1] > 437) and not v[1], 15,
             "segments below the log start offset 437 removed")

    code = b.restart()
    assert watermarks(b.bootstrap, topic) == (437, n), "DeleteRecords low watermark lost on restart"
    _assert_tail_intact(b, topic, msgs, 437, n)

    # and the log continues
    p = ck_producer(b.bootstrap)
    res = ck_produce(p, topic, [{"value": b"after-restart"}])
    assert res[0][1] == n
    assert code == 0, f"broker exit code {code} on SIGTERM (expected a clean 0 exit)"


def test_delete_records_to_high_watermark_confluent(broker_factory, topic):
    """OFFSET_END (-1) deletes everything up to the high watermark."""
    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES})
    tag = uuid.uuid4().hex[:6]
    msgs = [{"value": _value(tag, "all", i)} for i in range(300)]
    n = len(msgs)
    _produce(b, topic, msgs)
    dr = _delete_records_ck(ck_admin(b.bootstrap), topic, OFFSET_END)
    assert dr.low_watermark == n
    assert watermarks(b.bootstrap, topic) == (n, n)

    p = ck_producer(b.bootstrap)
    res = ck_produce(p, topic, [{"value": b"x1"}, {"value": b"x2"}])
    assert [r[1] for r in res] == [n, n + 1]
    got = ck_read(b.bootstrap, topic, OFFSET_BEGINNING, n + 2)
    assert [(m.offset(), m.value()) for m in got] == [(n, b"x1"), (n + 1, b"x2")]


def test_delete_records_kafka_python_survives_kill9(broker_factory, topic):
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP
    from kafka.admin import KafkaAdminClient
    from kafka.errors import OffsetOutOfRangeError

    from interop_util import KP_COMMON

    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES})
    tag = uuid.uuid4().hex[:6]
    msgs = [{"value": _value(tag, "kp", i)} for i in range(800)]
    n = len(msgs)
    _produce(b, topic, msgs)
    tp = KTP(topic, 0)

    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=10000)
    try:
        res = admin.delete_records({tp: 300}, timeout_ms=10000)
    finally:
        admin.close()
    assert res[tp]["low_watermark"] == 300, res
    assert res[tp]["error_code"] == 0, res

    c = KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="none", fetch_max_wait_ms=100, **KP_COMMON)
    try:
        assert c.beginning_offsets([tp], timeout_ms=10000) == {tp: 300}
        assert c.end_offsets([tp], timeout_ms=10000) == {tp: n}
        c.assign([tp])
        c.seek(tp, 50)
        with pytest.raises(OffsetOutOfRangeError):
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                recs = c.poll(timeout_ms=500)
                assert not recs, f"records returned for a fetch below the low watermark: {recs}"
    finally:
        c.close()

    # log.flush.start.offset.checkpoint.interval.ms=200: the checkpoint is on disk by now
    time.sleep(1.5)
    b.kill9()
    b.start()
    assert watermarks(b.bootstrap, topic) == (300, n), "low watermark lost after kill -9"
    _assert_tail_intact(b, topic, msgs, 300, n)
