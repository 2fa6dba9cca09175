"""Committed offsets and groups across broker restarts: kill -9 right after commits,
thousands of commits in a small, compacted `__consumer_offsets`, and live members that keep
consuming (and committing) while the coordinator restarts underneath them."""

from __future__ import annotations

import threading
import time

from group_util import (
    GROUP_OVERRIDES, GroupWire, Member, ck_admin, ck_producer, committed_offsets_admin, create_topic,
    describe_members, unique_group, wait_converged, wait_until,
)
from storage_util import disk_batches


def test_acknowledged_commits_survive_kill9(broker_factory, topic):
    b = broker_factory(GROUP_OVERRIDES)
    create_topic(b.bootstrap, topic, 3)
    groups = [unique_group(f"k9-{i}") for i in range(5)]
    want = {}
    with GroupWire(b) as w:
        for i, g in enumerate(groups):
            w.wait_coordinator(g)
            offs = {(topic, p): (100 * i + p, f"meta-{i}-{p}") for p in range(3)}
            assert w.offset_commit(g, offs) == {k: 0 for k in offs}
            # a second commit overwrites the first
            offs[(topic, 0)] = (100 * i + 50, "second")
            assert w.offset_commit(g, {(topic, 0): offs[(topic, 0)]}) == {(topic, 0): 0}
            want[g] = offs
    b.kill9()
    b.start()
    with GroupWire(b) as w:
        w.wait_coordinator(groups[0])
        for g in groups:
            out = w.offset_fetch_loaded(g, None, version=8)
            assert out["error_code"] == 0, out
            got = {k: (v["offset"], v["metadata"]) for k, v in out["partitions"].items()}
            assert got == want[g], f"{g}: committed offsets after kill -9: {got} != {want[g]}"


def test_many_commits_in_compacted_offsets_topic(broker_factory, topic):
    """2000 commits of two partitions with a 16 KiB `__consumer_offsets` segment size and an
    eager cleaner: the offsets topic gets compacted (cleanup.policy=compact), and the latest
    commit is what a restarted broker serves."""
    overrides = dict(GROUP_OVERRIDES)
    overrides.update({"offsets.topic.num.partitions": 1, "offsets.topic.segment.bytes": 16384,
                      "log.cleaner.backoff.ms": 200, "log.cleaner.min.cleanable.ratio": 0.01})
    b = broker_factory(overrides)
    create_topic(b.bootstrap, topic, 2)
    g = unique_group("compact")
    n = 2000
    with GroupWire(b) as w:
        w.wait_coordinator(g)
        for i in range(1, n + 1):
            res = w.offset_commit(g, {(topic, 0): (i, f"commit-{i:05d}-" + "x" * 40), (topic, 1): (2 * i, "")})
            assert res == {(topic, 0): 0, (topic, 1): 0}, (i, res)
    log_dir = b.log_dir / "__consumer_offsets-0"
    assert log_dir.is_dir(), sorted(p.name for p in b.log_dir.iterdir())
    segments = sorted(p.name for p in log_dir.glob("*.log"))
    assert len(segments) >= 2, f"expected __consumer_offsets-0 to roll (segment.bytes 16384): {segments}"
    # __consumer_offsets is compacted: 2 keys, so the cleaner drops nearly all 2n records
    wait_until(lambda: sum(x["record_count"] for x in disk_batches(log_dir)) < n // 4, 20,
               "the cleaner to compact __consumer_offsets-0",
               detail=lambda: f"{sum(x['record_count'] for x in disk_batches(log_dir))} records on disk")
    assert b.restart() == 0
    with GroupWire(b) as w:
        w.wait_coordinator(g)
        out = w.offset_fetch_loaded(g, {topic: [0, 1]}, version=7)
        print(f"[compact] coordinator loaded after {out['load_wait_s']:.2f}s ({out['load_retries']} retries)")
        assert out["error_code"] == 0, out
        p0, p1 = out["partitions"][(topic, 0)], out["partitions"][(topic, 1)]
        assert (p0["offset"], p0["metadata"]) == (n, f"commit-{n:05d}-" + "x" * 40), p0
        assert p1["offset"] == 2 * n, p1


class _Producer(threading.Thread):
    def __init__(self, bootstrap: str, topic: str, partitions: int, rate: int = 200) -> None:
        super().__init__(daemon=True)
        self.p = ck_producer(bootstrap, **{"linger.ms": 2, "message.timeout.ms": 30000})
        self.topic, self.partitions, self.rate = topic, partitions, rate
        self.stop_ev = threading.Event()
        self.delivered: set[tuple[int, int]] = set()
        self.errors: list = []

    def _cb(self, err, msg):
        if err is not None:
            self.errors.append(err)
        else:
            self.delivered.add((msg.partition(), msg.offset()))

    def run(self) -> None:
        i = 0
        t0 = time.monotonic()
        while not self.stop_ev.is_set():
            while i < int((time.monotonic() - t0) * self.rate):
                try:
                    self.p.produce(self.topic, value=f"r-{i}".encode(), partition=i % self.partitions,
                                   on_delivery=self._cb)
                except BufferError:
                    break
                i += 1
            self.p.poll(0.02)
        self.p.flush(40)


def test_live_members_keep_consuming_across_broker_restart(broker_factory, topic):
    b = broker_factory(GROUP_OVERRIDES)
    parts = 4
    create_topic(b.bootstrap, topic, parts)
    group = unique_group("live-restart")
    members: list[Member] = []
    producer = _Producer(b.bootstrap, topic, parts)
    try:
        members = [Member(b.bootstrap, topic, group, n, commit_every=0.5, log_dir=b.workdir).start()
                   for n in ("a", "b")]
        wait_converged(members, range(parts), 45)
        producer.start()
        time.sleep(3)
        assert b.restart() == 0
        t_restart = time.monotonic()
        time.sleep(6)
        producer.stop_ev.set()
        producer.join(60)
        assert not producer.errors, producer.errors[:3]
        end = {p: 0 for p in range(parts)}
        for p, o in producer.delivered:
            end[p] = max(end[p], o + 1)

        admin = ck_admin(b.bootstrap)

        def caught_up():
            got = committed_offsets_admin(admin, group, timeout=5)
            return all(got.get((topic, p), (-1, None))[0] == end[p] for p in range(parts))

        wait_until(caught_up, 40, "the members to commit the end of every partition after the restart",
                   detail=lambda: f"end={end} committed={committed_offsets_admin(admin, group)}\n"
                                  + describe_members(members))
        assert all(m.alive() for m in members), describe_members(members)
        consumed = set()
        for m in members:
            consumed |= set(m.records())
        missing = producer.delivered - consumed
        assert not missing, f"{len(missing)} records never consumed, e.g. {sorted(missing)[:5]}"
        # both still members of one stable group, splitting the partitions
        wait_converged(members, range(parts), 30, "the members to own the partitions again")
        with GroupWire(b) as w:
            (d,) = w.describe_groups([group])
        assert d["state"] == "Stable" and len(d["members"]) == 2, d
        after = [e for m in members for e in m.of("commit") if e["rt"] > t_restart]
        assert after, "no successful commit after the restart"
    finally:
        producer.stop_ev.set()
        for m in members:
            m.cleanup()
