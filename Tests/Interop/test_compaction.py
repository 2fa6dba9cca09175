"""Log compaction (cleanup.policy=compact).

Kafka semantics asserted here:
* below the active segment the cleaner keeps only the newest record per key, at its
  original offset (offsets are never rewritten; the log start offset stays 0);
* a tombstone (null value) removes its key, and the tombstone itself disappears once it
  has been cleaned and delete.retention.ms (0 here) has passed;
* records in the active segment are never cleaned, so "tick" records on their own key are
  produced until segment.ms rolls the active segment past the data under test;
* a compacted topic rejects a record with a null key: INVALID_RECORD (87);
* compaction state survives a restart and compaction resumes afterwards.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError

from interop_util import kp_producer
from storage_util import ck_produce, ck_producer, ck_read, create_topic, watermarks

BROKER = {
    "log.cleaner.enable": True,
    "log.cleaner.backoff.ms": 200,
    "log.retention.check.interval.ms": 500,
    "log.segment.delete.delay.ms": 200,
}
TOPIC = {
    "cleanup.policy": "compact",
    "segment.ms": 100,
    "segment.bytes": 16384,
    "min.cleanable.dirty.ratio": 0.01,
    "delete.retention.ms": 0,
    "min.compaction.lag.ms": 0,
    "file.delete.delay.ms": 200,
}
TICK_KEY = b"__tick__"
COMPACT_DEADLINE = 40.0


class Model:
    """What a fully compacted log must look like: key -> (offset, value) of the last write."""

    def __init__(self) -> None:
        self.latest: dict[bytes, tuple[int, bytes | None]] = {}
        self.last_data_offset = -1
        self.offsets: set[int] = set()

    def record(self, key: bytes, offset: int, value) -> None:
        self.latest[key] = (offset, value)
        self.offsets.add(offset)
        self.last_data_offset = max(self.last_data_offset, offset)

    def survivors(self) -> list[tuple[int, bytes, bytes]]:
        return sorted((o, k, v) for k, (o, v) in self.latest.items() if v is not None)

    def tombstoned(self) -> set[bytes]:
        return {k for k, (_, v) in self.latest.items() if v is None}


def _write(producer, topic: str, model: Model, writes: list[tuple[bytes, bytes | None]]) -> None:
    futs = [(k, v, producer.send(topic, partition=0, key=k, value=v)) for k, v in writes]
    producer.flush(30)
    for k, v, f in futs:
        model.record(k, f.get(timeout=10).offset, v)


def _data_region(bootstrap, topic, model: Model):
    """Every non-tick record up to the model's last data offset, read from the beginning."""
    low, high = watermarks(bootstrap, topic)
    got = ck_read(bootstrap, topic, OFFSET_BEGINNING, high, timeout_s=10)
    data = [(m.offset(), m.key(), m.value()) for m in got
            if m.offset() <= model.last_data_offset and m.key() != TICK_KEY]
    return low, data


def _wait_compacted(bootstrap, topic, model: Model, tick_producer, deadline_s=COMPACT_DEADLINE):
    """Produce a tick every ~150 ms (each rolls the active segment, segment.ms=100) until the
    data region is exactly the model's survivors. Returns the last observed data region."""
    want = model.survivors()
    deadline = time.monotonic() + deadline_s
    last = None
    i = 0
    while True:
        for _ in range(3):
            tick_producer.send(topic, partition=0, key=TICK_KEY, value=f"tick-{i}".encode())
            i += 1
            tick_producer.flush(10)
            time.sleep(0.15)
        low, data = _data_region(bootstrap, topic, model)
        last = (low, data)
        if data == want:
            return last
        if time.monotonic() > deadline:
            break
    low, data = last
    keys_seen: dict[bytes, int] = {}
    for _, k, _ in data:
        keys_seen[k] = keys_seen.get(k, 0) + 1
    dups = {k: c for k, c in keys_seen.items() if c > 1}
    tomb = [(o, k) for o, k, v in data if v is None]
    stale = [(o, k) for o, k, v in data if k in model.latest and model.latest[k][0] != o]
    missing = [(o, k) for o, k, v in want if (o, k, v) not in data]
    raise AssertionError(
        f"log not compacted within {deadline_s}s: {len(data)} data records below the active segment, "
        f"want {len(want)}; keys with several records: {len(dups)} (e.g. {list(dups.items())[:3]}); "
        f"tombstones left: {tomb[:5]}; superseded records left: {stale[:5]}; survivors missing/changed: {missing[:5]}")


