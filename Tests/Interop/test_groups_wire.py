"""Group coordinator over the raw wire (group_util.GroupWire), including bad input.

Expected answers follow Apache Kafka's classic group coordinator (brief §6):
KIP-394 MEMBER_ID_REQUIRED for JoinGroup v4+ only, session-timeout bounds, OffsetFetch of
nothing committed = offset -1 / leader epoch -1 / metadata "" with error 0, batched
FindCoordinator v4, pending members that expire, static members (KIP-345) fencing.

The first tests are broker-less self-checks of GroupWire's encoders/decoders against
kafka-python's independent implementation of the same JSON schemas."""

from __future__ import annotations

import threading
import time

import pytest

import kafka_wire
from group_util import (
    FENCED_INSTANCE_ID, GROUP_ID_NOT_FOUND, GROUP_OVERRIDES, ILLEGAL_GENERATION,
    INCONSISTENT_GROUP_PROTOCOL, INVALID_GROUP_ID, INVALID_SESSION_TIMEOUT, MEMBER_ID_REQUIRED,
    NON_EMPTY_GROUP, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, GroupWire, consumer_assignment,
    consumer_subscription, create_topic, decode_assignment, unique_group, wait_until,
)
from kafka_wire import Reader

OFFSET_METADATA_TOO_LARGE = 12
GROUP_MAX_SIZE_REACHED = 81
MAX_SESSION_MS = 60000


# ---------------------------------------------------------------------------------------
# Self-checks (no broker): GroupWire against kafka-python's protocol classes
# ---------------------------------------------------------------------------------------


class _Loopback(GroupWire):
    """GroupWire whose transport decodes the request with kafka-python and answers with a
    kafka-python-encoded response built by `respond(request) -> response object`."""

    def __init__(self, respond) -> None:  # noqa: D401 - no socket
        self.corr = 0
        self.client_id = "loop"
        self.timeout = 1.0
        self.respond = respond
        self.seen = []

    def call(self, api_key, version, body, timeout=None):
        from kafka.protocol.admin import DeleteGroupsRequest, DescribeGroupsRequest, ListGroupsRequest
        from kafka.protocol.consumer import (HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest,
                                             OffsetCommitRequest, OffsetFetchRequest, SyncGroupRequest)
        from kafka.protocol.metadata.find_coordinator import FindCoordinatorRequest

        classes = {10: FindCoordinatorRequest, 11: JoinGroupRequest, 12: HeartbeatRequest,
                   13: LeaveGroupRequest, 14: SyncGroupRequest, 8: OffsetCommitRequest,
                   9: OffsetFetchRequest, 15: DescribeGroupsRequest, 16: ListGroupsRequest,
                   42: DeleteGroupsRequest}
        self.corr += 1
        flex = kafka_wire.is_flexible(api_key, version)
        data = kafka_wire.request_header(api_key, version, self.corr, self.client_id, flexible=flex) + body
        req = classes[api_key].decode(data, version=version, header=True)
        self.seen.append(req)
        resp = self.respond(req)
        resp.API_VERSION = version
        resp.with_header(correlation_id=self.corr)
        r = Reader(bytes(resp.encode(header=True)))
        assert r.int32() == self.corr
        if flex:
            r.tags()
        return r


@pytest.mark.parametrize("version", [0, 1, 4, 5, 6, 7])
def test_selfcheck_join_group(version):
    from kafka.protocol.consumer import JoinGroupResponse

    M = JoinGroupResponse.JoinGroupResponseMember
    sub = consumer_subscription(["a", "b"])

    def respond(req):
        assert req.group_id == "g" and req.member_id == "m1" and req.session_timeout_ms == 7000
        if version >= 1:
            assert req.rebalance_timeout_ms == 9000
        if version >= 5:
            assert req.group_instance_id == "inst"
        assert req.protocol_type == "consumer"
        assert [(p.name, bytes(p.metadata)) for p in req.protocols] == [("range", sub), ("roundrobin", b"x")]
        return JoinGroupResponse(throttle_time_ms=0, error_code=0, generation_id=3, protocol_type="consumer",
                                 protocol_name="range", leader="m1", member_id="m1",
                                 members=[M(member_id="m1", group_instance_id="inst", metadata=sub)])

    w = _Loopback(respond)
    out = w.join_group("g", "m1", version=version, session_timeout=7000, rebalance_timeout=9000,
                       instance_id="inst", protocols=[("range", sub), ("roundrobin", b"x")])
    assert (out["error_code"], out["generation_id"], out["protocol_name"], out["leader"], out["member_id"]) == \
        (0, 3, "range", "m1", "m1")
    assert [m["metadata"] for m in out["members"]] == [sub]
    if version >= 5:
        assert out["members"][0]["group_instance_id"] == "inst"


