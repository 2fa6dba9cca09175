"""Static membership (KIP-345) with confluent-kafka `group.instance.id` members in
separate processes.

A static member that goes away (close() sends no LeaveGroup for static members in
librdkafka; kill -9 sends nothing at all) and comes back with the same instance id within
the session timeout must get its old partitions back without a rebalance: the other
member sees no revoke/assign callback. The broker view is checked over the wire with
DescribeGroups: the returning instance has a new member id, the other keeps its id.
Gone for longer than the session timeout, the static member is removed and its
partitions move."""

from __future__ import annotations

import time

import pytest

from group_util import (
    GroupWire, Member, create_topic, decode_assignment, group_broker, unique_group, wait_converged,
    wait_until,
)

PARTITIONS = 6


def _static(b, topic, group, name, session_ms) -> Member:
    conf = {"group.instance.id": f"inst-{name}", "session.timeout.ms": session_ms,
            "heartbeat.interval.ms": 500, "max.poll.interval.ms": max(session_ms, 15000)}
    return Member(b.bootstrap, topic, group, name, conf=conf, log_dir=b.workdir,
                  client_id=f"static-{name}").start()


def _describe(b, group) -> dict:
    with GroupWire(b) as w:
        (d,) = w.describe_groups([group], version=4)
    assert d["error_code"] == 0, d
    return d


def _by_instance(d) -> dict:
    return {m["group_instance_id"]: m for m in d["members"]}


@pytest.mark.parametrize("how", ["close", "kill9"])
def test_static_member_restart_without_rebalance(broker_factory, topic, how):
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, PARTITIONS)
    group = unique_group("static")
    session_ms = 10000
    members: list[Member] = []
    try:
        mb = _static(b, topic, group, "b", session_ms)  # first: the leader
        members.append(mb)
        wait_converged([mb], range(PARTITIONS), 40, "b to own every partition")
        ma = _static(b, topic, group, "a", session_ms)
        members.append(ma)
        split = wait_converged([ma, mb], range(PARTITIONS), 40, "a and b to split", settle=2.0)
        a_parts = split["a"]

        d = _describe(b, group)
        assert d["state"] == "Stable", d
        inst = _by_instance(d)
        assert set(inst) == {"inst-a", "inst-b"}, d
        assert inst["inst-a"]["client_id"] == "static-a"
        assert set(decode_assignment(inst["inst-a"]["assignment"]).get(topic, [])) == a_parts, d
        old_a_id, b_id = inst["inst-a"]["member_id"], inst["inst-b"]["member_id"]
        assert ma.member_id() == old_a_id and mb.member_id() == b_id

        b_events = len(mb.of("assign", "revoke", "lost"))

        if how == "close":
            assert ma.stop() == 0, ma.stderr_tail()
            assert ma.of("closed"), ma.describe()
        else:
            ma.kill9()
        t_gone = time.monotonic()
        time.sleep(1.5)
        d = _describe(b, group)
        assert "inst-a" in _by_instance(d), f"static member removed at once after {how}: {d}"

        ma2 = _static(b, topic, group, "a", session_ms)
        members.append(ma2)
        wait_until(lambda: ma2.assignment, 20, "the restarted static member to get partitions",
                   detail=ma2.describe)
        back_after = time.monotonic() - t_gone
        assert back_after < session_ms / 1000, f"test too slow: a came back after {back_after:.1f}s"
        assert ma2.assignment == a_parts, f"restarted a got {ma2.assignment}, had {a_parts}"

        time.sleep(3.0)  # several heartbeat intervals: b would have seen a rebalance by now
        assert len(mb.of("assign", "revoke", "lost")) == b_events, \
            f"b saw a rebalance while static a restarted: {mb.describe()}"
        assert mb.assignment == split["b"]
        assert ma2.assignment == a_parts

        d = _describe(b, group)
        assert d["state"] == "Stable", d
        inst = _by_instance(d)
        assert set(inst) == {"inst-a", "inst-b"}, d
        assert inst["inst-b"]["member_id"] == b_id, "b's member id changed"
        assert inst["inst-a"]["member_id"] != old_a_id, "a returned with an empty member id: it needs a new one"
        assert inst["inst-a"]["member_id"] == ma2.member_id()
        assert set(decode_assignment(inst["inst-a"]["assignment"]).get(topic, [])) == a_parts
    finally:
        for m in members:
            m.cleanup()


def test_static_member_expires_after_session_timeout(broker_factory, topic):
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, PARTITIONS)
    group = unique_group("static-exp")
    session_ms = 4000
    members: list[Member] = []
    try:
        mb = _static(b, topic, group, "b", session_ms)
        members.append(mb)
        wait_converged([mb], range(PARTITIONS), 40)
        ma = _static(b, topic, group, "a", session_ms)
        members.append(ma)
        wait_converged([ma, mb], range(PARTITIONS), 40, settle=1.0)
        assert ma.stop() == 0  # no LeaveGroup: a stays a member until its session expires
        t0 = time.monotonic()
        time.sleep(1.0)
        assert mb.assignment != set(range(PARTITIONS)), "b took over before the session timeout"
        wait_converged([mb], range(PARTITIONS), session_ms / 1000 + 15, "b to take a's partitions", settle=0.3)
        took = time.monotonic() - t0
        assert took >= session_ms / 1000 - 1.0, f"a removed after {took:.1f}s, before its {session_ms} ms session"
        assert took <= session_ms / 1000 + 8, f"a removed only after {took:.1f}s (session {session_ms} ms)"
        d = _describe(b, group)
        assert [m["group_instance_id"] for m in d["members"]] == ["inst-b"], d
    finally:
        for m in members:
            m.cleanup()


def test_second_process_with_same_instance_id_fences_the_first(broker_factory, topic):
    """Two live processes with one group.instance.id: the newer one takes over, the older
    one is fenced (FENCED_INSTANCE_ID, fatal in librdkafka) instead of both consuming."""
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, 2)
    group = unique_group("static-fence")
    members: list[Member] = []
    try:
        m1 = _static(b, topic, group, "x", 10000)
        members.append(m1)
        wait_converged([m1], range(2), 40)
        m2 = _static(b, topic, group, "x", 10000)
        members.append(m2)
        wait_until(lambda: m2.assignment == {0, 1}, 30, "the second process to take over", detail=m2.describe)

        def fenced():
            return any("fenced" in e.get("error", "").lower() or e.get("code") == 82 for e in m1.of("error"))

        wait_until(fenced, 20, "the first process to be fenced", detail=m1.describe)
        d = _describe(b, group)
        assert [m["group_instance_id"] for m in d["members"]] == ["inst-x"], d
        assert d["members"][0]["member_id"] == m2.member_id()
    finally:
        for m in members:
            m.cleanup()