def test_compaction_keeps_latest_per_key_and_survives_restart(broker_factory, topic):
    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, TOPIC)
    tag = uuid.uuid4().hex[:6]
    model = Model()
    keys = [f"key-{i:02d}".encode() for i in range(20)]

    p = kp_producer(b.bootstrap, acks="all", linger_ms=5, enable_idempotence=False)
    try:
        for rnd in range(30):
            writes: list[tuple[bytes, bytes | None]] = []
            for j, k in enumerate(keys):
                if j >= 15 and rnd == 29:
                    writes.append((k, None))              # k15..k19 end as tombstones
                elif j == 14 and rnd == 20:
                    writes.append((k, None))              # k14: tombstone, then written again
                else:
                    writes.append((k, f"{k.decode()}-r{rnd}-{tag}-".encode().ljust(100, b"v")))
            _write(p, topic, model, writes)
        assert model.last_data_offset == 30 * 20 - 1
        assert model.latest[keys[14]][1] is not None
        assert model.tombstoned() == set(keys[15:])

        low, data = _wait_compacted(b.bootstrap, topic, model, p)
        assert low == 0, f"compaction must not move the log start offset (low watermark {low})"
        assert {k for _, k, _ in data}.isdisjoint(model.tombstoned())

        # compacted state and progress survive a restart
        code = b.restart()  # asserted at the end, so a crash on SIGTERM doesn't hide the rest
        # Kafka's cleaner-offset-checkpoint ("0", count, "<topic> <partition> <first dirty offset>")
        ckpt = Path(b.log_dir) / "cleaner-offset-checkpoint"
        assert ckpt.exists(), f"no {ckpt.name} in {b.log_dir}"
        entries = {tuple(ln.split()[:2]): int(ln.split()[2]) for ln in ckpt.read_text().splitlines()[2:] if ln.strip()}
        assert entries.get((topic, "0"), -1) > model.last_data_offset, \
            f"cleaner checkpoint {entries.get((topic, '0'))} does not cover the cleaned data (last data offset {model.last_data_offset})"
        low, data = _data_region(b.bootstrap, topic, model)
        assert data == model.survivors(), "data region changed across restart"
        assert low == 0

        p.close(timeout=5)
        p = kp_producer(b.bootstrap, acks="all", linger_ms=5, enable_idempotence=False)
        more: list[tuple[bytes, bytes | None]] = []
        for rnd in range(5):
            for k in keys[:5]:
                more.append((k, f"{k.decode()}-after-restart-{rnd}-{tag}".encode()))
        more += [(keys[5], None), (b"key-new", b"brand-new-" + tag.encode()), (keys[15], b"resurrected-" + tag.encode())]
        _write(p, topic, model, more)
        _wait_compacted(b.bootstrap, topic, model, p)
    finally:
        p.close(timeout=5)
    assert code == 0, f"broker exit code {code} on SIGTERM (expected a clean 0 exit)"


def test_compacted_topic_rejects_null_keys(broker_factory, topic):
    from kafka.errors import InvalidRecordError

    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, TOPIC)

    p = kp_producer(b.bootstrap, acks="all", linger_ms=0, enable_idempotence=False, retries=0)
    try:
        assert p.send(topic, partition=0, key=b"k", value=b"v").get(timeout=10).offset == 0
        with pytest.raises(InvalidRecordError):
            p.send(topic, partition=0, key=None, value=b"no key").get(timeout=10)
    finally:
        p.close(timeout=5)

    cp = ck_producer(b.bootstrap, **{"linger.ms": 0})
    results = []

    def cb(err, msg):
        results.append(err)

    cp.produce(topic, partition=0, value=b"no key either", on_delivery=cb)
    cp.produce(topic, partition=0, key=None, value=None, on_delivery=cb)
    assert cp.flush(20) == 0
    assert len(results) == 2
    for err in results:
        assert err is not None, "a null-key record was accepted by a compacted topic"
        assert err.code() == KafkaError.INVALID_RECORD, err

    # keyed records still go through, and nothing was appended for the rejected ones
    res = ck_produce(cp, topic, [{"key": b"k2", "value": b"v2"}])
    assert res[0][1] == 1
    assert watermarks(b.bootstrap, topic) == (0, 2)
    got = ck_read(b.bootstrap, topic, OFFSET_BEGINNING, 2)
    assert [(m.offset(), m.key(), m.value()) for m in got] == [(0, b"k", b"v"), (1, b"k2", b"v2")]