@pytest.mark.parametrize("version", [0, 3, 4, 5])
def test_selfcheck_sync_heartbeat_leave(version):
    from kafka.protocol.consumer import HeartbeatResponse, LeaveGroupResponse, SyncGroupResponse

    asg = consumer_assignment({"t": [0, 2]})

    def respond(req):
        name = type(req).__name__
        if name == "SyncGroupRequest":
            assert (req.group_id, req.generation_id, req.member_id) == ("g", 4, "m")
            assert [(a.member_id, bytes(a.assignment)) for a in req.assignments] == [("m", asg)]
            return SyncGroupResponse(throttle_time_ms=0, error_code=0, protocol_type="consumer",
                                     protocol_name="range", assignment=asg)
        if name == "HeartbeatRequest":
            assert (req.group_id, req.generation_id, req.member_id) == ("g", 4, "m")
            return HeartbeatResponse(throttle_time_ms=0, error_code=27)
        assert req.group_id == "g"
        if version >= 3:
            assert [(m.member_id, m.group_instance_id) for m in req.members] == [("m", None)]
        else:
            assert req.member_id == "m"
        MR = LeaveGroupResponse.MemberResponse
        return LeaveGroupResponse(throttle_time_ms=0, error_code=0,
                                  members=[MR(member_id="m", group_instance_id=None, error_code=0)])

    w = _Loopback(respond)
    s = w.sync_group("g", 4, "m", version=min(version, 5), assignments={"m": asg})
    assert (s["error_code"], s["assignment"]) == (0, asg)
    assert decode_assignment(s["assignment"]) == {"t": [0, 2]}
    assert w.heartbeat("g", 4, "m", version=min(version, 4)) == 27
    lv = w.leave_group("g", "m", version=min(version, 5))
    assert lv["error_code"] == 0


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_selfcheck_find_coordinator(version):
    from kafka.protocol.metadata.find_coordinator import FindCoordinatorResponse

    def respond(req):
        if version >= 4:
            assert list(req.coordinator_keys) == ["g1", "g2"] and req.key_type == 0
            C = FindCoordinatorResponse.Coordinator
            return FindCoordinatorResponse(throttle_time_ms=0, coordinators=[
                C(key=k, node_id=1, host="h", port=9, error_code=0, error_message=None) for k in ("g1", "g2")])
        assert req.key == "g1"
        return FindCoordinatorResponse(throttle_time_ms=0, error_code=0, error_message=None,
                                       node_id=1, host="h", port=9)

    w = _Loopback(respond)
    out = w.find_coordinator(["g1", "g2"] if version >= 4 else "g1", version=version)
    assert [(c["key"], c["node_id"], c["host"], c["port"], c["error_code"]) for c in out] == \
        [(k, 1, "h", 9, 0) for k in (["g1", "g2"] if version >= 4 else ["g1"])]


@pytest.mark.parametrize("version", [2, 3, 5, 6, 7, 8])
def test_selfcheck_offset_commit(version):
    from kafka.protocol.consumer import OffsetCommitResponse

    def respond(req):
        assert req.group_id == "g"
        (t,) = req.topics
        assert t.name == "t"
        assert [(p.partition_index, p.committed_offset, p.committed_metadata) for p in t.partitions] == \
            [(0, 5, "m0"), (1, 7, None)]
        if version >= 6:
            assert [p.committed_leader_epoch for p in t.partitions] == [3, 3]
        T = OffsetCommitResponse.OffsetCommitResponseTopic
        P = T.OffsetCommitResponsePartition
        return OffsetCommitResponse(throttle_time_ms=0, topics=[
            T(name="t", partitions=[P(partition_index=0, error_code=0), P(partition_index=1, error_code=12)])])

    w = _Loopback(respond)
    out = w.offset_commit("g", {("t", 0): (5, "m0"), ("t", 1): (7, None)}, version=version, leader_epoch=3)
    assert out == {("t", 0): 0, ("t", 1): 12}


@pytest.mark.parametrize("version", [1, 2, 5, 6, 7, 8])
def test_selfcheck_offset_fetch(version):
    from kafka.protocol.consumer import OffsetFetchResponse

    def respond(req):
        if version >= 8:
            (g,) = req.groups
            assert g.group_id == "g" and [(t.name, list(t.partition_indexes)) for t in g.topics] == [("t", [0, 1])]
            G = OffsetFetchResponse.OffsetFetchResponseGroup
            T = G.OffsetFetchResponseTopics
            P = T.OffsetFetchResponsePartitions
            return OffsetFetchResponse(throttle_time_ms=0, groups=[G(group_id="g", error_code=0, topics=[
                T(name="t", partitions=[P(partition_index=0, committed_offset=-1, committed_leader_epoch=-1,
                                          metadata="", error_code=0),
                                        P(partition_index=1, committed_offset=9, committed_leader_epoch=2,
                                          metadata="x", error_code=0)])])])
        assert req.group_id == "g" and [(t.name, list(t.partition_indexes)) for t in req.topics] == [("t", [0, 1])]
        T = OffsetFetchResponse.OffsetFetchResponseTopic
        P = T.OffsetFetchResponsePartition
        return OffsetFetchResponse(throttle_time_ms=0, error_code=0, topics=[
            T(name="t", partitions=[P(partition_index=0, committed_offset=-1, committed_leader_epoch=-1,
                                      metadata="", error_code=0),
                                    P(partition_index=1, committed_offset=9, committed_leader_epoch=2,
                                      metadata="x", error_code=0)])])

    w = _Loopback(respond)
    out = w.offset_fetch("g", {"t": [0, 1]}, version=version)
    p0, p1 = out["partitions"][("t", 0)], out["partitions"][("t", 1)]
    assert (p0["offset"], p0["metadata"], p1["offset"], p1["metadata"]) == (-1, "", 9, "x")
    if version >= 5:
        assert (p0["leader_epoch"], p1["leader_epoch"]) == (-1, 2)


@pytest.mark.parametrize("version", [0, 3, 4, 5])
def test_selfcheck_describe_list_delete(version):
    from kafka.protocol.admin import DeleteGroupsResponse, DescribeGroupsResponse, ListGroupsResponse

    def respond(req):
        name = type(req).__name__
        if name == "DescribeGroupsRequest":
            assert list(req.groups) == ["g"]
            G = DescribeGroupsResponse.DescribedGroup
            M = G.DescribedGroupMember
            return DescribeGroupsResponse(throttle_time_ms=0, groups=[G(
                error_code=0, group_id="g", group_state="Stable", protocol_type="consumer", protocol_data="range",
                members=[M(member_id="m", group_instance_id="i", client_id="c", client_host="/127.0.0.1",
                           member_metadata=b"md", member_assignment=b"as")],
                authorized_operations=set())])
        if name == "ListGroupsRequest":
            L = ListGroupsResponse.ListedGroup
            return ListGroupsResponse(throttle_time_ms=0, error_code=0, groups=[
                L(group_id="g", protocol_type="consumer", group_state="Stable")])
        assert list(req.groups_names) == ["g"]
        R = DeleteGroupsResponse.DeletableGroupResult
        return DeleteGroupsResponse(throttle_time_ms=0, results=[R(group_id="g", error_code=68)])

    w = _Loopback(respond)
    (g,) = w.describe_groups(["g"], version=version)
    assert (g["group_id"], g["state"], g["protocol_type"], g["protocol_data"]) == ("g", "Stable", "consumer", "range")
    (m,) = g["members"]
    assert (m["member_id"], m["client_id"], m["client_host"], m["metadata"], m["assignment"]) == \
        ("m", "c", "/127.0.0.1", b"md", b"as")
    lg = w.list_groups(version=min(version, 4))
    assert [x["group_id"] for x in lg["groups"]] == ["g"]
    assert w.delete_groups(["g"], version=min(version, 2)) == {"g": 68}


