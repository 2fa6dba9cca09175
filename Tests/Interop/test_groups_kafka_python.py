"""Consumer groups with kafka-python 3.0 (JoinGroup v7, SyncGroup v5, Heartbeat/LeaveGroup v4,
OffsetCommit/OffsetFetch v8, FindCoordinator v4 batched): committed offsets and their
metadata survive a broker restart and a new member resumes exactly there."""

from __future__ import annotations

import threading
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.structs import OffsetAndMetadata

from group_util import create_topic, group_broker, produce_per_partition, unique_group, wait_until
from interop_util import KP_COMMON

PARTITIONS = 3
PER_PARTITION = 40

KP_GROUP = dict(KP_COMMON, enable_auto_commit=False, auto_offset_reset="earliest",
                session_timeout_ms=6000, heartbeat_interval_ms=500, max_poll_interval_ms=15000,
                fetch_max_wait_ms=100)


def _consumer(bootstrap, topic, group, **kw) -> KafkaConsumer:
    cfg = dict(KP_GROUP, bootstrap_servers=bootstrap, group_id=group)
    cfg.update(kw)
    return KafkaConsumer(topic, **cfg)


def _admin(bootstrap) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap, **KP_COMMON)


def _poll_until(c: KafkaConsumer, pred, timeout: float) -> list:
    out = []
    deadline = time.monotonic() + timeout
    while not pred(out) and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=200).values():
            out.extend(recs)
    return out


def test_commit_with_metadata_survives_restart_and_resume(broker_factory, topic):
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, PARTITIONS)
    produced = produce_per_partition(b.bootstrap, topic, PARTITIONS, PER_PARTITION, tag="kp")
    assert all(v == list(range(PER_PARTITION)) for v in produced.values())
    group = unique_group("kp")
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]

    c1 = _consumer(b.bootstrap, topic, group, max_poll_records=7)
    try:
        got = _poll_until(c1, lambda out: len(out) >= 50, 30)
        assert len(got) >= 50, f"consumed only {len(got)} records in the first session"
        assert c1.assignment() == set(tps)
        last: dict[int, int] = {}
        for r in got:
            last[r.partition] = max(last.get(r.partition, -1), r.offset)
        # commit an explicit position with metadata for each partition read, at most 3 + p
        # records before its end (so every partition has something left to resume from;
        # committing behind what was read is legal: those records are read again)
        commit = {}
        for p, off in last.items():
            pos = min(off + 1, PER_PARTITION - 3 - p)
            commit[TopicPartition(topic, p)] = OffsetAndMetadata(pos, f"kp-meta-{p}-{pos}", -1)
        c1.commit(commit)
        for tp, om in commit.items():
            got_om = c1.committed(tp, metadata=True)
            assert got_om is not None, tp
            assert (got_om.offset, got_om.metadata) == (om.offset, om.metadata), (tp, got_om)
            assert c1.committed(tp) == om.offset
        for tp in tps:
            if tp not in commit:
                assert c1.committed(tp) is None, tp
    finally:
        c1.close()

    want = {tp.partition: (om.offset, om.metadata) for tp, om in commit.items()}
    admin = _admin(b.bootstrap)
    try:
        res = admin.list_group_offsets({group: None})[group]
        assert {tp.partition: (om.offset, om.metadata) for tp, om in res.items()} == want, res
    finally:
        admin.close()

    assert b.restart() == 0

    admin = _admin(b.bootstrap)
    try:
        res = wait_until(lambda: admin.list_group_offsets({group: None})[group], 20,
                         "committed offsets after the restart")
        assert {tp.partition: (om.offset, om.metadata) for tp, om in res.items()} == want, \
            f"committed offsets changed across the restart: {res}"
    finally:
        admin.close()

    c2 = _consumer(b.bootstrap, topic, group, max_poll_records=100)
    try:
        start = {p: want.get(p, (0, None))[0] for p in range(PARTITIONS)}
        remaining = sum(PER_PARTITION - s for s in start.values())
        got2 = _poll_until(c2, lambda out: len(out) >= remaining, 30)
        by_p: dict[int, list[int]] = {}
        for r in got2:
            by_p.setdefault(r.partition, []).append(r.offset)
        for p in range(PARTITIONS):
            offs = by_p.get(p, [])
            assert offs, f"nothing consumed from partition {p} after the restart"
            assert offs[0] == start[p], \
                f"partition {p}: resumed at {offs[0]}, committed offset was {start[p]}"
            assert offs == list(range(start[p], PER_PARTITION)), f"partition {p}: {offs[:5]}..."
        for tp in tps:
            om = c2.committed(tp, metadata=True)
            if tp.partition in want:
                assert (om.offset, om.metadata) == want[tp.partition], (tp, om)
        c2.commit()  # the consumed positions: the end of every partition
        for tp in tps:
            assert c2.committed(tp) == PER_PARTITION, tp
    finally:
        c2.close()


def test_two_consumers_split_partitions(broker_factory, topic):
    """Two kafka-python members (one thread each) share a 6-partition topic."""
    b = group_broker(broker_factory)
    parts = 6
    create_topic(b.bootstrap, topic, parts)
    group = unique_group("kp-split")
    assignments: dict[str, set] = {}
    consumed: dict[str, list] = {"a": [], "b": []}
    stop = threading.Event()
    errors: list = []

    def run(name: str) -> None:
        c = _consumer(b.bootstrap, topic, group, client_id=f"kp-{name}")
        try:
            while not stop.is_set():
                for recs in c.poll(timeout_ms=100).values():
                    consumed[name].extend((r.partition, r.offset) for r in recs)
                assignments[name] = {tp.partition for tp in c.assignment()}
        except BaseException as e:  # surfaced by the main thread
            errors.append((name, e))
        finally:
            c.close()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in ("a", "b")]
    try:
        threads[0].start()
        wait_until(lambda: assignments.get("a") == set(range(parts)), 30, "a to own every partition")
        threads[1].start()

        def split():
            a, bb = assignments.get("a", set()), assignments.get("b", set())
            return a and bb and not (a & bb) and (a | bb) == set(range(parts))

        wait_until(split, 40, "a and b to split the partitions", detail=lambda: (assignments, errors))
        time.sleep(1.0)
        assert split(), assignments
        snap = {k: set(v) for k, v in assignments.items()}
        produced = produce_per_partition(b.bootstrap, topic, parts, 5, tag="split")
        want = {(p, o) for p, offs in produced.items() for o in offs}
        wait_until(lambda: want <= set(consumed["a"]) | set(consumed["b"]), 20, "every record consumed")
        for n in ("a", "b"):
            assert {p for p, _ in consumed[n]} <= snap[n], (n, snap, consumed[n][:10])
        assert not errors, errors
    finally:
        stop.set()
        for t in threads:
            t.join(20)
