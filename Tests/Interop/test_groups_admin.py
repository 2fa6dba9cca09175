"""Group administration: confluent-kafka AdminClient (ListGroups v4/v5, DescribeGroups,
DeleteGroups, OffsetCommit/OffsetFetch through alter/list_consumer_group_offsets) and
kafka-python 3 KafkaAdminClient (list_groups, describe_groups, list_group_offsets,
alter_group_offsets, delete_group_offsets = OffsetDelete, delete_groups)."""

from __future__ import annotations

import pytest
from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions, KafkaError, KafkaException
from confluent_kafka import TopicPartition as CkTP

from group_util import (
    Member, ck_admin, committed_offsets_admin, create_topic, group_broker, produce_per_partition,
    unique_group, wait_converged, wait_until,
)
from interop_util import KP_COMMON

T = 10  # admin request timeout (s)


def _listing(admin, group, states=None):
    kw = {"request_timeout": T}
    if states is not None:
        kw["states"] = set(states)
    res = admin.list_consumer_groups(**kw).result(timeout=T + 5)
    assert not res.errors, res.errors
    found = [g for g in res.valid if g.group_id == group]
    return found[0] if found else None


def _describe(admin, group):
    return admin.describe_consumer_groups([group], request_timeout=T)[group].result(timeout=T + 5)


def _delete_error(admin, group):
    """None on success, else the KafkaError code."""
    try:
        admin.delete_consumer_groups([group], request_timeout=T)[group].result(timeout=T + 5)
        return None
    except KafkaException as e:
        return e.args[0].code()


def test_confluent_list_describe_delete(broker_factory, topic):
    b = group_broker(broker_factory)
    parts = 4
    create_topic(b.bootstrap, topic, parts)
    group = unique_group("adm")
    admin = ck_admin(b.bootstrap)
    members: list[Member] = []
    try:
        members = [Member(b.bootstrap, topic, group, n, client_id=f"adm-{n}", commit_every=0.5,
                          log_dir=b.workdir).start() for n in ("a", "b")]
        split = wait_converged(members, range(parts), 45)

        lst = wait_until(lambda: (g := _listing(admin, group)) is not None and g.state == ConsumerGroupState.STABLE and g,
                         15, "the group listed as Stable")
        assert lst.is_simple_consumer_group is False, lst
        assert _listing(admin, group, states=[ConsumerGroupState.STABLE]) is not None
        assert _listing(admin, group, states=[ConsumerGroupState.EMPTY]) is None, "states filter ignored"

        d = _describe(admin, group)
        assert d.group_id == group and d.state == ConsumerGroupState.STABLE, d
        assert d.is_simple_consumer_group is False
        assert d.partition_assignor in ("range", "roundrobin"), d.partition_assignor
        assert d.coordinator is not None and d.coordinator.id == 1, d.coordinator
        assert len(d.members) == 2, d.members
        by_client = {m.client_id: m for m in d.members}
        assert set(by_client) == {"adm-a", "adm-b"}, by_client
        for m in members:
            md = by_client[f"adm-{m.name}"]
            assert "127.0.0.1" in md.host, md.host
            assert md.member_id == m.member_id(), (md.member_id, m.member_id())
            assert md.group_instance_id is None
            got = {tp.partition for tp in md.assignment.topic_partitions if tp.topic == topic}
            assert got == split[m.name], (m.name, got, split)

        assert _delete_error(admin, group) == KafkaError.NON_EMPTY_GROUP

        # list_consumer_group_offsets reflects the members' commits
        produce_per_partition(b.bootstrap, topic, parts, 5, tag="adm")
        wait_until(lambda: {p: o for (t, p), (o, _) in committed_offsets_admin(admin, group).items()
                            if t == topic} == {p: 5 for p in range(parts)}, 20, "commits of 5 per partition",
                   detail=lambda: committed_offsets_admin(admin, group))

        for m in members:
            assert m.stop() == 0, m.stderr_tail()
        wait_until(lambda: (g := _listing(admin, group)) is not None and g.state == ConsumerGroupState.EMPTY, 15,
                   "the group listed as Empty after its members left")
        d = _describe(admin, group)
        assert d.state == ConsumerGroupState.EMPTY and d.members == [], d

        assert _delete_error(admin, group) is None
        assert _listing(admin, group) is None, "deleted group still listed"
        left = committed_offsets_admin(admin, group)
        assert all(o < 0 for o, _ in left.values()), f"deleted group still has offsets {left}"
        assert _delete_error(admin, group) == KafkaError.GROUP_ID_NOT_FOUND
    finally:
        for m in members:
            m.cleanup()