# ---------------------------------------------------------------------------------------
# Against the broker
# ---------------------------------------------------------------------------------------


@pytest.fixture
def gbroker(broker_factory):
    return broker_factory(dict(GROUP_OVERRIDES, **{"group.max.session.timeout.ms": MAX_SESSION_MS}))


@pytest.fixture
def wire(gbroker):
    w = GroupWire(gbroker, client_id="runnel-wire")
    yield w
    w.close()


def _join_full(w: GroupWire, group: str, topics=("t",), version: int = 5, session: int = 6000, **kw) -> dict:
    """MEMBER_ID_REQUIRED round (v4+) then the real join."""
    j = w.join_group(group, "", version=version, session_timeout=session,
                     protocols=[("range", consumer_subscription(list(topics)))], **kw)
    if j["error_code"] == MEMBER_ID_REQUIRED:
        j = w.join_group(group, j["member_id"], version=version, session_timeout=session,
                         protocols=[("range", consumer_subscription(list(topics)))], **kw)
    assert j["error_code"] == 0, j
    return j


def test_find_coordinator_every_version(gbroker, wire):
    g = unique_group("fc")
    c = wire.wait_coordinator(g)
    assert (c["node_id"], c["host"], c["port"]) == (1, gbroker.host, gbroker.port), c
    for v in (0, 1, 2, 3):
        (c,) = wire.find_coordinator(g, version=v)
        assert (c["error_code"], c["node_id"], c["host"], c["port"]) == (0, 1, gbroker.host, gbroker.port), (v, c)


def test_find_coordinator_v4_batched_keys(gbroker, wire):
    keys = [unique_group(f"batch{i}") for i in range(4)]
    wire.wait_coordinator(keys[0])
    out = wire.find_coordinator(keys, version=4)
    assert len(out) == len(keys), out
    assert sorted(c["key"] for c in out) == sorted(keys), out
    for c in out:
        assert (c["error_code"], c["node_id"], c["host"], c["port"]) == (0, 1, gbroker.host, gbroker.port), c
    # a single key in the v4 shape too
    (one,) = wire.find_coordinator([keys[0]], version=4)
    assert one["key"] == keys[0] and one["error_code"] == 0


def test_join_v4_member_id_required_then_full_lifecycle(gbroker, wire, topic):
    g = unique_group("kip394")
    wire.wait_coordinator(g)
    sub = consumer_subscription([topic])
    j1 = wire.join_group(g, "", version=4, session_timeout=6000, protocols=[("range", sub)])
    assert j1["error_code"] == MEMBER_ID_REQUIRED, j1
    mid = j1["member_id"]
    assert mid, "MEMBER_ID_REQUIRED must carry the generated member id"
    assert mid.startswith("runnel-wire-"), f"Kafka generates '<client_id>-<uuid>', got {mid!r}"
    assert j1["generation_id"] == -1 and j1["members"] == [], j1

    j2 = wire.join_group(g, mid, version=4, session_timeout=6000, protocols=[("range", sub)])
    assert j2["error_code"] == 0, j2
    assert j2["member_id"] == mid and j2["leader"] == mid, j2
    assert j2["generation_id"] >= 1
    assert j2["protocol_name"] == "range"
    assert [(m["member_id"], m["metadata"]) for m in j2["members"]] == [(mid, sub)], j2
    gen = j2["generation_id"]

    asg = consumer_assignment({topic: [0]})
    s = wire.sync_group(g, gen, mid, version=3, assignments={mid: asg})
    assert s["error_code"] == 0 and s["assignment"] == asg, s
    assert wire.heartbeat(g, gen, mid, version=3) == 0

    (d,) = wire.describe_groups([g], version=4)
    assert d["error_code"] == 0 and d["group_id"] == g
    assert (d["state"], d["protocol_type"], d["protocol_data"]) == ("Stable", "consumer", "range"), d
    (m,) = d["members"]
    assert m["member_id"] == mid and m["client_id"] == "runnel-wire", m
    assert "127.0.0.1" in (m["client_host"] or ""), m
    assert m["metadata"] == sub and m["assignment"] == asg, m
    assert m["group_instance_id"] is None

    lg = wire.list_groups(version=4)
    assert lg["error_code"] == 0
    mine = [x for x in lg["groups"] if x["group_id"] == g]
    assert mine == [{"group_id": g, "protocol_type": "consumer", "state": "Stable"}], lg
    lg = wire.list_groups(version=4, states=["Empty"])
    assert g not in [x["group_id"] for x in lg["groups"]], "states filter ignored"

    lv = wire.leave_group(g, mid, version=3)
    assert lv["error_code"] == 0 and [(x["member_id"], x["error_code"]) for x in lv["members"]] == [(mid, 0)], lv
    # (Kafka is Empty at once; test_last_member_leaving_empties_group_at_once pins that down)
    d = wait_until(lambda: (x := wire.describe_groups([g], version=4)[0])["state"] == "Empty" and x,
                   2, "the group to become Empty after its only member left")
    assert d["members"] == [], d
    assert wire.heartbeat(g, gen, mid, version=3) == UNKNOWN_MEMBER_ID


def test_last_member_leaving_empties_group_at_once(gbroker, wire, topic):
    """Kafka completes the rebalance a LeaveGroup of the last member starts right away (all
    zero remaining members have joined), so the group is Empty when LeaveGroup returns and
    DeleteGroups right after it succeeds (e.g. a script that closes its consumer and then
    deletes the group)."""
    g = unique_group("leave-delete")
    wire.wait_coordinator(g)
    j = _join_full(wire, g, topics=[topic], version=4)
    mid, gen = j["member_id"], j["generation_id"]
    assert wire.sync_group(g, gen, mid, assignments={mid: consumer_assignment({topic: [0]})})["error_code"] == 0
    assert wire.leave_group(g, mid, version=3)["error_code"] == 0
    (d,) = wire.describe_groups([g], version=4)
    assert d["state"] == "Empty", f"state right after the last member's LeaveGroup: {d['state']}"
    assert wire.delete_groups([g]) == {g: 0}


