"""Membership churn under load.

A producer writes continuously to a 6-partition topic for RUNNEL_CHURN_SECONDS (default
60) while 1-4 confluent-kafka member processes join, leave (SIGTERM: commit, close,
LeaveGroup) and get killed (kill -9) every 1-5 s (seeded RNG; the seed is printed
and can be replayed with RUNNEL_CHURN_SEED). Members commit their consumed positions
every 0.5 s. An AdminClient samples the group's committed offsets all along.

Afterwards a final member drains the group to the end. Checks:
* every record the producer got a delivery report for was consumed at least once
  (at-least-once across rebalances, kills and the coordinator's offset handling);
* the committed offset of every partition never moved backwards (admin samples, and
  each member's own successful commits in order);
* the final committed offsets equal the end of every partition.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest

from group_util import (
    Member, ck_admin, ck_producer, committed_offsets_admin, create_topic, describe_members,
    group_broker, unique_group, wait_until,
)

PARTITIONS = 6
CHURN_SECONDS = float(os.environ.get("RUNNEL_CHURN_SECONDS", "60"))
MAX_MEMBERS = 4
SESSION_MS = 4000
RATE = 1000  # records/s


@pytest.fixture(autouse=True)
def _per_test_timeout():
    """Overrides conftest's per-test limit: the churn lasts RUNNEL_CHURN_SECONDS."""
    limit = max(int(os.environ.get("RUNNEL_TEST_TIMEOUT", "180")), int(CHURN_SECONDS) + 150)

    def on_alarm(signum, frame):
        raise TimeoutError(f"churn test exceeded {limit}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


class _Producer(threading.Thread):
    """Produces RATE records/s round-robin over the partitions; keeps every delivered
    (partition, offset)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.p = ck_producer(bootstrap, **{"linger.ms": 2})
        self.topic = topic
        self.stop_ev = threading.Event()
        self.delivered: set[tuple[int, int]] = set()
        self.errors: list = []
        self.sent = 0

    def _cb(self, err, msg):
        if err is not None:
            self.errors.append(err)
        else:
            self.delivered.add((msg.partition(), msg.offset()))

    def run(self) -> None:
        i = 0
        t0 = time.monotonic()
        while not self.stop_ev.is_set():
            due = int((time.monotonic() - t0) * RATE)
            while i < due:
                try:
                    self.p.produce(self.topic, value=f"churn-{i}".encode(), partition=i % PARTITIONS,
                                   on_delivery=self._cb)
                    i += 1
                except BufferError:
                    break
            self.sent = i
            self.p.poll(0.02)
        self.p.flush(30)

    def finish(self) -> None:
        self.stop_ev.set()
        self.join(60)


class _OffsetSampler(threading.Thread):
    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.admin = ck_admin(bootstrap)
        self.group = group
        self.topic = topic
        self.stop_ev = threading.Event()
        self.samples: list[tuple[float, dict[int, int]]] = []
        self.errors: list = []

    def run(self) -> None:
        while not self.stop_ev.is_set():
            try:
                got = committed_offsets_admin(self.admin, self.group, timeout=5)
                self.samples.append((time.monotonic(), {p: o for (t, p), (o, _) in got.items()
                                                        if t == self.topic and o >= 0}))
            except Exception as e:  # transient errors during churn are fine; keep them for the report
                self.errors.append(repr(e))
            self.stop_ev.wait(0.5)

    def finish(self) -> None:
        self.stop_ev.set()
        self.join(30)


def _backwards(seq: list[tuple[str, dict[int, int]]]) -> list[str]:
    """Every place where a partition's committed offset went down in `seq`."""
    last: dict[int, tuple[str, int]] = {}
    bad = []
    for label, offs in seq:
        for p, o in offs.items():
            if p in last and o < last[p][1]:
                bad.append(f"partition {p}: {last[p][1]} ({last[p][0]}) -> {o} ({label})")
            last[p] = (label, o)
    return bad


def test_churn_every_record_consumed_and_commits_monotonic(broker_factory, topic):
    seed = int(os.environ.get("RUNNEL_CHURN_SEED", str(random.randrange(1 << 30))))
    print(f"\n[churn] seed={seed} (RUNNEL_CHURN_SEED to replay), duration={CHURN_SECONDS}s")
    rng = random.Random(seed)
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, PARTITIONS)
    group = unique_group("churn")
    conf = {"session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 400, "max.poll.interval.ms": 10000}

    all_members: list[Member] = []
    live: list[Member] = []
    actions: list[str] = []
    n = 0

    def start_one():
        nonlocal n
        n += 1
        m = Member(b.bootstrap, topic, group, f"m{n}", conf=conf, commit_every=0.5,
                   log_dir=b.workdir).start()
        all_members.append(m)
        live.append(m)
        actions.append(f"{time.monotonic() - t_start:6.1f}s start {m.name}")

    producer = _Producer(b.bootstrap, topic)
    sampler = _OffsetSampler(b.bootstrap, group, topic)
    final = None
    t_start = time.monotonic()
    try:
        producer.start()
        for _ in range(2):
            start_one()
        sampler.start()
        deadline = t_start + CHURN_SECONDS
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(1.0, 5.0))
            if time.monotonic() >= deadline:
                break
            roll = rng.random()
            if len(live) < 2:
                roll = 0.0  # always start one
            elif len(live) >= MAX_MEMBERS:
                roll = rng.uniform(0.4, 0.95)  # stop or kill
            if roll < 0.4:
                start_one()
            elif roll < 0.65:
                m = live.pop(rng.randrange(len(live)))
                actions.append(f"{time.monotonic() - t_start:6.1f}s stop {m.name}")
                m.stop()
            elif roll < 0.95:
                m = live.pop(rng.randrange(len(live)))
                actions.append(f"{time.monotonic() - t_start:6.1f}s kill -9 {m.name}")
                m.kill9()
            else:
                actions.append(f"{time.monotonic() - t_start:6.1f}s (no change)")
        producer.finish()
        assert not producer.errors, f"{len(producer.errors)} produce errors, e.g. {producer.errors[:3]}"
        assert producer.delivered, "nothing produced"
        end = {p: 0 for p in range(PARTITIONS)}
        for p, o in producer.delivered:
            end[p] = max(end[p], o + 1)
        for m in live:
            actions.append(f"{time.monotonic() - t_start:6.1f}s stop {m.name} (end of churn)")
            m.stop()
        live.clear()
        print("[churn] " + "\n[churn] ".join(actions))
        print(f"[churn] produced {len(producer.delivered)} records, end offsets {end}")

        # final member drains to the end and commits
        final = Member(b.bootstrap, topic, group, "final", conf=conf, commit_every=0.3,
                       log_dir=b.workdir).start()
        all_members.append(final)

        admin = ck_admin(b.bootstrap)

        def drained():
            got = committed_offsets_admin(admin, group, timeout=5)
            return all(got.get((topic, p), (-1, None))[0] >= end[p] for p in range(PARTITIONS) if end[p] > 0)

        wait_until(drained, 60, "the final member to consume and commit up to the end",
                   detail=lambda: f"{describe_members([final])}\nend={end}\n"
                          f"committed={committed_offsets_admin(admin, group)}")
        final.stop()
        sampler.finish()

        consumed: set[tuple[int, int]] = set()
        for m in all_members:
            consumed |= set(m.records())
        missing = sorted(producer.delivered - consumed)
        assert not missing, (f"{len(missing)} of {len(producer.delivered)} produced records were never "
                             f"consumed, e.g. {missing[:10]} (seed {seed})")

        committed = committed_offsets_admin(ck_admin(b.bootstrap), group)
        final_offsets = {p: o for (t, p), (o, _) in committed.items() if t == topic}
        assert final_offsets == {p: end[p] for p in range(PARTITIONS) if end[p] > 0}, \
            f"final committed offsets {final_offsets} != end offsets {end}"

        bad = _backwards([(f"admin sample {i} @{t - t_start:.1f}s", offs)
                          for i, (t, offs) in enumerate(sampler.samples)])
        assert not bad, f"committed offsets moved backwards (seed {seed}): {bad[:10]}"
        assert len(sampler.samples) >= CHURN_SECONDS, \
            f"only {len(sampler.samples)} offset samples; errors: {sampler.errors[:5]}"
        for m in all_members:
            own = _backwards([(f"{m.name} commit {i}", {p: o for p, o in c["offsets"]})
                              for i, c in enumerate(m.commits())])
            assert not own, f"{m.name}'s successful commits went backwards: {own[:5]}"
        n_commits = sum(len(m.commits()) for m in all_members)
        assert n_commits >= 10, f"only {n_commits} successful commits during the churn"
        print(f"[churn] {len(all_members)} members, {n_commits} commits, {len(consumed)} distinct records "
              f"consumed, {len(sampler.samples)} offset samples ({len(sampler.errors)} sampling errors)")
    finally:
        producer.stop_ev.set()
        sampler.stop_ev.set()
        for m in all_members:
            m.cleanup()