def test_confluent_alter_offsets_then_resume(broker_factory, topic):
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, 2)
    produce_per_partition(b.bootstrap, topic, 2, 20, tag="alter")
    group = unique_group("adm-alter")
    admin = ck_admin(b.bootstrap)
    req = ConsumerGroupTopicPartitions(group, [CkTP(topic, 0, 7, metadata="seven"), CkTP(topic, 1, 13)])
    res = admin.alter_consumer_group_offsets([req], request_timeout=T)[group].result(timeout=T + 5)
    assert sorted((tp.partition, tp.offset) for tp in res.topic_partitions) == [(0, 7), (1, 13)]
    assert all(tp.error is None for tp in res.topic_partitions), res.topic_partitions
    got = committed_offsets_admin(admin, group)
    assert {p: o for (t, p), (o, _) in got.items()} == {0: 7, 1: 13}, got
    assert got[(topic, 0)][1] == "seven", got

    lst = _listing(admin, group)
    assert lst is not None and lst.state == ConsumerGroupState.EMPTY, lst

    m = Member(b.bootstrap, topic, group, "resumer", commit_every=0.3, log_dir=b.workdir).start()
    try:
        wait_until(lambda: len(m.records()) >= (20 - 7) + (20 - 13), 30, "the resumed member to read the rest",
                   detail=m.describe)
        recs = m.records()
        by_p = {p: sorted(o for q, o in recs if q == p) for p in (0, 1)}
        assert by_p[0] == list(range(7, 20)), by_p[0]
        assert by_p[1] == list(range(13, 20)), by_p[1]

        # altering the offsets of an active group is refused (the member does not belong to it)
        try:
            res = admin.alter_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group, [CkTP(topic, 0, 1)])], request_timeout=T)[group].result(timeout=T + 5)
            codes = [tp.error.code() if tp.error else None for tp in res.topic_partitions]
        except KafkaException as e:
            codes = [e.args[0].code()]
        assert codes == [KafkaError.UNKNOWN_MEMBER_ID], codes
    finally:
        m.stop()
        m.cleanup()
    got = committed_offsets_admin(admin, group)
    assert {p: o for (t, p), (o, _) in got.items()} == {0: 20, 1: 20}, got


# ---------------------------------------------------------------------------------------
# kafka-python KafkaAdminClient
# ---------------------------------------------------------------------------------------


def _kp_admin(bootstrap):
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=bootstrap, **KP_COMMON)


def _assigned(assignment) -> dict[str, list[int]]:
    """kafka-python's decoded ConsumerProtocolAssignment (object or dict) -> {topic: partitions}."""
    if assignment is None:
        return {}
    if hasattr(assignment, "to_dict"):
        assignment = assignment.to_dict()
    out = {}
    for tp in assignment.get("assigned_partitions", []):
        tp = tp.to_dict() if hasattr(tp, "to_dict") else tp
        out[tp["topic"]] = sorted(tp["partitions"])
    return out