def test_join_v3_admits_empty_member_id_directly(wire):
    """KIP-394 applies from JoinGroup v4 only (pitfall: kafka-go looped forever)."""
    g = unique_group("v3")
    wire.wait_coordinator(g)
    j = wire.join_group(g, "", version=3, session_timeout=6000)
    assert j["error_code"] == 0, j
    assert j["member_id"] and j["leader"] == j["member_id"] and j["generation_id"] >= 1, j
    for v in (0, 1, 2):
        j = wire.join_group(unique_group(f"v{v}"), "", version=v, session_timeout=6000, rebalance_timeout=6000)
        assert j["error_code"] == 0 and j["member_id"], (v, j)


@pytest.mark.parametrize("session", [999, 0, MAX_SESSION_MS + 1])
def test_join_session_timeout_out_of_bounds(wire, session):
    g = unique_group("sto")
    wire.wait_coordinator(g)
    j = wire.join_group(g, "", version=4, session_timeout=session)
    assert j["error_code"] == INVALID_SESSION_TIMEOUT, j
    # and the bounds themselves are accepted
    ok = _join_full(wire, unique_group("sto-ok"), version=4, session=1000)
    assert ok["generation_id"] >= 1


def test_join_empty_group_id_and_protocol_mismatch(gbroker, wire):
    g = unique_group("proto")
    wire.wait_coordinator(g)
    j = wire.join_group("", "", version=4)
    assert j["error_code"] == INVALID_GROUP_ID, j
    _join_full(wire, g, version=5)  # protocol type consumer, protocol range
    with GroupWire(gbroker, client_id="other") as w2:
        # a different protocol type
        j = w2.join_group(g, "", version=3, protocol_type="connect", timeout=15)
        assert j["error_code"] == INCONSISTENT_GROUP_PROTOCOL, j
        # no protocol in common
        j = w2.join_group(g, "", version=3, protocols=[("roundrobin", consumer_subscription(["t"]))], timeout=15)
        assert j["error_code"] == INCONSISTENT_GROUP_PROTOCOL, j


@pytest.mark.parametrize("version", [1, 2, 3, 5, 6, 7, 8])
def test_offset_fetch_without_commits(gbroker, wire, topic, version):
    create_topic(gbroker.bootstrap, topic, 2)
    g = unique_group("nocommit")
    wire.wait_coordinator(g)
    out = wire.offset_fetch(g, {topic: [0, 1]}, version=version)
    assert out.get("error_code", 0) == 0, out
    assert sorted(out["partitions"]) == [(topic, 0), (topic, 1)], out
    for p in out["partitions"].values():
        assert p["offset"] == -1, p
        assert p["metadata"] == "", f"metadata must be the empty string, not {p['metadata']!r} (v{version})"
        assert p["error_code"] == 0, p
        if version >= 5:
            assert p["leader_epoch"] == -1, p
    if version >= 2:
        out = wire.offset_fetch(g, None, version=version)  # all committed partitions: none
        assert out.get("error_code", 0) == 0 and out["partitions"] == {}, out


@pytest.mark.parametrize("commit_version", [2, 3, 5, 6, 7, 8])
def test_simple_offset_commit_round_trip(gbroker, wire, topic, commit_version):
    """generation -1 / empty member id: a 'simple' commit (manual assignment)."""
    create_topic(gbroker.bootstrap, topic, 3)
    g = unique_group(f"simple{commit_version}")
    wire.wait_coordinator(g)
    offsets = {(topic, 0): (17, f"meta-v{commit_version}"), (topic, 2): (4, "")}
    res = wire.offset_commit(g, offsets, version=commit_version, leader_epoch=0)
    assert res == {(topic, 0): 0, (topic, 2): 0}, res
    for fv in (1, 5, 8):
        out = wire.offset_fetch(g, {topic: [0, 1, 2]}, version=fv)
        ps = out["partitions"]
        assert (ps[(topic, 0)]["offset"], ps[(topic, 0)]["metadata"]) == (17, f"meta-v{commit_version}"), (fv, ps)
        assert (ps[(topic, 1)]["offset"], ps[(topic, 1)]["metadata"]) == (-1, ""), (fv, ps)
        assert (ps[(topic, 2)]["offset"], ps[(topic, 2)]["metadata"]) == (4, ""), (fv, ps)
        if fv >= 5:
            want_epoch = 0 if commit_version >= 6 else -1
            assert ps[(topic, 0)]["leader_epoch"] == want_epoch, (fv, commit_version, ps)
    out = wire.offset_fetch(g, None, version=8)
    assert sorted(out["partitions"]) == [(topic, 0), (topic, 2)], out
    (d,) = wire.describe_groups([g])
    assert d["state"] == "Empty" and d["members"] == [], d


def test_offset_commit_metadata_too_large(gbroker, wire, topic):
    create_topic(gbroker.bootstrap, topic, 1)
    g = unique_group("bigmeta")
    wire.wait_coordinator(g)
    res = wire.offset_commit(g, {(topic, 0): (5, "m" * 5000)}, version=7)  # offset.metadata.max.bytes 4096
    assert res == {(topic, 0): OFFSET_METADATA_TOO_LARGE}, res
    out = wire.offset_fetch(g, {topic: [0]}, version=7)
    assert out["partitions"][(topic, 0)]["offset"] == -1


def test_offset_fetch_v8_several_groups(gbroker, wire, topic):
    create_topic(gbroker.bootstrap, topic, 1)
    g1, g2 = unique_group("multi1"), unique_group("multi2")
    wire.wait_coordinator(g1)
    wire.wait_coordinator(g2)
    assert wire.offset_commit(g1, {(topic, 0): (11, "one")}) == {(topic, 0): 0}
    out = wire.offset_fetch_groups({g1: {topic: [0]}, g2: None}, version=8)
    assert set(out) == {g1, g2}, out
    assert out[g1]["error_code"] == 0 and out[g1]["partitions"][(topic, 0)]["offset"] == 11
    assert out[g1]["partitions"][(topic, 0)]["metadata"] == "one"
    assert out[g2] == {"partitions": {}, "error_code": 0}, out