def test_delete_records_is_refused_on_a_compacted_topic(broker_factory, topic):
    """Kafka refuses DeleteRecords unless cleanup.policy contains delete: POLICY_VIOLATION."""
    from confluent_kafka import KafkaException, TopicPartition

    from storage_util import ck_admin

    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, TOPIC)
    cp = ck_producer(b.bootstrap)
    ck_produce(cp, topic, [{"key": f"k{i}".encode(), "value": b"v"} for i in range(10)])
    admin = ck_admin(b.bootstrap)
    fs = admin.delete_records([TopicPartition(topic, 0, 5)], request_timeout=10, operation_timeout=10)
    with pytest.raises(KafkaException) as ei:
        list(fs.values())[0].result(timeout=15)
    assert ei.value.args[0].code() == KafkaError.POLICY_VIOLATION, ei.value
    assert watermarks(b.bootstrap, topic) == (0, 10)

    # compact,delete allows it
    both = topic + "-both"
    create_topic(b.bootstrap, both, {**TOPIC, "cleanup.policy": "compact,delete"})
    ck_produce(cp, both, [{"key": f"k{i}".encode(), "value": b"v"} for i in range(10)])
    fs = admin.delete_records([TopicPartition(both, 0, 5)], request_timeout=10, operation_timeout=10)
    assert list(fs.values())[0].result(timeout=15).low_watermark == 5
    assert watermarks(b.bootstrap, both) == (5, 10)


@pytest.mark.parametrize("broker_extra,topic_extra", [
    ({}, {"min.compaction.lag.ms": 600_000}),
    ({"log.cleaner.enable": False}, {}),
], ids=["min-compaction-lag", "cleaner-disabled"])
def test_no_compaction_within_lag_or_with_the_cleaner_disabled(broker_factory, topic, broker_extra, topic_extra):
    """Records younger than min.compaction.lag.ms are not compacted, and nothing is with
    log.cleaner.enable=false, however dirty and rolled the log is."""
    b = broker_factory({**BROKER, **broker_extra})
    create_topic(b.bootstrap, topic, {**TOPIC, **topic_extra})
    model = Model()
    keys = [f"lag-{i}".encode() for i in range(5)]
    p = kp_producer(b.bootstrap, acks="all", linger_ms=5, enable_idempotence=False)
    try:
        for rnd in range(20):
            _write(p, topic, model, [(k, f"{k.decode()}-{rnd}".encode()) for k in keys])
        _write(p, topic, model, [(keys[0], None)])
        # ~4 s of ticks: many rolls and cleaner passes (log.cleaner.backoff.ms=200)
        for i in range(25):
            p.send(topic, partition=0, key=TICK_KEY, value=f"tick-{i}".encode())
            p.flush(10)
            time.sleep(0.15)
        _, data = _data_region(b.bootstrap, topic, model)
    finally:
        p.close(timeout=5)
    assert [o for o, _, _ in data] == list(range(model.last_data_offset + 1)), \
        f"records were compacted away: {model.last_data_offset + 1 - len(data)} missing"