def test_kafka_python_admin(broker_factory, topic):
    from kafka import TopicPartition
    from kafka.errors import NoError
    from kafka.structs import OffsetAndMetadata

    b = group_broker(broker_factory)
    parts = 3
    create_topic(b.bootstrap, topic, parts)
    group = unique_group("kpadm")
    admin = _kp_admin(b.bootstrap)
    members: list[Member] = []
    try:
        members = [Member(b.bootstrap, topic, group, n, client_id=f"kpadm-{n}", commit_every=0.5,
                          log_dir=b.workdir).start() for n in ("a", "b")]
        split = wait_converged(members, range(parts), 45)

        listed = [g for g in admin.list_groups() if g["group_id"] == group]
        assert len(listed) == 1, admin.list_groups()
        assert listed[0]["protocol_type"] == "consumer", listed
        assert listed[0].get("group_state") in (None, "Stable"), listed
        assert [g["group_id"] for g in admin.list_groups(states_filter=["Stable"]) if g["group_id"] == group] == [group]

        desc = admin.describe_groups([group])[group]
        assert desc["error"] is None, desc
        assert desc["group_state"] == "Stable" and desc["protocol_type"] == "consumer", desc
        assert desc["protocol_data"] in ("range", "roundrobin"), desc
        assert sorted(m["client_id"] for m in desc["members"]) == ["kpadm-a", "kpadm-b"], desc
        for md in desc["members"]:
            name = md["client_id"].split("-")[1]
            assert "127.0.0.1" in md["client_host"], md
            assert set(_assigned(md["member_assignment"]).get(topic, [])) == split[name], (md, split)

        produce_per_partition(b.bootstrap, topic, parts, 4, tag="kpadm")
        tps = [TopicPartition(topic, p) for p in range(parts)]

        def offsets():
            return {tp.partition: om.offset for tp, om in admin.list_group_offsets({group: None})[group].items()}

        wait_until(lambda: offsets() == {p: 4 for p in range(parts)}, 20, "commits of 4 per partition",
                   detail=offsets)
        res = admin.list_group_offsets({group: tps[:1]})[group]
        assert {tp.partition: om.offset for tp, om in res.items()} == {0: 4}, res

        # OffsetDelete on a topic the active group consumes: GROUP_SUBSCRIBED_TO_TOPIC
        from kafka.errors import GroupSubscribedToTopicError

        try:
            res = admin.delete_group_offsets(group, tps[:1])
            errs = {tp.partition: e for tp, e in res.items()}
            assert errs == {0: GroupSubscribedToTopicError}, errs
        except GroupSubscribedToTopicError:
            pass

        for m in members:
            assert m.stop() == 0
        wait_until(lambda: admin.describe_groups([group])[group]["group_state"] == "Empty", 15, "Empty group")

        res = admin.alter_group_offsets(group, {tps[1]: OffsetAndMetadata(2, "kp-alter", -1)})
        assert all(e is NoError for e in res.values()), res
        res = admin.delete_group_offsets(group, tps[:1])
        assert all(e is NoError for e in res.values()), res
        got = admin.list_group_offsets({group: None})[group]
        assert {tp.partition: (om.offset, om.metadata) for tp, om in got.items()} == \
            {1: (2, "kp-alter"), 2: (4, "")}, got

        res = admin.delete_groups([group])
        assert dict(res.items() if isinstance(res, dict) else res) == {group: "OK"}, res
        assert group not in [g["group_id"] for g in admin.list_groups()]
    finally:
        admin.close()
        for m in members:
            m.cleanup()


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_describe_unknown_group(broker_factory, client):
    """A group the coordinator does not know is described as Dead with no members (Kafka
    answers error NONE, state "Dead")."""
    b = group_broker(broker_factory)
    group = unique_group("nosuch")
    if client == "confluent":
        admin = ck_admin(b.bootstrap)
        try:
            d = _describe(admin, group)
            assert d.state in (ConsumerGroupState.DEAD, ConsumerGroupState.UNKNOWN), d
            assert d.members == []
        except KafkaException as e:  # librdkafka may map Dead to GROUP_ID_NOT_FOUND
            assert e.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND, e
    else:
        admin = _kp_admin(b.bootstrap)
        try:
            desc = admin.describe_groups([group])[group]
            assert desc["group_state"] == "Dead" and desc["members"] == [], desc
        finally:
            admin.close()