def test_two_members_rebalance(gbroker, topic):
    """Leader/follower JoinGroup + SyncGroup on two connections: generation bump, only the
    leader gets the member list, the follower's SyncGroup waits for the leader's, a stale
    generation is ILLEGAL_GENERATION, heartbeats report REBALANCE_IN_PROGRESS."""
    create_topic(gbroker.bootstrap, topic, 2)  # OffsetCommit needs an existing topic
    g = unique_group("two")
    a = GroupWire(gbroker, client_id="member-a")
    b = GroupWire(gbroker, client_id="member-b")
    try:
        a.wait_coordinator(g)
        ja = _join_full(a, g, topics=[topic], session=6000)
        mid_a, gen1 = ja["member_id"], ja["generation_id"]
        sa = a.sync_group(g, gen1, mid_a, assignments={mid_a: consumer_assignment({topic: [0, 1]})})
        assert sa["error_code"] == 0

        jb_box: dict = {}

        def b_joins():
            try:
                jb_box["j"] = _join_full(b, g, topics=[topic], session=6000, timeout=20)
            except BaseException as e:  # reported below
                jb_box["e"] = e

        t = threading.Thread(target=b_joins)
        t.start()
        # a learns about the rebalance from its heartbeat
        deadline = time.monotonic() + 10
        hb = None
        while time.monotonic() < deadline:
            hb = a.heartbeat(g, gen1, mid_a)
            if hb == REBALANCE_IN_PROGRESS:
                break
            time.sleep(0.1)
        assert hb == REBALANCE_IN_PROGRESS, f"heartbeat during rebalance returned {hb}"
        ja2 = a.join_group(g, mid_a, version=5, session_timeout=6000,
                           protocols=[("range", consumer_subscription([topic]))], timeout=20)
        t.join(25)
        assert "e" not in jb_box, jb_box.get("e")
        jb = jb_box["j"]
        assert ja2["error_code"] == 0, ja2
        gen2 = ja2["generation_id"]
        mid_b = jb["member_id"]
        assert gen2 == gen1 + 1 == jb["generation_id"], (ja2, jb)
        leader = ja2["leader"]
        assert leader == jb["leader"] and leader in (mid_a, mid_b), (ja2, jb)
        lw, fw = (a, b) if leader == mid_a else (b, a)
        lj, fj = (ja2, jb) if leader == mid_a else (jb, ja2)
        follower = fj["member_id"]
        assert sorted(m["member_id"] for m in lj["members"]) == sorted([mid_a, mid_b]), lj
        assert fj["members"] == [], f"followers get an empty member list: {fj}"

        # the follower syncs first: held until the leader's SyncGroup arrives
        sf_box: dict = {}

        def follower_syncs():
            try:
                sf_box["s"] = fw.sync_group(g, gen2, follower, assignments={}, timeout=20)
            except BaseException as e:
                sf_box["e"] = e

        t = threading.Thread(target=follower_syncs)
        t.start()
        time.sleep(0.5)
        assert t.is_alive(), f"follower SyncGroup answered before the leader's: {sf_box}"
        asg_l, asg_f = consumer_assignment({topic: [0]}), consumer_assignment({topic: [1]})
        stale = lw.sync_group(g, gen1, leader, assignments={leader: asg_l, follower: asg_f})
        assert stale["error_code"] == ILLEGAL_GENERATION, stale
        sl = lw.sync_group(g, gen2, leader, assignments={leader: asg_l, follower: asg_f})
        t.join(25)
        assert "e" not in sf_box, sf_box.get("e")
        assert sl["error_code"] == 0 and sl["assignment"] == asg_l, sl
        assert sf_box["s"]["error_code"] == 0 and sf_box["s"]["assignment"] == asg_f, sf_box
        assert a.heartbeat(g, gen2, mid_a) == 0 and b.heartbeat(g, gen2, mid_b) == 0
        assert a.heartbeat(g, gen1, mid_a) == ILLEGAL_GENERATION
        (d,) = a.describe_groups([g])
        assert d["state"] == "Stable" and sorted(m["client_id"] for m in d["members"]) == ["member-a", "member-b"], d

        # generation-checked commits: current generation ok, stale one rejected
        assert a.offset_commit(g, {(topic, 0): (3, "x")}, generation=gen2, member_id=mid_a) == {(topic, 0): 0}
        assert a.offset_commit(g, {(topic, 0): (4, "x")}, generation=gen1, member_id=mid_a) == \
            {(topic, 0): ILLEGAL_GENERATION}
        assert a.offset_commit(g, {(topic, 0): (5, "x")}, generation=gen2, member_id="nobody") == \
            {(topic, 0): UNKNOWN_MEMBER_ID}
        assert a.offset_fetch(g, {topic: [0]})["partitions"][(topic, 0)]["offset"] == 3

        # an active group cannot be deleted
        assert a.delete_groups([g]) == {g: NON_EMPTY_GROUP}
    finally:
        a.close()
        b.close()


def test_pending_member_expires(gbroker, topic):
    """A member that got MEMBER_ID_REQUIRED and never rejoins must not block the group
    longer than its session timeout (pitfall: pending members never expired)."""
    g = unique_group("pending")
    a = GroupWire(gbroker, client_id="abandoned")
    b = GroupWire(gbroker, client_id="real")
    try:
        a.wait_coordinator(g)
        ja = a.join_group(g, "", version=4, session_timeout=1500, rebalance_timeout=1500)
        assert ja["error_code"] == MEMBER_ID_REQUIRED, ja
        t0 = time.monotonic()
        jb = _join_full(b, g, topics=[topic], version=4, session=6000, timeout=20)
        took = time.monotonic() - t0
        assert took < 8, f"join took {took:.1f}s although the pending member's session is 1.5s"
        assert [m["member_id"] for m in jb["members"]] == [jb["member_id"]], jb
        time.sleep(2)
        # the abandoned id is gone
        late = a.join_group(g, ja["member_id"], version=4, session_timeout=1500, timeout=15)
        assert late["error_code"] == UNKNOWN_MEMBER_ID, late
    finally:
        a.close()
        b.close()