def test_kill9_while_the_cleaner_runs(broker_factory, topic):
    """kill -9 at random moments while the cleaner is busy: after recovery every key's last
    record is its last acknowledged write at its original offset, offsets only ever come from
    produced records and increase, no leftover .cleaned/.swap files, and compaction resumes."""
    import random

    from storage_util import partition_dir

    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, TOPIC)
    tag = uuid.uuid4().hex[:6]
    model = Model()
    keys = [f"crash-{i:02d}".encode() for i in range(12)]
    rng = random.Random()
    d = partition_dir(b, topic)
    for rnd in range(3):
        p = kp_producer(b.bootstrap, acks="all", linger_ms=5, enable_idempotence=False)
        try:
            for j in range(25):
                writes = [(k, f"{k.decode()}-{rnd}-{j}-{tag}-".encode().ljust(300, b"c")) for k in keys]
                if j == 24:
                    writes[rnd] = (keys[rnd], None)
                _write(p, topic, model, writes)
            # ticks roll segments (segment.ms=100) so the cleaner has work; kill mid-way
            for i in range(rng.randint(2, 8)):
                p.send(topic, partition=0, key=TICK_KEY, value=f"tick-{rnd}-{i}".encode())
                p.flush(10)
                time.sleep(0.1)
        finally:
            p.close(timeout=2)
        b.kill9()
        # recover with the cleaner off: any .cleaned/.swap file now is a leftover of the crash
        # that log loading should have resolved (Kafka deletes .cleaned, completes .swap)
        b.overrides["log.cleaner.enable"] = False
        b.start()
        strays = [f.name for f in d.iterdir() if f.name.endswith((".cleaned", ".swap"))]
        assert not strays, f"stray cleaner files after recovery: {strays}"
        low, high = watermarks(b.bootstrap, topic)
        got = ck_read(b.bootstrap, topic, OFFSET_BEGINNING, high, timeout_s=10,
                      extra={"check.crcs": True})
        offs = [m.offset() for m in got]
        assert offs == sorted(set(offs)), "offsets not strictly increasing"
        last: dict[bytes, tuple[int, bytes | None]] = {}
        for m in got:
            if m.key() != TICK_KEY:
                last[m.key()] = (m.offset(), m.value())
        for k, (o, v) in model.latest.items():
            if v is None:
                assert k not in last or last[k] == (o, None), f"{k!r}: {last.get(k)} after its tombstone at {o}"
            else:
                assert last.get(k) == (o, v), f"{k!r}: last record {last.get(k)}, want offset {o}"
        stray_offsets = [m.offset() for m in got if m.key() != TICK_KEY and m.offset() not in model.offsets]
        assert not stray_offsets, f"records at offsets never produced: {stray_offsets[:5]}"
        b.stop()
        b.overrides["log.cleaner.enable"] = True
        b.start()
    # and the cleaner still works afterwards
    p = kp_producer(b.bootstrap, acks="all", linger_ms=5, enable_idempotence=False)
    try:
        _wait_compacted(b.bootstrap, topic, model, p)
    finally:
        p.close(timeout=2)


@pytest.mark.parametrize("codec", ["gzip", "lz4", "zstd"])
def test_compaction_of_compressed_batches_keeps_codec_timestamps_and_headers(broker_factory, topic, codec):
    """The cleaner rewrites the survivors of a compressed batch into a batch with the same
    codec (Kafka's MemoryRecords.filterTo), keeping each record's timestamp and headers."""
    from storage_util import disk_batches, partition_dir

    b = broker_factory(BROKER)
    create_topic(b.bootstrap, topic, TOPIC)
    model = Model()
    keys = [f"z-{i}".encode() for i in range(8)]
    base_ts = int(time.time() * 1000) - 60_000
    ts_of: dict[int, int] = {}
    p = kp_producer(b.bootstrap, acks="all", linger_ms=1000, batch_size=1 << 20,
                    enable_idempotence=False, compression_type=codec)
    try:
        for rnd in range(15):
            futs = []
            for j, k in enumerate(keys):
                v = None if (rnd == 14 and j == 7) else f"{k.decode()}-{rnd}".encode() * 5
                ts = base_ts + rnd * 100 + j
                futs.append((k, v, ts, p.send(topic, partition=0, key=k, value=v, timestamp_ms=ts,
                                              headers=[("rnd", str(rnd).encode())])))
            p.flush(30)
            for k, v, ts, f in futs:
                o = f.get(timeout=10).offset
                model.record(k, o, v)
                ts_of[o] = ts
        _wait_compacted(b.bootstrap, topic, model, p)
    finally:
        p.close(timeout=5)

    got = ck_read(b.bootstrap, topic, OFFSET_BEGINNING, model.last_data_offset + 1)
    data = {m.offset(): m for m in got if m.offset() <= model.last_data_offset}
    for o, k, v in model.survivors():
        m = data[o]
        assert m.timestamp()[1] == ts_of[o], f"offset {o}: timestamp {m.timestamp()} != {ts_of[o]}"
        assert m.headers() == [("rnd", str((ts_of[o] - base_ts) // 100).encode())], m.headers()
    cleaned = [x for x in disk_batches(partition_dir(b, topic))
               if x["base_offset"] <= model.last_data_offset and x["record_count"] > 0]
    assert cleaned and all(x["compression"] == codec for x in cleaned), \
        [(x["base_offset"], x["record_count"], x["compression"]) for x in cleaned]
