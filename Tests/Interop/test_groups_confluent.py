"""Consumer groups with confluent-kafka (librdkafka 2.16) members in separate processes
(group_member.py): partition split, rebalance on join, failover after kill -9, and the
cooperative-sticky (incremental) protocol."""

from __future__ import annotations

import time

import pytest

from group_util import (
    Member, create_topic, describe_members, group_broker, produce_per_partition, unique_group,
    wait_converged, wait_until,
)

PARTITIONS = 6


def _members(b, topic, group, names, **kw) -> list[Member]:
    return [Member(b.bootstrap, topic, group, n, log_dir=b.workdir, **kw).start() for n in names]


def _check_records_follow_ownership(members: list[Member], topic_offsets: dict[int, list[int]]) -> None:
    """Every produced record reached exactly the member owning its partition."""
    want = {(p, o) for p, offs in topic_offsets.items() for o in offs}

    def all_seen():
        got = set()
        for m in members:
            got |= set(m.records())
        return want <= got

    wait_until(all_seen, 20, "every produced record to be consumed",
               detail=lambda: describe_members(members))
    for m in members:
        recs = [r for r in m.records() if r in want]
        parts = {p for p, _ in recs}
        assert parts <= (m.assignment or set()), \
            f"{m.name} consumed partitions {sorted(parts)} but owns {sorted(m.assignment or ())}"
    owners = {}
    for m in members:
        for p, o in m.records():
            if (p, o) in want:
                owners.setdefault(p, set()).add(m.name)
    assert all(len(v) == 1 for v in owners.values()), f"a partition was read by two members: {owners}"


def test_split_rebalance_and_kill9_failover(broker_factory, topic):
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, PARTITIONS)
    group = unique_group("ck")
    parts = range(PARTITIONS)
    session_ms = 4000
    conf = {"session.timeout.ms": session_ms, "heartbeat.interval.ms": 500}
    members: list[Member] = []
    try:
        members += _members(b, topic, group, ["a", "b", "c"], conf=conf)
        split3 = wait_converged(members, parts, 45, "3 members to split 6 partitions")
        assert sorted(len(v) for v in split3.values()) == [2, 2, 2], split3
        assert all(m.of("assign")[-1]["proto"] == "EAGER" for m in members)

        offsets = produce_per_partition(b.bootstrap, topic, PARTITIONS, 10, tag="first")
        _check_records_follow_ownership(members, offsets)

        members += _members(b, topic, group, ["d"], conf=conf)
        split4 = wait_converged(members, parts, 45, "a 4th member to get a share")
        assert sorted(len(v) for v in split4.values()) == [1, 1, 2, 2], split4

        # kill -9 the first member (the group leader: it joined first) - no LeaveGroup
        victim = members[0]
        lost = split4[victim.name]
        victim.kill9()
        t0 = time.monotonic()
        survivors = members[1:]
        split3b = wait_converged(survivors, parts, session_ms / 1000 + 15,
                                 f"{sorted(lost)} of the killed member to move", settle=0.5)
        took = time.monotonic() - t0 - 0.5
        assert took <= session_ms / 1000 + 8, \
            f"partitions moved {took:.1f}s after kill -9 (session timeout {session_ms} ms)"
        assert set().union(*split3b.values()) == set(parts)
        assert sorted(len(v) for v in split3b.values()) == [2, 2, 2], split3b

        more = produce_per_partition(b.bootstrap, topic, PARTITIONS, 5, tag="after-kill")
        _check_records_follow_ownership(survivors, more)
    finally:
        for m in members:
            m.cleanup()


def test_graceful_leave_rebalances_at_once(broker_factory, topic):
    """A member that closes sends LeaveGroup: its partitions move without waiting for
    the (long) session timeout."""
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, PARTITIONS)
    group = unique_group("ck-leave")
    conf = {"session.timeout.ms": 30000, "heartbeat.interval.ms": 500, "max.poll.interval.ms": 30000}
    members: list[Member] = []
    try:
        members += _members(b, topic, group, ["a", "b"], conf=conf)
        wait_converged(members, range(PARTITIONS), 45)
        assert members[1].stop() == 0, members[1].stderr_tail()
        t0 = time.monotonic()
        wait_converged(members[:1], range(PARTITIONS), 20, "the remaining member to get all partitions",
                       settle=0.3)
        took = time.monotonic() - t0
        assert took < 10, f"rebalance after LeaveGroup took {took:.1f}s (session timeout is 30 s)"
        assert members[1].of("closed"), members[1].describe()
    finally:
        for m in members:
            m.cleanup()