def test_static_member_rejoin_is_fenced_not_rebalanced(gbroker, wire, topic):
    """KIP-345 over the wire: a static member's JoinGroup (v5, instance id) needs no
    MEMBER_ID_REQUIRED round; rejoining with the same instance id and an empty member id
    while Stable keeps the generation, hands out a new member id and the stored
    assignment, and fences the old member id (FENCED_INSTANCE_ID)."""
    g = unique_group("static")
    wire.wait_coordinator(g)
    sub = consumer_subscription([topic])
    j1 = wire.join_group(g, "", version=5, instance_id="inst-1", protocols=[("range", sub)])
    assert j1["error_code"] == 0, f"static members get their id at once: {j1}"
    old, gen = j1["member_id"], j1["generation_id"]
    asg = consumer_assignment({topic: [0, 1, 2]})
    assert wire.sync_group(g, gen, old, instance_id="inst-1", assignments={old: asg})["error_code"] == 0
    (d,) = wire.describe_groups([g], version=4)
    assert [(m["member_id"], m["group_instance_id"]) for m in d["members"]] == [(old, "inst-1")], d

    with GroupWire(gbroker, client_id="restarted") as w2:
        j2 = w2.join_group(g, "", version=5, instance_id="inst-1", protocols=[("range", sub)])
        assert j2["error_code"] == 0, j2
        new = j2["member_id"]
        assert new and new != old, j2
        assert j2["generation_id"] == gen, f"static rejoin while Stable must not bump the generation: {j2}"
        s = w2.sync_group(g, gen, new, instance_id="inst-1", assignments={new: asg})
        assert s["error_code"] == 0 and decode_assignment(s["assignment"]) == {topic: [0, 1, 2]}, s
        assert w2.heartbeat(g, gen, new, instance_id="inst-1") == 0
    assert wire.heartbeat(g, gen, old, instance_id="inst-1") == FENCED_INSTANCE_ID
    (d,) = wire.describe_groups([g], version=4)
    assert [(m["member_id"], m["group_instance_id"]) for m in d["members"]] == [(new, "inst-1")], d
    assert d["state"] == "Stable"
    # LeaveGroup v3 by instance id removes it
    lv = wire.leave_group(g, version=3, members=[(new, "inst-1")])
    assert lv["error_code"] == 0 and [x["error_code"] for x in lv["members"]] == [0], lv
    wait_until(lambda: wire.describe_groups([g], version=4)[0]["state"] == "Empty", 2, "Empty after the leave")


def test_delete_groups(gbroker, wire, topic):
    create_topic(gbroker.bootstrap, topic, 1)
    g = unique_group("del")
    missing = unique_group("missing")
    wire.wait_coordinator(g)
    assert wire.offset_commit(g, {(topic, 0): (9, "m")}) == {(topic, 0): 0}
    res = wire.delete_groups([g, missing])
    assert res == {g: 0, missing: GROUP_ID_NOT_FOUND}, res
    out = wire.offset_fetch(g, {topic: [0]})
    assert out["partitions"][(topic, 0)]["offset"] == -1, "offsets of a deleted group must be gone"
    (d,) = wire.describe_groups([g])
    assert d["state"] in ("Dead", ""), d
    assert g not in [x["group_id"] for x in wire.list_groups()["groups"]]


def test_deleted_group_stays_deleted_after_restart(gbroker, topic):
    create_topic(gbroker.bootstrap, topic, 1)
    g_del, g_keep = unique_group("gone"), unique_group("kept")
    with GroupWire(gbroker) as w:
        w.wait_coordinator(g_del)
        assert w.offset_commit(g_del, {(topic, 0): (9, "m")}) == {(topic, 0): 0}
        assert w.offset_commit(g_keep, {(topic, 0): (12, "k")}) == {(topic, 0): 0}
        assert w.delete_groups([g_del]) == {g_del: 0}
    assert gbroker.restart() == 0
    with GroupWire(gbroker) as w:
        w.wait_coordinator(g_keep)
        assert w.offset_fetch_loaded(g_del, {topic: [0]})["partitions"][(topic, 0)]["offset"] == -1
        p = w.offset_fetch_loaded(g_keep, {topic: [0]})["partitions"][(topic, 0)]
        assert (p["offset"], p["metadata"]) == (12, "k")
        groups = [x["group_id"] for x in w.list_groups()["groups"]]
        assert g_keep in groups and g_del not in groups, groups


def test_consumer_offsets_topic_is_internal(gbroker, wire):
    g = unique_group("internal")
    wire.wait_coordinator(g)
    s = kafka_wire.connect(gbroker.host, gbroker.port)
    try:
        resp = kafka_wire.request(s, kafka_wire.encode_metadata_request(12, 1, ["__consumer_offsets"]))
    finally:
        s.close()
    md = kafka_wire.decode_metadata_response(resp, 12)
    (t,) = md["topics"]
    if t["error_code"] == 3:  # hidden from Metadata: allowed by the brief, nothing more to check
        pytest.skip("__consumer_offsets is not exposed in Metadata")
    assert t["error_code"] == 0, t
    assert t["is_internal"] is True, f"__consumer_offsets must be marked internal: {t}"
    assert len(t["partitions"]) == GROUP_OVERRIDES["offsets.topic.num.partitions"], t
    assert all(p["leader_id"] == 1 for p in t["partitions"]), t


def test_group_max_size(broker_factory):
    """group.max.size=2: a third member is refused with GROUP_MAX_SIZE_REACHED (81) while
    the first two complete their rebalance."""
    b = broker_factory(dict(GROUP_OVERRIDES, **{"group.max.size": 2}))
    g = unique_group("max")
    ws = [GroupWire(b, client_id=f"m{i}") for i in range(3)]
    try:
        ws[0].wait_coordinator(g)
        j0 = ws[0].join_group(g, "", version=3, session_timeout=6000, rebalance_timeout=5000)
        assert j0["error_code"] == 0, j0
        box: dict = {}

        def second():
            box["j"] = ws[1].join_group(g, "", version=3, session_timeout=6000, rebalance_timeout=5000, timeout=20)

        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.5)
        j2 = ws[2].join_group(g, "", version=3, session_timeout=6000, rebalance_timeout=5000, timeout=20)
        assert j2["error_code"] == GROUP_MAX_SIZE_REACHED, j2
        j0b = ws[0].join_group(g, j0["member_id"], version=3, session_timeout=6000, rebalance_timeout=5000,
                               timeout=20)
        t.join(25)
        assert j0b["error_code"] == 0 and box["j"]["error_code"] == 0, (j0b, box)
        assert j0b["generation_id"] == box["j"]["generation_id"] == j0["generation_id"] + 1
        (d,) = ws[0].describe_groups([g])
        assert len(d["members"]) == 2, d
    finally:
        for w in ws:
            w.close()