def _never_empty_after_first_assign(m: Member) -> None:
    seen_assign = False
    for e in m.of("assign", "revoke", "lost"):
        if e["ev"] == "assign":
            seen_assign = True
        elif seen_assign:
            assert e["ev"] != "lost", f"{m.name} lost its partitions: {e}"
        if seen_assign and e["ev"] == "revoke":
            assert e["current"], f"{m.name} went empty on a cooperative revoke (eager-style): {e}"


def test_cooperative_sticky(broker_factory, topic):
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, PARTITIONS)
    group = unique_group("ck-coop")
    parts = range(PARTITIONS)
    conf = {"partition.assignment.strategy": "cooperative-sticky"}
    members: list[Member] = []
    try:
        members += _members(b, topic, group, ["a"], conf=conf)
        s1 = wait_converged(members, parts, 45, "one cooperative member to own everything")
        assert members[0].of("assign")[-1]["proto"] == "COOPERATIVE", members[0].describe()

        members += _members(b, topic, group, ["b"], conf=conf)
        s2 = wait_converged(members, parts, 45, "2 cooperative members")
        assert sorted(len(v) for v in s2.values()) == [3, 3], s2
        assert s2["a"] <= s1["a"], f"sticky: a kept {s2['a']} out of {s1['a']}"
        # incremental: a gave up only what b took, never all of it
        revokes = members[0].of("revoke")
        assert revokes, "a should have revoked the partitions b got"
        assert set().union(*(set(r["parts"]) for r in revokes)) == s2["b"], (revokes, s2)
        b_assigns = members[1].of("assign")
        assert set().union(*(set(e["parts"]) for e in b_assigns)) == s2["b"]

        members += _members(b, topic, group, ["c"], conf=conf)
        s3 = wait_converged(members, parts, 45, "3 cooperative members")
        assert sorted(len(v) for v in s3.values()) == [2, 2, 2], s3
        assert s3["a"] <= s2["a"] and s3["b"] <= s2["b"], (s2, s3)

        # b leaves: a and c keep what they had and share b's partitions
        assert members[1].stop() == 0, members[1].stderr_tail()
        rest = [members[0], members[2]]
        s4 = wait_converged(rest, parts, 30, "2 members after b left")
        assert s4["a"] >= s3["a"] and s4["c"] >= s3["c"], (s3, s4)
        assert sorted(len(v) for v in s4.values()) == [3, 3], s4
        for m in rest:
            _never_empty_after_first_assign(m)
            assert all(e["proto"] == "COOPERATIVE" for e in m.of("assign", "revoke"))

        from group_util import ck_admin

        admin = ck_admin(b.bootstrap)
        desc = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
        assert desc.partition_assignor == "cooperative-sticky", desc
        assert len(desc.members) == 2
    finally:
        for m in members:
            m.cleanup()


@pytest.mark.parametrize("strategy", ["range", "roundrobin"])
def test_explicit_strategy_is_chosen(broker_factory, topic, strategy):
    """Member a prefers the other strategy, member b supports only `strategy`: the
    coordinator must pick the one protocol every member supports."""
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, PARTITIONS)
    group = unique_group(f"ck-{strategy}")
    other = "roundrobin" if strategy == "range" else "range"
    members: list[Member] = []
    try:
        members += _members(b, topic, group, ["a"], conf={"partition.assignment.strategy": f"{other},{strategy}"})
        members += _members(b, topic, group, ["b"], conf={"partition.assignment.strategy": strategy})
        wait_converged(members, range(PARTITIONS), 45)
        from group_util import ck_admin

        admin = ck_admin(b.bootstrap)  # keep a reference: a destroyed AdminClient never resolves its futures
        desc = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
        assert desc.partition_assignor == strategy, desc
    finally:
        for m in members:
            m.cleanup()