def _in_thread(fn):
    box: dict = {}

    def run():
        try:
            box["v"] = fn()
        except BaseException as e:  # re-raised by the caller
            box["e"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def result(timeout=25):
        t.join(timeout)
        if "e" in box:
            raise box["e"]
        assert "v" in box, "call did not finish"
        return box["v"]
    result.thread = t
    return result


def test_commit_during_rebalance_phases(gbroker, topic):
    """Kafka accepts commits of the current generation while the group is
    PreparingRebalance (eager consumers commit in their revoke callback then), refuses them
    with REBALANCE_IN_PROGRESS while CompletingRebalance, ILLEGAL_GENERATION for an old one."""
    create_topic(gbroker.bootstrap, topic, 1)
    g = unique_group("commit-phases")
    a, c = GroupWire(gbroker, client_id="a"), GroupWire(gbroker, client_id="c")
    try:
        a.wait_coordinator(g)
        ja = _join_full(a, g, topics=[topic], session=10000)
        mid_a, gen1 = ja["member_id"], ja["generation_id"]
        # CompletingRebalance (joined, not synced yet): heartbeats are fine, commits are not
        assert a.heartbeat(g, gen1, mid_a) == 0
        assert a.offset_commit(g, {(topic, 0): (1, "")}, generation=gen1, member_id=mid_a) == \
            {(topic, 0): REBALANCE_IN_PROGRESS}
        assert a.sync_group(g, gen1, mid_a, assignments={mid_a: consumer_assignment({topic: [0]})})["error_code"] == 0
        assert a.offset_commit(g, {(topic, 0): (2, "stable")}, generation=gen1, member_id=mid_a) == {(topic, 0): 0}

        jc = _in_thread(lambda: _join_full(c, g, topics=[topic], session=10000, timeout=20))
        wait_until(lambda: a.heartbeat(g, gen1, mid_a) == REBALANCE_IN_PROGRESS, 10, "PreparingRebalance")
        res = a.offset_commit(g, {(topic, 0): (3, "preparing")}, generation=gen1, member_id=mid_a)
        assert res == {(topic, 0): 0}, f"commit of the current generation during PreparingRebalance: {res}"
        ja2 = a.join_group(g, mid_a, version=5, session_timeout=10000,
                           protocols=[("range", consumer_subscription([topic]))], timeout=20)
        jc2 = jc()
        gen2 = ja2["generation_id"]
        assert ja2["error_code"] == 0 and jc2["generation_id"] == gen2 == gen1 + 1, (ja2, jc2)
        assert a.offset_commit(g, {(topic, 0): (4, "")}, generation=gen1, member_id=mid_a) == \
            {(topic, 0): ILLEGAL_GENERATION}
        assert a.offset_commit(g, {(topic, 0): (5, "")}, generation=gen2, member_id=mid_a) == \
            {(topic, 0): REBALANCE_IN_PROGRESS}
        p = a.offset_fetch(g, {topic: [0]})["partitions"][(topic, 0)]
        assert (p["offset"], p["metadata"]) == (3, "preparing"), p
    finally:
        a.close()
        c.close()


def test_member_not_rejoining_is_removed_after_rebalance_timeout(gbroker, topic):
    """A member that keeps heartbeating but does not rejoin a rebalance is dropped when the
    rebalance timeout expires (not its much longer session timeout); the others complete
    the rebalance without it."""
    g = unique_group("straggler")
    a, b, c = (GroupWire(gbroker, client_id=n) for n in ("a", "b", "c"))
    rt = 3000
    try:
        a.wait_coordinator(g)
        proto = [("range", consumer_subscription([topic]))]

        def join(w, mid="", timeout=20):
            j = w.join_group(g, mid, version=5, session_timeout=30000, rebalance_timeout=rt, protocols=proto,
                             timeout=timeout)
            if j["error_code"] == MEMBER_ID_REQUIRED:
                j = w.join_group(g, j["member_id"], version=5, session_timeout=30000, rebalance_timeout=rt,
                                 protocols=proto, timeout=timeout)
            return j

        ja = join(a)
        jb_f = _in_thread(lambda: join(b))
        wait_until(lambda: a.heartbeat(g, ja["generation_id"], ja["member_id"]) == REBALANCE_IN_PROGRESS, 10,
                   "rebalance for b")
        ja = a.join_group(g, ja["member_id"], version=5, session_timeout=30000, rebalance_timeout=rt,
                          protocols=proto, timeout=20)
        jb = jb_f()
        gen = ja["generation_id"]
        assert ja["error_code"] == jb["error_code"] == 0 and jb["generation_id"] == gen, (ja, jb)
        leader = ja if ja["leader"] == ja["member_id"] else jb
        lw = a if leader is ja else b
        asg = {ja["member_id"]: consumer_assignment({topic: [0]}), jb["member_id"]: consumer_assignment({topic: [1]})}
        fol = _in_thread(lambda: (b if lw is a else a).sync_group(
            g, gen, (jb if lw is a else ja)["member_id"], assignments={}, timeout=20))
        assert lw.sync_group(g, gen, leader["member_id"], assignments=asg)["error_code"] == 0
        assert fol()["error_code"] == 0

        # c joins; a rejoins; b only heartbeats
        t0 = time.monotonic()
        jc_f = _in_thread(lambda: join(c))
        wait_until(lambda: a.heartbeat(g, gen, ja["member_id"]) == REBALANCE_IN_PROGRESS, 10, "rebalance for c")
        ja_f = _in_thread(lambda: a.join_group(g, ja["member_id"], version=5, session_timeout=30000,
                                               rebalance_timeout=rt, protocols=proto, timeout=20))
        hb = []
        while ja_f.thread.is_alive() and time.monotonic() - t0 < 15:
            hb.append(b.heartbeat(g, gen, jb["member_id"]))
            time.sleep(0.3)
        ja3, jc3 = ja_f(), jc_f()
        took = time.monotonic() - t0
        assert ja3["error_code"] == 0 and jc3["error_code"] == 0, (ja3, jc3)
        assert ja3["generation_id"] == jc3["generation_id"] == gen + 1
        assert took < rt / 1000 + 4, f"rebalance took {took:.1f}s with a {rt} ms rebalance timeout"
        lj = ja3 if ja3["members"] else jc3
        assert sorted(m["member_id"] for m in lj["members"]) == sorted([ja["member_id"], jc3["member_id"]]), lj
        assert REBALANCE_IN_PROGRESS in hb, hb
        assert b.heartbeat(g, gen, jb["member_id"]) == UNKNOWN_MEMBER_ID
    finally:
        for w in (a, b, c):
            w.close()


def test_concurrent_first_find_coordinator_then_group_requests(broker_factory):
    """Several clients look up their coordinator at once on a broker without
    `__consumer_offsets`: whoever gets FindCoordinator NONE must then be served by the
    coordinator (at worst with the retriable COORDINATOR_LOAD_IN_PROGRESS), never
    NOT_COORDINATOR, which librdkafka's DescribeConsumerGroups reports as a final error.

    The race (a second FindCoordinator returning before the creating one has activated the
    group shards) is timing dependent: the test repeats it on fresh brokers with the CPUs
    kept busy to widen the window."""
    import os
    import subprocess
    import sys

    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    failures = []
    try:
        for trial in range(30):
            b = broker_factory(GROUP_OVERRIDES)
            ws = [GroupWire(b, client_id=f"race{i}") for i in range(10)]
            groups = [f"race-{i}" for i in range(20)]
            out: dict = {}
            barrier = threading.Barrier(len(ws))

            def run(i, w):
                barrier.wait()
                (c,) = w.find_coordinator(groups[i], version=2)
                if c["error_code"] != 0:
                    return  # retriable, a client would look again
                out[i] = sorted({g["error_code"] for g in w.describe_groups(groups)})

            ts = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(ws)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(20)
            for w in ws:
                w.close()
            bad = {i: codes for i, codes in out.items() if set(codes) - {0, 14}}
            if bad:
                failures.append((trial, bad))
            b.stop()
    finally:
        for p in burners:
            p.kill()
            p.wait(5)
    assert not failures, ("DescribeGroups right after a successful FindCoordinator returned "
                          f"(trial, {{connection: error codes}}): {failures}")


def test_leader_that_never_syncs_releases_waiting_follower(gbroker, topic):
    """The leader joins but never sends SyncGroup nor heartbeats: when its session expires
    the follower's held SyncGroup is answered REBALANCE_IN_PROGRESS, and the follower can
    rejoin alone and become the leader of the next generation."""
    g = unique_group("lost-leader")
    a, b = GroupWire(gbroker, client_id="leader"), GroupWire(gbroker, client_id="follower")
    proto = [("range", consumer_subscription([topic]))]
    try:
        a.wait_coordinator(g)
        ja = _join_full(a, g, topics=[topic], session=2000)
        jb_f = _in_thread(lambda: _join_full(b, g, topics=[topic], session=6000, timeout=20))
        wait_until(lambda: a.heartbeat(g, ja["generation_id"], ja["member_id"]) == REBALANCE_IN_PROGRESS, 10,
                   "rebalance for the follower")
        ja2 = a.join_group(g, ja["member_id"], version=5, session_timeout=2000, protocols=proto, timeout=20)
        jb = jb_f()
        assert ja2["leader"] == ja["member_id"] != jb["member_id"], (ja2, jb)
        gen = jb["generation_id"]
        # the follower waits for the leader's assignments that never come
        t0 = time.monotonic()
        sb = b.sync_group(g, gen, jb["member_id"], assignments={}, timeout=20)
        took = time.monotonic() - t0
        assert sb["error_code"] == REBALANCE_IN_PROGRESS, sb
        assert took < 2.0 + 5, f"follower's SyncGroup held {took:.1f}s (leader session 2 s)"
        jb2 = b.join_group(g, jb["member_id"], version=5, session_timeout=6000, protocols=proto, timeout=20)
        assert jb2["error_code"] == 0 and jb2["leader"] == jb["member_id"], jb2
        assert jb2["generation_id"] > gen
        assert [m["member_id"] for m in jb2["members"]] == [jb["member_id"]], jb2
        assert a.heartbeat(g, gen, ja["member_id"]) == UNKNOWN_MEMBER_ID
    finally:
        a.close()
        b.close()


def test_leave_group_batch_with_unknown_member(gbroker, wire, topic):
    g = unique_group("leave-batch")
    wire.wait_coordinator(g)
    j = _join_full(wire, g, topics=[topic])
    mid = j["member_id"]
    assert wire.sync_group(g, j["generation_id"], mid, assignments={mid: b""})["error_code"] == 0
    for version in (3, 4):
        lv = wire.leave_group(g, version=version, members=[("ghost-member", None)])
        assert lv["error_code"] == 0, lv
        assert [(m["member_id"], m["error_code"]) for m in lv["members"]] == [("ghost-member", UNKNOWN_MEMBER_ID)], lv
    lv = wire.leave_group(g, version=4, members=[(mid, None), ("ghost-member", None)])
    assert lv["error_code"] == 0, lv
    assert [(m["member_id"], m["error_code"]) for m in lv["members"]] == \
        [(mid, 0), ("ghost-member", UNKNOWN_MEMBER_ID)], lv
    lv = wire.leave_group(g, "ghost-member", version=1)
    assert lv["error_code"] == UNKNOWN_MEMBER_ID, lv
