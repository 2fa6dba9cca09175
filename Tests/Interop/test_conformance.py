"""Raw-socket conformance of every advertised (api key, version), built from kafka-python's
own protocol classes.

kafka-python 3.0.12 generates one request and one response class per API from Kafka's message
JSON schemas (``kafka/protocol/schemas/resources/*.json``, Kafka 4.x). Those classes encode the
requests and decode the responses here; ``kafka_wire`` is used only to frame bytes on the socket.
The request header is written by hand (v1, or v2 for flexible versions, which adds an empty tag
buffer); the response header is v0, or v1 (with a tag buffer) for flexible versions, except for
ApiVersions, whose response header is always v0.

How the cases are chosen: at collection time a throw-away broker (same ``RUNNEL_BIN``) is asked
for ApiVersions, and every advertised (api, version) for which this module has a request builder
and kafka-python has request and response classes becomes its own test id
``test_api_version[<Name>-<key>-v<version>]``. Each test sends a sensible request (a topic created
up front with 5 records with known timestamps, its own group ids, topics, ...) over one raw
socket, and asserts: the correlation id matches, the response body is consumed exactly (no byte
left over), and the error codes are the expected ones (mostly NONE; where the sensible request
has a documented error, that exact error, e.g. JoinGroup v4+ first join -> MEMBER_ID_REQUIRED, a
second CreateTopics -> TOPIC_ALREADY_EXISTS). Produce v0-2 send legacy message sets built by
kafka-python's LegacyRecordBatchBuilder (magic 0 for v0-1, magic 1 for v2, as Kafka clients did)
and Fetch v0-3 must return the records down-converted to magic 0 (v0-1) or magic 1 (v2-3).

Advertised (api, version) pairs kafka-python 3.0.12 has no class for
--------------------------------------------------------------------
None, for the binary this was written against (ApiVersions: Produce 0-9, Fetch 0-12,
ListOffsets 1-7, Metadata 0-12, OffsetCommit 2-8, OffsetFetch 1-8, FindCoordinator 0-4,
JoinGroup 0-7, Heartbeat 0-4, LeaveGroup 0-4, SyncGroup 0-5, DescribeGroups 0-5, ListGroups 0-4,
ApiVersions 0-4, CreateTopics 0-5, DeleteTopics 0-4, DeleteRecords 0-2, InitProducerId 0-4,
OffsetForLeaderEpoch 2-4, DescribeConfigs 1-4, CreatePartitions 0-3, DeleteGroups 0-2,
OffsetDelete 0, DescribeClientQuotas 0-1, AlterClientQuotas 0-1, DescribeCluster 0-1, SaslHandshake
0-1, SaslAuthenticate 0-2, DescribeUserScramCredentials 0, AlterUserScramCredentials 0, DescribeAcls 0-3,
CreateAcls 0-3, DeleteAcls 0-3; on the module broker's PLAINTEXT listener the SASL pair answers
ILLEGAL_SASL_STATE, as Kafka does). The broker runs with an authorizer and User:ANONYMOUS (this
module's PLAINTEXT connections) as a super user, so every API is also checked with ACLs on.
``NO_KAFKA_PYTHON_CLASS`` below is that (empty) list.

Caveat: the Kafka 4 schemas kafka-python ships declare Produce ``validVersions`` 3-13,
CreateTopics 2-7, DeleteTopics 1-6 and DescribeLogDirs 1-5 (the lower versions were removed in
Kafka 4.0). kafka-python's ``ApiMessageData`` deliberately lowers every class's minimum to 0 and
the schemas keep each field's ``versions`` annotation, so Produce v0-2, CreateTopics v0-1 and
DeleteTopics v0 (and DescribeLogDirs v0 if it is ever advertised) are still built with the
pre-4.0 layouts; they are covered, not listed.

AlterConfigs (33), IncrementalAlterConfigs (44) and DescribeLogDirs (35) have builders ready:
they are tested as soon as the binary advertises them.

``test_every_advertised_pair_is_covered_or_documented`` fails when the broker advertises an
(api, version) that is neither covered here nor in ``NO_KAFKA_PYTHON_CLASS`` (a new API, or a
version above kafka-python's classes), so coverage cannot shrink silently.

The module also checks ApiVersions v0, v3, v4 and v99 with hand-encoded bytes (KIP-511).
"""

from __future__ import annotations

import os
import socket
import struct
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from kafka.protocol.admin import (
    CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse, DescribeAclsRequest, DescribeAclsResponse,
    AlterConfigsRequest, AlterConfigsResponse, CreatePartitionsRequest, CreatePartitionsResponse,
    CreateTopicsRequest, CreateTopicsResponse, DeleteGroupsRequest, DeleteGroupsResponse,
    DeleteRecordsRequest, DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    DescribeLogDirsRequest, DescribeLogDirsResponse, ElectLeadersRequest, ElectLeadersResponse,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse, ListGroupsRequest, ListGroupsResponse,
    AlterClientQuotasRequest, AlterClientQuotasResponse, DescribeClientQuotasRequest,
    DescribeClientQuotasResponse, AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse)
from kafka.protocol.sasl import (
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse)
from kafka.protocol.consumer import (
    FetchRequest, FetchResponse, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListOffsetsRequest,
    ListOffsetsResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest,
    OffsetDeleteResponse, OffsetFetchRequest, OffsetFetchResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse, SyncGroupRequest, SyncGroupResponse)
from kafka.protocol.metadata import (
    ApiVersionsRequest, ApiVersionsResponse, FindCoordinatorRequest, FindCoordinatorResponse,
    MetadataRequest, MetadataResponse)
from kafka.protocol.producer import (
    InitProducerIdRequest, InitProducerIdResponse, ProduceRequest, ProduceResponse)
from kafka.record import MemoryRecords
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder

import kafka_wire as kw
from harness import Broker

CLIENT_ID = "conformance"

# Kafka error codes used below (org.apache.kafka.common.protocol.Errors).
NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
UNSUPPORTED_VERSION = 35
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79

# authorized_operations when the request did not ask for them: Kafka sends Integer.MIN_VALUE
# (only bit 31 set), which kafka-python decodes as {31} (or None).
NOT_REQUESTED_OPS = (None, {31})

# (api key, version) pairs the broker advertises but kafka-python has no class for (see the
# module docstring). Keep in step with the docstring; the guard test below enforces both ways.
NO_KAFKA_PYTHON_CLASS: dict[tuple[int, int], str] = {}

BROKER_OVERRIDES = {
    "group.initial.rebalance.delay.ms": 0,
    "offsets.topic.num.partitions": 3,
    "offsets.topic.replication.factor": 1,
    # ACLs on, with this PLAINTEXT client (User:ANONYMOUS) a super user: every API must behave as
    # without an authorizer, and the ACL APIs answer for real.
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:ANONYMOUS",
}

# --------------------------------------------------------------------------------------
# Advertised versions, probed once at collection time
# --------------------------------------------------------------------------------------


def _hand_api_versions_v0(host: str, port: int) -> dict[int, tuple[int, int]]:
    s = kw.connect(host, port)
    try:
        cid = b"probe"
        s.sendall(kw.frame(struct.pack(">hhih", 18, 0, 1, len(cid)) + cid))
        data = kw.recv_frame(s)
    finally:
        s.close()
    corr, err, n = struct.unpack_from(">ihi", data, 0)
    assert (corr, err) == (1, 0), (corr, err)
    out = {}
    for i in range(n):
        k, lo, hi = struct.unpack_from(">hhh", data, 10 + 6 * i)
        out[k] = (lo, hi)
    return out


def _probe() -> tuple[dict[int, tuple[int, int]], Optional[str]]:
    try:
        with tempfile.TemporaryDirectory(prefix="runnel-conformance-probe-") as d:
            b = Broker(Path(d), overrides=BROKER_OVERRIDES, name="probe")
            b.start()
            try:
                return _hand_api_versions_v0(b.host, b.port), None
            finally:
                b.stop()
    except Exception as e:  # reported by test_probe_succeeded
        return {}, f"{type(e).__name__}: {e}"


PROBED, PROBE_ERROR = _probe()

# --------------------------------------------------------------------------------------
# Raw exchange with kafka-python's classes
# --------------------------------------------------------------------------------------


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


class Conn:
    """One raw connection; `call` encodes with kafka-python, frames, sends, reads the response
    and decodes it with kafka-python, asserting correlation id and exact consumption."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.sock = kw.connect(broker.host, broker.port, timeout=10.0)
        self.corr = 1000

    def close(self) -> None:
        self.sock.close()

    def call(self, req, version: int, resp_cls, timeout: float = 15.0):
        req_cls = type(req)[None]
        api_key = req_cls.API_KEY
        assert resp_cls.API_KEY == api_key
        self.corr += 1
        corr = self.corr
        flexible = req_cls.flexible_version_q(version)
        body = bytes(req.encode(version=version))
        cid = CLIENT_ID.encode()
        # Request header v1 = api_key, api_version, correlation_id, client_id (int16 string);
        # v2 (flexible) adds an empty tagged-field buffer.
        header = struct.pack(">hhih", api_key, version, corr, len(cid)) + cid
        if flexible:
            header += b"\x00"
        self.sock.sendall(kw.frame(header + body))
        data = kw.recv_frame(self.sock, timeout=timeout)
        assert data is not None, f"broker closed the connection instead of answering api {api_key} v{version}"
        (got_corr,) = struct.unpack_from(">i", data, 0)
        pos = 4
        assert got_corr == corr, f"correlation id {got_corr}, expected {corr}"
        # Response header v1 (flexible, not ApiVersions) adds a tagged-field buffer.
        if flexible and api_key != 18:
            ntags, pos = _uvarint(data, pos)
            for _ in range(ntags):
                _, pos = _uvarint(data, pos)
                size, pos = _uvarint(data, pos)
                pos += size
        decode_version = version
        if api_key == 18 and struct.unpack_from(">h", data, pos)[0] != 0:
            decode_version = 0  # ApiVersions error responses use the v0 body (KIP-511)
        cls = resp_cls[None]
        dflex = cls.flexible_version_q(decode_version)
        decode = cls._struct.compiled_decode_from(decode_version, compact=dflex, tagged=dflex, data_class=cls)
        obj, end = decode(memoryview(data), pos)
        assert end == len(data), (
            f"{cls.__name__} v{version}: decoded {end - 4} of {len(data) - 4} body bytes "
            f"({len(data) - end} left over)")
        return obj


def best_version(advertised: dict[int, tuple[int, int]], req_cls) -> int:
    lo, hi = advertised[req_cls.API_KEY]
    return min(hi, req_cls.max_version)


# --------------------------------------------------------------------------------------
# Module fixture: a broker, a topic with 5 records, a committed group
# --------------------------------------------------------------------------------------

# Record timestamps (CreateTime), deliberately not monotonic.
T0 = (int(time.time() * 1000) // 1000 - 3600) * 1000
TIMESTAMPS = [T0 + 5000, T0 + 1000, T0 + 9000, T0 + 3000, T0 + 7000]
VALUES = [f"value-{i}".encode() for i in range(len(TIMESTAMPS))]
TOPIC_OVERRIDE = ("max.message.bytes", "2000000")
COMMITTED_OFFSET = 3
COMMITTED_METADATA = "conformance-meta"
SUBSCRIPTION = b""  # filled in by ctx (ConsumerProtocolSubscription v0 naming the topic)
ASSIGNMENT = b"\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff"  # ConsumerProtocolAssignment v0, no partitions, null user data


def subscription_bytes(topic: str) -> bytes:
    t = topic.encode()
    # ConsumerProtocolSubscription v0: version int16, topics [string], user_data bytes (null)
    return struct.pack(">hih", 0, 1, len(t)) + t + struct.pack(">i", -1)


def record_batch(values: list[bytes], timestamps: list[int], compression: int = 0) -> bytes:
    b = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    for i, (v, ts) in enumerate(zip(values, timestamps)):
        b.append(i, timestamp=ts, key=None, value=v, headers=[])
    return bytes(b.build())


class Ctx:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.suffix = uuid.uuid4().hex[:6]
        self.topic = f"conf-main-{self.suffix}"
        self.produce_topic = f"conf-produce-{self.suffix}"
        self.committed_group = f"conf-committed-{self.suffix}"
        self.advertised: dict[int, tuple[int, int]] = {}
        self.leader_epoch = -1
        self.cluster_id: Optional[str] = None
        self.topic_id: Optional[uuid.UUID] = None

    def name(self, base: str) -> str:
        return f"{base}-{self.suffix}"

    def conn(self) -> Conn:
        return Conn(self.broker)

    def v(self, req_cls) -> int:
        return best_version(self.advertised, req_cls)

    # ---- setup helpers (at the best common version) --------------------------------------
    def create_topic(self, c: Conn, name: str, partitions: int = 1,
                     configs: Optional[list[tuple[str, str]]] = None) -> None:
        T = CreateTopicsRequest.CreatableTopic
        C = T.CreatableTopicConfig
        req = CreateTopicsRequest(topics=[T(name=name, num_partitions=partitions, replication_factor=1,
                                            assignments=[], configs=[C(name=k, value=v) for k, v in configs or []])],
                                  timeout_ms=10000, validate_only=False)
        r = c.call(req, self.v(CreateTopicsRequest), CreateTopicsResponse)
        assert [(t.name, t.error_code) for t in r.topics] == [(name, NONE)], r

    def produce(self, c: Conn, topic: str, values: list[bytes], timestamps: list[int],
                compression: int = 0) -> int:
        TD = ProduceRequest.TopicProduceData
        PD = TD.PartitionProduceData
        req = ProduceRequest(transactional_id=None, acks=-1, timeout_ms=10000, topic_data=[
            TD(name=topic, partition_data=[PD(index=0, records=record_batch(values, timestamps, compression))])])
        r = c.call(req, self.v(ProduceRequest), ProduceResponse)
        (t,) = r.responses
        (p,) = t.partition_responses
        assert p.error_code == NONE, p
        return p.base_offset

    def wait_coordinator(self, c: Conn, group: str, timeout: float = 15.0) -> None:
        """FindCoordinator (which creates __consumer_offsets) until it answers NONE, as clients do
        before any group request."""
        deadline = time.monotonic() + timeout
        while True:
            r = c.call(FindCoordinatorRequest(key=group, key_type=0, coordinator_keys=[group]),
                       self.v(FindCoordinatorRequest), FindCoordinatorResponse)
            err = r.coordinators[0].error_code if r.coordinators else r.error_code
            if err == NONE:
                return
            assert time.monotonic() < deadline, f"FindCoordinator still answers {err}"
            time.sleep(0.1)

    def commit(self, c: Conn, group: str, topic: str, offset: int, metadata: str = "",
               leader_epoch: int = -1) -> None:
        T = OffsetCommitRequest.OffsetCommitRequestTopic
        P = T.OffsetCommitRequestPartition
        req = OffsetCommitRequest(group_id=group, generation_id_or_member_epoch=-1, member_id="",
                                  group_instance_id=None, retention_time_ms=-1, topics=[
                                      T(name=topic, partitions=[P(partition_index=0, committed_offset=offset,
                                                                  committed_leader_epoch=leader_epoch,
                                                                  committed_metadata=metadata)])])
        r = c.call(req, self.v(OffsetCommitRequest), OffsetCommitResponse)
        assert [p.error_code for t in r.topics for p in t.partitions] == [NONE], r

    def join(self, c: Conn, group: str, version: Optional[int] = None, member_id: str = ""):
        v = self.v(JoinGroupRequest) if version is None else version
        P = JoinGroupRequest.JoinGroupRequestProtocol
        req = JoinGroupRequest(group_id=group, session_timeout_ms=30000, rebalance_timeout_ms=10000,
                               member_id=member_id, group_instance_id=None, protocol_type="consumer",
                               protocols=[P(name="range", metadata=subscription_bytes(self.topic))],
                               reason=None)
        return c.call(req, v, JoinGroupResponse)

    def join_ok(self, c: Conn, group: str) -> tuple[int, str]:
        r = self.join(c, group)
        if r.error_code == MEMBER_ID_REQUIRED:
            r = self.join(c, group, member_id=r.member_id)
        assert r.error_code == NONE, r
        return r.generation_id, r.member_id

    def sync(self, c: Conn, group: str, generation: int, member_id: str, version: Optional[int] = None):
        v = self.v(SyncGroupRequest) if version is None else version
        A = SyncGroupRequest.SyncGroupRequestAssignment
        req = SyncGroupRequest(group_id=group, generation_id=generation, member_id=member_id,
                               group_instance_id=None, protocol_type="consumer", protocol_name="range",
                               assignments=[A(member_id=member_id, assignment=ASSIGNMENT)])
        return c.call(req, v, SyncGroupResponse)

    def stable_member(self, c: Conn, group: str) -> tuple[int, str]:
        gen, mid = self.join_ok(c, group)
        r = self.sync(c, group, gen, mid)
        assert r.error_code == NONE, r
        return gen, mid

    def describe_configs(self, c: Conn, topic: str) -> dict[str, Any]:
        R = DescribeConfigsRequest.DescribeConfigsResource
        req = DescribeConfigsRequest(resources=[R(resource_type=2, resource_name=topic, configuration_keys=None)],
                                     include_synonyms=False, include_documentation=False)
        r = c.call(req, self.v(DescribeConfigsRequest), DescribeConfigsResponse)
        (res,) = r.results
        assert res.error_code == NONE, res
        return {cfg.name: cfg for cfg in res.configs}


@pytest.fixture(scope="module")
def ctx(module_broker_factory) -> Ctx:
    broker = module_broker_factory(BROKER_OVERRIDES)
    cx = Ctx(broker)
    cx.advertised = _hand_api_versions_v0(broker.host, broker.port)
    c = cx.conn()
    try:
        cx.create_topic(c, cx.topic, configs=[TOPIC_OVERRIDE])
        cx.create_topic(c, cx.produce_topic)
        assert cx.produce(c, cx.topic, VALUES, TIMESTAMPS) == 0
        T = MetadataRequest.MetadataRequestTopic
        md = c.call(MetadataRequest(topics=[T(name=cx.topic)], allow_auto_topic_creation=False),
                    cx.v(MetadataRequest), MetadataResponse)
        (t,) = md.topics
        cx.leader_epoch = t.partitions[0].leader_epoch
        cx.cluster_id = md.cluster_id
        cx.topic_id = t.topic_id
        cx.wait_coordinator(c, cx.committed_group)
        cx.commit(c, cx.committed_group, cx.topic, COMMITTED_OFFSET, COMMITTED_METADATA, cx.leader_epoch)
    finally:
        c.close()
    return cx


# --------------------------------------------------------------------------------------
# Per-API checks: check(ctx, conn, version)
# --------------------------------------------------------------------------------------


def legacy_message_set(values: list[bytes], timestamps: list[int], magic: int, compression: int = 0) -> bytes:
    b = LegacyRecordBatchBuilder(magic=magic, compression_type=compression, batch_size=1 << 20)
    for i, (v, ts) in enumerate(zip(values, timestamps)):
        assert b.append(i, timestamp=ts, key=None, value=v) is not None
    return bytes(b.build())


def check_produce(cx: Ctx, c: Conn, v: int) -> None:
    TD = ProduceRequest.TopicProduceData
    PD = TD.PartitionProduceData
    if v < 3:
        # docs/protocol-support.md: a legacy message set (magic 0 with v0-1, magic 1 with v2,
        # here gzip-compressed) is up-converted into one magic-2 batch.
        batch = legacy_message_set([b"p-a", b"p-b"], [T0, T0 + 1], magic=1 if v == 2 else 0, compression=1)
    else:
        batch = record_batch([b"p-a", b"p-b"], [T0, T0 + 1])
    req = ProduceRequest(transactional_id=None, acks=-1, timeout_ms=10000, topic_data=[
        TD(name=cx.produce_topic, partition_data=[PD(index=0, records=batch)])])
    r = c.call(req, v, ProduceResponse)
    (t,) = r.responses
    (p,) = t.partition_responses
    assert (t.name, p.index) == (cx.produce_topic, 0)
    assert p.error_code == NONE, p
    assert p.base_offset >= 0
    if v >= 2:
        assert p.log_append_time_ms == -1  # CreateTime topic
    if v >= 5:
        assert p.log_start_offset == 0
    if v >= 8:
        assert (p.record_errors, p.error_message) == ([], None)


def check_fetch(cx: Ctx, c: Conn, v: int) -> None:
    FT = FetchRequest.FetchTopic
    FP = FT.FetchPartition
    req = FetchRequest(replica_id=-1, max_wait_ms=100, min_bytes=1, max_bytes=1 << 20, isolation_level=0,
                       session_id=0, session_epoch=-1, forgotten_topics_data=[], rack_id="",
                       topics=[FT(topic=cx.topic, partitions=[FP(partition=0, current_leader_epoch=cx.leader_epoch,
                                                                 fetch_offset=0, last_fetched_epoch=-1,
                                                                 log_start_offset=-1,
                                                                 partition_max_bytes=1 << 20)])])
    r = c.call(req, v, FetchResponse)
    if v >= 7:
        assert (r.error_code, r.session_id) == (NONE, 0)
    (t,) = r.responses
    (p,) = t.partitions
    assert (t.topic, p.partition_index, p.error_code) == (cx.topic, 0, NONE), p
    assert p.high_watermark == len(VALUES)
    if v >= 4:
        assert p.last_stable_offset == len(VALUES)
    if v >= 5:
        assert p.log_start_offset == 0
    got, magics = [], set()
    mr = MemoryRecords(bytes(p.records))
    while True:
        batch = mr.next_batch()
        if batch is None:
            break
        magics.add(batch.magic)
        got += [(rec.offset, rec.timestamp, rec.value) for rec in batch]
    # v0-1: magic 0 (no timestamps), v2-3: magic 1, v4+: the stored magic-2 batch.
    assert magics == {0 if v < 2 else 1 if v < 4 else 2}, magics
    timestamps = [None] * len(VALUES) if v < 2 else TIMESTAMPS
    assert got == list(zip(range(len(VALUES)), timestamps, VALUES))


def check_list_offsets(cx: Ctx, c: Conn, v: int) -> None:
    T = ListOffsetsRequest.ListOffsetsTopic
    P = T.ListOffsetsPartition
    n = len(VALUES)
    ts_max = max(TIMESTAMPS)
    # (target, expected offset, expected timestamp)
    queries = [(-2, 0, -1), (-1, n, -1),
               (T0 + 2000, 0, TIMESTAMPS[0]),       # first offset with ts >= target: offset 0 (T0+5000)
               (T0 + 6000, 2, TIMESTAMPS[2]),       # offset 2 (T0+9000), not offset 4 (T0+7000)
               (ts_max + 1, -1, -1)]                # nothing that late
    if v >= 7:
        queries.append((-3, TIMESTAMPS.index(ts_max), ts_max))  # KIP-734
    for target, offset, ts in queries:
        req = ListOffsetsRequest(replica_id=-1, isolation_level=0, topics=[
            T(name=cx.topic, partitions=[P(partition_index=0, current_leader_epoch=-1, timestamp=target)])])
        r = c.call(req, v, ListOffsetsResponse)
        (t,) = r.topics
        (p,) = t.partitions
        assert (t.name, p.partition_index, p.error_code) == (cx.topic, 0, NONE), (target, p)
        assert (p.offset, p.timestamp) == (offset, ts), f"target {target}: {p}"
        if v >= 4:
            assert p.leader_epoch == (cx.leader_epoch if offset >= 0 else -1), f"target {target}: {p}"


def check_metadata(cx: Ctx, c: Conn, v: int) -> None:
    T = MetadataRequest.MetadataRequestTopic
    req = MetadataRequest(topics=[T(name=cx.topic)], allow_auto_topic_creation=False,
                          include_cluster_authorized_operations=False, include_topic_authorized_operations=False)
    r = c.call(req, v, MetadataResponse)
    assert [(b.node_id, b.host, b.port) for b in r.brokers] == [(1, "127.0.0.1", cx.broker.port)]
    if v >= 1:
        assert r.controller_id == 1
    if v >= 2:
        assert r.cluster_id == cx.cluster_id and r.cluster_id
    (t,) = r.topics
    assert (t.error_code, t.name) == (NONE, cx.topic), t
    if v >= 1:
        assert t.is_internal is False
    if v >= 10:
        assert t.topic_id == cx.topic_id and t.topic_id != uuid.UUID(int=0)
    assert [(p.partition_index, p.error_code, p.leader_id, p.replica_nodes, p.isr_nodes) for p in t.partitions] == [
        (0, NONE, 1, [1], [1])]
    if v >= 7:
        assert t.partitions[0].leader_epoch == cx.leader_epoch
    if v >= 8:
        assert t.authorized_operations in NOT_REQUESTED_OPS
    if 8 <= v <= 10:
        assert r.authorized_operations in NOT_REQUESTED_OPS


def check_offset_commit(cx: Ctx, c: Conn, v: int) -> None:
    group = cx.name(f"conf-oc-v{v}")
    T = OffsetCommitRequest.OffsetCommitRequestTopic
    P = T.OffsetCommitRequestPartition
    req = OffsetCommitRequest(group_id=group, generation_id_or_member_epoch=-1, member_id="",
                              group_instance_id=None, retention_time_ms=-1, topics=[
                                  T(name=cx.topic, partitions=[P(partition_index=0, committed_offset=2,
                                                                 committed_leader_epoch=-1,
                                                                 committed_metadata="m")])])
    r = c.call(req, v, OffsetCommitResponse)
    assert [(t.name, p.partition_index, p.error_code) for t in r.topics for p in t.partitions] == [
        (cx.topic, 0, NONE)], r


def check_offset_fetch(cx: Ctx, c: Conn, v: int) -> None:
    if v >= 8:
        G = OffsetFetchRequest.OffsetFetchRequestGroup
        GT = G.OffsetFetchRequestTopics
        req = OffsetFetchRequest(groups=[G(group_id=cx.committed_group, topics=[
            GT(name=cx.topic, partition_indexes=[0])])], require_stable=False)
    else:
        T = OffsetFetchRequest.OffsetFetchRequestTopic
        req = OffsetFetchRequest(group_id=cx.committed_group, topics=[T(name=cx.topic, partition_indexes=[0])],
                                 require_stable=False)
    r = c.call(req, v, OffsetFetchResponse)
    if v >= 8:
        (g,) = r.groups
        assert (g.group_id, g.error_code) == (cx.committed_group, NONE)
        topics = g.topics
    else:
        if v >= 2:
            assert r.error_code == NONE
        topics = r.topics
    (t,) = topics
    (p,) = t.partitions
    assert (t.name, p.partition_index, p.error_code) == (cx.topic, 0, NONE), p
    assert (p.committed_offset, p.metadata) == (COMMITTED_OFFSET, COMMITTED_METADATA)
    if v >= 5:
        assert p.committed_leader_epoch == cx.leader_epoch


def check_find_coordinator(cx: Ctx, c: Conn, v: int) -> None:
    group = cx.name("conf-fc")
    req = FindCoordinatorRequest(key=group, key_type=0, coordinator_keys=[group])
    r = c.call(req, v, FindCoordinatorResponse)
    if v >= 4:
        (co,) = r.coordinators
        assert (co.key, co.error_code, co.node_id, co.host, co.port) == (
            group, NONE, 1, "127.0.0.1", cx.broker.port), co
    else:
        assert (r.error_code, r.node_id, r.host, r.port) == (NONE, 1, "127.0.0.1", cx.broker.port), r
        if v >= 1:
            assert r.error_message is None


def check_join_group(cx: Ctx, c: Conn, v: int) -> None:
    group = cx.name(f"conf-jg-v{v}")
    r = cx.join(c, group, version=v)
    if v >= 4:
        # KIP-394: an unknown member first gets MEMBER_ID_REQUIRED with its member id.
        assert r.error_code == MEMBER_ID_REQUIRED, r
        assert r.member_id and r.generation_id == -1
        first_id = r.member_id
        r = cx.join(c, group, version=v, member_id=first_id)
        assert r.member_id == first_id
    assert r.error_code == NONE, r
    assert r.generation_id == 1
    assert r.member_id and r.leader == r.member_id
    assert r.protocol_name == "range"
    if v >= 7:
        assert r.protocol_type == "consumer"
    assert [(m.member_id, bytes(m.metadata)) for m in r.members] == [(r.member_id, subscription_bytes(cx.topic))]


def check_heartbeat(cx: Ctx, c: Conn, v: int) -> None:
    group = cx.name(f"conf-hb-v{v}")
    gen, mid = cx.stable_member(c, group)
    r = c.call(HeartbeatRequest(group_id=group, generation_id=gen, member_id=mid, group_instance_id=None),
               v, HeartbeatResponse)
    assert r.error_code == NONE, r


def check_leave_group(cx: Ctx, c: Conn, v: int) -> None:
    group = cx.name(f"conf-lg-v{v}")
    gen, mid = cx.stable_member(c, group)
    M = LeaveGroupRequest.MemberIdentity
    req = LeaveGroupRequest(group_id=group, member_id=mid,
                            members=[M(member_id=mid, group_instance_id=None, reason=None)])
    r = c.call(req, v, LeaveGroupResponse)
    assert r.error_code == NONE, r
    if v >= 3:
        assert [(m.member_id, m.group_instance_id, m.error_code) for m in r.members] == [(mid, None, NONE)]


def check_sync_group(cx: Ctx, c: Conn, v: int) -> None:
    group = cx.name(f"conf-sg-v{v}")
    gen, mid = cx.join_ok(c, group)
    r = cx.sync(c, group, gen, mid, version=v)
    assert r.error_code == NONE, r
    assert bytes(r.assignment) == ASSIGNMENT
    if v >= 5:
        assert (r.protocol_type, r.protocol_name) == ("consumer", "range")


def check_describe_groups(cx: Ctx, c: Conn, v: int) -> None:
    group = cx.name(f"conf-dg-v{v}")
    unknown = cx.name(f"conf-unknown-v{v}")
    gen, mid = cx.stable_member(c, group)
    r = c.call(DescribeGroupsRequest(groups=[group, unknown], include_authorized_operations=False),
               v, DescribeGroupsResponse)
    g, u = r.groups
    assert (g.error_code, g.group_id, g.group_state, g.protocol_type, g.protocol_data) == (
        NONE, group, "Stable", "consumer", "range"), g
    (m,) = g.members
    assert (m.member_id, m.client_id, m.client_host) == (mid, CLIENT_ID, "/127.0.0.1")
    assert bytes(m.member_metadata) == subscription_bytes(cx.topic)
    assert bytes(m.member_assignment) == ASSIGNMENT
    if v >= 3:
        assert g.authorized_operations in NOT_REQUESTED_OPS
    if v >= 4:
        assert m.group_instance_id is None
    # docs/protocol-support.md: an unknown group is reported as "Dead" with no error.
    assert (u.error_code, u.group_id, u.group_state, u.members) == (NONE, unknown, "Dead", []), u


def check_list_groups(cx: Ctx, c: Conn, v: int) -> None:
    group = cx.name(f"conf-lsg-v{v}")
    cx.stable_member(c, group)
    r = c.call(ListGroupsRequest(states_filter=["stable"] if v >= 4 else []), v, ListGroupsResponse)
    assert r.error_code == NONE, r
    mine = [g for g in r.groups if g.group_id == group]
    assert [g.protocol_type for g in mine] == ["consumer"], r
    if v >= 4:
        assert mine[0].group_state == "Stable"
        assert all(g.group_state == "Stable" for g in r.groups)


def check_api_versions(cx: Ctx, c: Conn, v: int) -> None:
    req = ApiVersionsRequest(client_software_name="runnel-conformance", client_software_version="1.0")
    r = c.call(req, v, ApiVersionsResponse)
    assert r.error_code == NONE
    assert {a.api_key: (a.min_version, a.max_version) for a in r.api_keys} == cx.advertised
    if v >= 1:
        assert r.throttle_time_ms == 0


def check_create_topics(cx: Ctx, c: Conn, v: int) -> None:
    name = cx.name(f"conf-ct-v{v}")
    T = CreateTopicsRequest.CreatableTopic
    C = T.CreatableTopicConfig
    req = CreateTopicsRequest(topics=[T(name=name, num_partitions=2, replication_factor=1, assignments=[],
                                        configs=[C(name="retention.ms", value="3600000")])],
                              timeout_ms=10000, validate_only=False)
    r = c.call(req, v, CreateTopicsResponse)
    (t,) = r.topics
    assert (t.name, t.error_code) == (name, NONE), t
    if v >= 1:
        assert t.error_message is None
    if v >= 5:
        assert (t.num_partitions, t.replication_factor) == (2, 1)
        cfgs = {cfg.name: cfg.value for cfg in t.configs}
        assert cfgs.get("retention.ms") == "3600000", cfgs
    # The same topic again: TOPIC_ALREADY_EXISTS.
    r = c.call(req, v, CreateTopicsResponse)
    (t,) = r.topics
    assert (t.name, t.error_code) == (name, TOPIC_ALREADY_EXISTS), t


def check_delete_topics(cx: Ctx, c: Conn, v: int) -> None:
    name = cx.name(f"conf-dt-v{v}")
    cx.create_topic(c, name)
    req = DeleteTopicsRequest(topic_names=[name], timeout_ms=10000)
    r = c.call(req, v, DeleteTopicsResponse)
    assert [(t.name, t.error_code) for t in r.responses] == [(name, NONE)], r
    r = c.call(req, v, DeleteTopicsResponse)
    assert [(t.name, t.error_code) for t in r.responses] == [(name, UNKNOWN_TOPIC_OR_PARTITION)], r


def check_delete_records(cx: Ctx, c: Conn, v: int) -> None:
    name = cx.name(f"conf-dr-v{v}")
    cx.create_topic(c, name)
    cx.produce(c, name, VALUES, TIMESTAMPS)
    T = DeleteRecordsRequest.DeleteRecordsTopic
    P = T.DeleteRecordsPartition
    req = DeleteRecordsRequest(topics=[T(name=name, partitions=[P(partition_index=0, offset=2)])], timeout_ms=10000)
    r = c.call(req, v, DeleteRecordsResponse)
    assert [(t.name, p.partition_index, p.low_watermark, p.error_code) for t in r.topics for p in t.partitions] == [
        (name, 0, 2, NONE)], r


def check_elect_leaders(cx: Ctx, c: Conn, v: int) -> None:
    # One broker leads every partition and is each one's preferred replica: a preferred election
    # is ELECTION_NOT_NEEDED (84); a partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION.
    T = ElectLeadersRequest.TopicPartitions
    req = ElectLeadersRequest(election_type=0, topic_partitions=[T(topic=cx.topic, partitions=[0, 99])], timeout_ms=10000)
    r = c.call(req, v, ElectLeadersResponse)
    if v >= 1:
        assert r.error_code == NONE, r
    got = sorted((res.topic, p.partition_id, p.error_code) for res in r.replica_election_results for p in res.partition_result)
    assert got == [(cx.topic, 0, 84), (cx.topic, 99, UNKNOWN_TOPIC_OR_PARTITION)], r


def check_init_producer_id(cx: Ctx, c: Conn, v: int) -> None:
    req = InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000, producer_id=-1,
                                producer_epoch=-1)
    r = c.call(req, v, InitProducerIdResponse)
    assert r.error_code == NONE, r
    assert r.producer_id >= 0 and r.producer_epoch == 0, r


def check_offset_for_leader_epoch(cx: Ctx, c: Conn, v: int) -> None:
    T = OffsetForLeaderEpochRequest.OffsetForLeaderTopic
    P = T.OffsetForLeaderPartition
    req = OffsetForLeaderEpochRequest(replica_id=-1, topics=[
        T(topic=cx.topic, partitions=[P(partition=0, current_leader_epoch=-1, leader_epoch=cx.leader_epoch)])])
    r = c.call(req, v, OffsetForLeaderEpochResponse)
    (t,) = r.topics
    (p,) = t.partitions
    assert (t.topic, p.partition, p.error_code) == (cx.topic, 0, NONE), p
    assert (p.leader_epoch, p.end_offset) == (cx.leader_epoch, len(VALUES)), p


def check_describe_configs(cx: Ctx, c: Conn, v: int) -> None:
    R = DescribeConfigsRequest.DescribeConfigsResource
    req = DescribeConfigsRequest(resources=[R(resource_type=2, resource_name=cx.topic, configuration_keys=None),
                                            R(resource_type=4, resource_name="1", configuration_keys=None)],
                                 include_synonyms=True, include_documentation=True)
    r = c.call(req, v, DescribeConfigsResponse)
    topic_res, broker_res = r.results
    assert (topic_res.error_code, topic_res.resource_type, topic_res.resource_name) == (NONE, 2, cx.topic), topic_res
    assert (broker_res.error_code, broker_res.resource_type, broker_res.resource_name) == (NONE, 4, "1"), broker_res
    cfgs = {cfg.name: cfg for cfg in topic_res.configs}
    key, value = TOPIC_OVERRIDE
    assert cfgs[key].value == value
    assert cfgs["retention.bytes"].value == "-1"
    if v >= 1:
        assert cfgs[key].config_source == 1  # DYNAMIC_TOPIC_CONFIG
        assert cfgs["retention.bytes"].config_source == 5  # DEFAULT_CONFIG
    else:
        assert cfgs[key].is_default is False
    assert any(cfg.name == "message.max.bytes" for cfg in broker_res.configs)


def check_create_partitions(cx: Ctx, c: Conn, v: int) -> None:
    name = cx.name(f"conf-cp-v{v}")
    cx.create_topic(c, name)
    T = CreatePartitionsRequest.CreatePartitionsTopic
    req = CreatePartitionsRequest(topics=[T(name=name, count=3, assignments=None)], timeout_ms=10000,
                                  validate_only=False)
    r = c.call(req, v, CreatePartitionsResponse)
    assert [(t.name, t.error_code, t.error_message) for t in r.results] == [(name, NONE, None)], r
    # Not more than it has: INVALID_PARTITIONS.
    req = CreatePartitionsRequest(topics=[T(name=name, count=2, assignments=None)], timeout_ms=10000,
                                  validate_only=False)
    r = c.call(req, v, CreatePartitionsResponse)
    assert [(t.name, t.error_code) for t in r.results] == [(name, INVALID_PARTITIONS)], r


def check_delete_groups(cx: Ctx, c: Conn, v: int) -> None:
    group = cx.name(f"conf-delg-v{v}")
    cx.commit(c, group, cx.topic, 1)
    req = DeleteGroupsRequest(groups_names=[group])
    r = c.call(req, v, DeleteGroupsResponse)
    assert [(g.group_id, g.error_code) for g in r.results] == [(group, NONE)], r
    r = c.call(req, v, DeleteGroupsResponse)
    assert [(g.group_id, g.error_code) for g in r.results] == [(group, GROUP_ID_NOT_FOUND)], r


def check_offset_delete(cx: Ctx, c: Conn, v: int) -> None:
    group = cx.name(f"conf-od-v{v}")
    cx.commit(c, group, cx.topic, 1)
    T = OffsetDeleteRequest.OffsetDeleteRequestTopic
    P = T.OffsetDeleteRequestPartition
    req = OffsetDeleteRequest(group_id=group, topics=[T(name=cx.topic, partitions=[P(partition_index=0)])])
    r = c.call(req, v, OffsetDeleteResponse)
    assert r.error_code == NONE, r
    assert [(t.name, p.partition_index, p.error_code) for t in r.topics for p in t.partitions] == [
        (cx.topic, 0, NONE)], r


def check_describe_cluster(cx: Ctx, c: Conn, v: int) -> None:
    req = DescribeClusterRequest(include_cluster_authorized_operations=False, endpoint_type=1)
    r = c.call(req, v, DescribeClusterResponse)
    assert (r.error_code, r.error_message) == (NONE, None), r
    assert (r.cluster_id, r.controller_id) == (cx.cluster_id, 1)
    assert [(b.broker_id, b.host, b.port) for b in r.brokers] == [(1, "127.0.0.1", cx.broker.port)]
    if v >= 1:
        assert r.endpoint_type == 1
    assert r.authorized_operations in NOT_REQUESTED_OPS


def _alter_quota(c: Conn, v: int, client_id: str, key: str, value: float) -> list:
    E = AlterClientQuotasRequest.EntryData
    req = AlterClientQuotasRequest(entries=[E(entity=[E.EntityData(entity_type="client-id", entity_name=client_id)],
                                              ops=[E.OpData(key=key, value=value, remove=False)])], validate_only=False)
    r = c.call(req, v, AlterClientQuotasResponse)
    return [(e.error_code, [(d.entity_type, d.entity_name) for d in e.entity]) for e in r.entries]


def check_alter_client_quotas(cx: Ctx, c: Conn, v: int) -> None:
    client = cx.name(f"conf-acq-v{v}")
    assert _alter_quota(c, v, client, "producer_byte_rate", 1048576.0) == [(NONE, [("client-id", client)])]
    # A byte rate must be a whole number: INVALID_REQUEST (42), entity echoed.
    assert _alter_quota(c, v, client, "consumer_byte_rate", 1.5) == [(42, [("client-id", client)])]


def check_describe_client_quotas(cx: Ctx, c: Conn, v: int) -> None:
    client = cx.name(f"conf-dcq-v{v}")
    assert _alter_quota(c, v, client, "request_percentage", 12.5) == [(NONE, [("client-id", client)])]
    C = DescribeClientQuotasRequest.ComponentData
    req = DescribeClientQuotasRequest(components=[C(entity_type="client-id", match_type=0, match=client)], strict=True)
    r = c.call(req, v, DescribeClientQuotasResponse)
    assert (r.error_code, r.error_message) == (NONE, None), r
    assert [([(d.entity_type, d.entity_name) for d in e.entity], [(x.key, x.value) for x in e.values]) for e in r.entries] == [
        ([("client-id", client)], [("request_percentage", 12.5)])], r


def _check_altered(cx: Ctx, c: Conn, name: str, value: str) -> None:
    cfgs = cx.describe_configs(c, name)
    assert cfgs["retention.ms"].value == value
    assert cfgs["retention.ms"].config_source == 1  # DYNAMIC_TOPIC_CONFIG


def check_alter_configs(cx: Ctx, c: Conn, v: int) -> None:
    name = cx.name(f"conf-ac-v{v}")
    cx.create_topic(c, name)
    R = AlterConfigsRequest.AlterConfigsResource
    A = R.AlterableConfig
    req = AlterConfigsRequest(resources=[R(resource_type=2, resource_name=name,
                                           configs=[A(name="retention.ms", value="123456")])],
                              validate_only=False)
    r = c.call(req, v, AlterConfigsResponse)
    assert [(x.error_code, x.resource_type, x.resource_name) for x in r.responses] == [(NONE, 2, name)], r
    _check_altered(cx, c, name, "123456")


def check_incremental_alter_configs(cx: Ctx, c: Conn, v: int) -> None:
    name = cx.name(f"conf-iac-v{v}")
    cx.create_topic(c, name)
    R = IncrementalAlterConfigsRequest.AlterConfigsResource
    A = R.AlterableConfig
    req = IncrementalAlterConfigsRequest(resources=[R(resource_type=2, resource_name=name, configs=[
        A(name="retention.ms", config_operation=0, value="234567")])], validate_only=False)  # 0 = SET
    r = c.call(req, v, IncrementalAlterConfigsResponse)
    assert [(x.error_code, x.resource_type, x.resource_name) for x in r.responses] == [(NONE, 2, name)], r
    _check_altered(cx, c, name, "234567")


def check_describe_log_dirs(cx: Ctx, c: Conn, v: int) -> None:
    r = c.call(DescribeLogDirsRequest(topics=None), v, DescribeLogDirsResponse)
    if v >= 3:
        assert r.error_code == NONE, r
    (res,) = r.results
    assert res.error_code == NONE, res
    assert os.path.realpath(res.log_dir) == os.path.realpath(cx.broker.log_dir), res.log_dir
    parts = {(t.name, p.partition_index): p for t in res.topics for p in t.partitions}
    p = parts[(cx.topic, 0)]
    assert p.partition_size > 0 and p.offset_lag == 0 and p.is_future_key is False
    if v >= 4:
        assert res.total_bytes > 0 and res.usable_bytes > 0


def _create_acl(c: Conn, v: int, name: str, principal: str = "User:conf") -> list[int]:
    A = CreateAclsRequest.AclCreation
    req = CreateAclsRequest(creations=[A(resource_type=2, resource_name=name, resource_pattern_type=3, principal=principal,
                                         host="*", operation=3, permission_type=3)])  # TOPIC, LITERAL, READ, ALLOW
    return [r.error_code for r in c.call(req, v, CreateAclsResponse).results]


def check_create_acls(cx: Ctx, c: Conn, v: int) -> None:
    name = cx.name(f"conf-ca-v{v}")
    assert _create_acl(c, v, name) == [NONE]
    # A principal without "Type:" is INVALID_REQUEST (42) for that creation.
    assert _create_acl(c, v, name, principal="conf") == [42]


def _acl_filter(name: str) -> dict:
    return dict(resource_type_filter=2, resource_name_filter=name, pattern_type_filter=3, principal_filter=None,
                host_filter=None, operation=1, permission_type=1)  # ANY operation, ANY permission


def check_describe_acls(cx: Ctx, c: Conn, v: int) -> None:
    name = cx.name(f"conf-da-v{v}")
    assert _create_acl(c, 1, name) == [NONE]
    r = c.call(DescribeAclsRequest(**_acl_filter(name)), v, DescribeAclsResponse)
    assert (r.error_code, r.error_message) == (NONE, None), r
    assert [(x.resource_type, x.resource_name, x.pattern_type, [(a.principal, a.host, a.operation, a.permission_type) for a in x.acls])
            for x in r.resources] == [(2, name, 3, [("User:conf", "*", 3, 3)])], r


def check_delete_acls(cx: Ctx, c: Conn, v: int) -> None:
    name = cx.name(f"conf-dla-v{v}")
    assert _create_acl(c, 1, name) == [NONE]
    req = DeleteAclsRequest(filters=[DeleteAclsRequest.DeleteAclsFilter(**_acl_filter(name))])
    r = c.call(req, v, DeleteAclsResponse)
    assert [(f.error_code, [(m.error_code, m.resource_name, m.principal, m.operation) for m in f.matching_acls])
            for f in r.filter_results] == [(NONE, [(NONE, name, "User:conf", 3)])], r
    # Nothing left to delete: the same filter matches nothing.
    assert [len(f.matching_acls) for f in c.call(req, v, DeleteAclsResponse).filter_results] == [0]


ILLEGAL_SASL_STATE = 34


def check_sasl_handshake(cx: Ctx, c: Conn, v: int) -> None:
    # The module broker's listener is PLAINTEXT: Kafka's KafkaApis answers ILLEGAL_SASL_STATE.
    r = c.call(SaslHandshakeRequest(mechanism="PLAIN"), v, SaslHandshakeResponse)
    assert (r.error_code, list(r.mechanisms)) == (ILLEGAL_SASL_STATE, []), r


def check_sasl_authenticate(cx: Ctx, c: Conn, v: int) -> None:
    r = c.call(SaslAuthenticateRequest(auth_bytes=b"\0u\0p"), v, SaslAuthenticateResponse)
    assert r.error_code == ILLEGAL_SASL_STATE and r.error_message, r
    if v >= 1:
        assert r.session_lifetime_ms == 0, r


def _upsert_scram(c: Conn, v: int, user: str, iterations: int) -> list[tuple[str, int]]:
    U = AlterUserScramCredentialsRequest.ScramCredentialUpsertion
    req = AlterUserScramCredentialsRequest(deletions=[], upsertions=[
        U(name=user, mechanism=1, iterations=iterations, salt=os.urandom(16), salted_password=os.urandom(32))])
    r = c.call(req, v, AlterUserScramCredentialsResponse)
    return [(x.user, x.error_code) for x in r.results]


def check_alter_user_scram_credentials(cx: Ctx, c: Conn, v: int) -> None:
    user = cx.name(f"conf-ausc-v{v}")
    assert _upsert_scram(c, v, user, 4096) == [(user, NONE)]
    # Fewer iterations than Kafka's minimum of 4096: UNACCEPTABLE_CREDENTIAL (93).
    assert _upsert_scram(c, v, user, 1024) == [(user, 93)]


def check_describe_user_scram_credentials(cx: Ctx, c: Conn, v: int) -> None:
    user = cx.name(f"conf-dusc-v{v}")
    assert _upsert_scram(c, v, user, 8192) == [(user, NONE)]
    N = DescribeUserScramCredentialsRequest.UserName
    r = c.call(DescribeUserScramCredentialsRequest(users=[N(name=user), N(name=user + "-none")]), v,
               DescribeUserScramCredentialsResponse)
    assert r.error_code == NONE, r
    got = [(x.user, x.error_code, [(i.mechanism, i.iterations) for i in x.credential_infos]) for x in r.results]
    assert got == [(user, NONE, [(1, 8192)]), (user + "-none", 91, [])], got  # 91 RESOURCE_NOT_FOUND


# api key -> (request class, response class, check)
CHECKS: dict[int, tuple[Any, Any, Callable[[Ctx, Conn, int], None]]] = {
    0: (ProduceRequest, ProduceResponse, check_produce),
    1: (FetchRequest, FetchResponse, check_fetch),
    2: (ListOffsetsRequest, ListOffsetsResponse, check_list_offsets),
    3: (MetadataRequest, MetadataResponse, check_metadata),
    8: (OffsetCommitRequest, OffsetCommitResponse, check_offset_commit),
    9: (OffsetFetchRequest, OffsetFetchResponse, check_offset_fetch),
    10: (FindCoordinatorRequest, FindCoordinatorResponse, check_find_coordinator),
    11: (JoinGroupRequest, JoinGroupResponse, check_join_group),
    12: (HeartbeatRequest, HeartbeatResponse, check_heartbeat),
    13: (LeaveGroupRequest, LeaveGroupResponse, check_leave_group),
    14: (SyncGroupRequest, SyncGroupResponse, check_sync_group),
    15: (DescribeGroupsRequest, DescribeGroupsResponse, check_describe_groups),
    16: (ListGroupsRequest, ListGroupsResponse, check_list_groups),
    17: (SaslHandshakeRequest, SaslHandshakeResponse, check_sasl_handshake),
    18: (ApiVersionsRequest, ApiVersionsResponse, check_api_versions),
    19: (CreateTopicsRequest, CreateTopicsResponse, check_create_topics),
    20: (DeleteTopicsRequest, DeleteTopicsResponse, check_delete_topics),
    21: (DeleteRecordsRequest, DeleteRecordsResponse, check_delete_records),
    22: (InitProducerIdRequest, InitProducerIdResponse, check_init_producer_id),
    23: (OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, check_offset_for_leader_epoch),
    29: (DescribeAclsRequest, DescribeAclsResponse, check_describe_acls),
    30: (CreateAclsRequest, CreateAclsResponse, check_create_acls),
    31: (DeleteAclsRequest, DeleteAclsResponse, check_delete_acls),
    32: (DescribeConfigsRequest, DescribeConfigsResponse, check_describe_configs),
    33: (AlterConfigsRequest, AlterConfigsResponse, check_alter_configs),
    35: (DescribeLogDirsRequest, DescribeLogDirsResponse, check_describe_log_dirs),
    36: (SaslAuthenticateRequest, SaslAuthenticateResponse, check_sasl_authenticate),
    37: (CreatePartitionsRequest, CreatePartitionsResponse, check_create_partitions),
    42: (DeleteGroupsRequest, DeleteGroupsResponse, check_delete_groups),
    43: (ElectLeadersRequest, ElectLeadersResponse, check_elect_leaders),
    44: (IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, check_incremental_alter_configs),
    47: (OffsetDeleteRequest, OffsetDeleteResponse, check_offset_delete),
    48: (DescribeClientQuotasRequest, DescribeClientQuotasResponse, check_describe_client_quotas),
    49: (AlterClientQuotasRequest, AlterClientQuotasResponse, check_alter_client_quotas),
    50: (DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, check_describe_user_scram_credentials),
    51: (AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, check_alter_user_scram_credentials),
    60: (DescribeClusterRequest, DescribeClusterResponse, check_describe_cluster),
}

# Known broker bugs: (api key, version) -> reason. Those cases are xfail(strict=True).
BROKER_BUGS: dict[tuple[int, int], str] = {}


def covered(api_key: int, version: int) -> bool:
    entry = CHECKS.get(api_key)
    if entry is None:
        return False
    req_cls, resp_cls, _ = entry
    return version <= req_cls.max_version and version <= resp_cls.max_version


def _cases() -> list:
    out = []
    for k, (lo, hi) in sorted(PROBED.items()):
        for v in range(lo, hi + 1):
            if not covered(k, v):
                continue
            marks = []
            if (k, v) in BROKER_BUGS:
                marks.append(pytest.mark.xfail(strict=True, reason=BROKER_BUGS[(k, v)]))
            out.append(pytest.param(k, v, id=f"{kw.api_name(k)}-{k}-v{v}", marks=marks))
    return out


CASES = _cases()


def test_probe_succeeded():
    assert PROBE_ERROR is None, f"collection-time ApiVersions probe failed: {PROBE_ERROR}"
    assert PROBED, "the probe broker advertised nothing"


@pytest.mark.parametrize("api_key,version", CASES)
def test_api_version(ctx, api_key, version):
    _, _, check = CHECKS[api_key]
    c = ctx.conn()
    try:
        check(ctx, c, version)
        # The connection still answers afterwards.
        r = c.call(ApiVersionsRequest(), 0, ApiVersionsResponse)
        assert r.error_code == NONE
    finally:
        c.close()


def test_every_advertised_pair_is_covered_or_documented(ctx):
    assert ctx.advertised == PROBED, (
        "the module broker advertises other versions than the collection-time probe")
    uncovered = [(k, v) for k, (lo, hi) in sorted(ctx.advertised.items()) for v in range(lo, hi + 1)
                 if not covered(k, v) and (k, v) not in NO_KAFKA_PYTHON_CLASS]
    assert not uncovered, (
        "advertised (api, version) pairs neither covered by test_api_version nor documented in "
        f"NO_KAFKA_PYTHON_CLASS / the module docstring: "
        f"{[(kw.api_name(k), k, v) for k, v in uncovered]}")
    # The documented list must not go stale either.
    stale = [kv for kv in NO_KAFKA_PYTHON_CLASS if covered(*kv)
             or not (kv[0] in ctx.advertised and ctx.advertised[kv[0]][0] <= kv[1] <= ctx.advertised[kv[0]][1])]
    assert not stale, f"NO_KAFKA_PYTHON_CLASS entries that are covered or no longer advertised: {stale}"


# --------------------------------------------------------------------------------------
# ApiVersions by hand (KIP-511)
# --------------------------------------------------------------------------------------


def _hand_request(version: int, corr: int) -> bytes:
    cid = b"hand"
    hdr = struct.pack(">hhih", 18, version, corr, len(cid)) + cid
    if version < 3:
        return hdr
    name, ver = b"runnel-hand", b"0.1"
    # header v2 tag buffer, then compact strings (length + 1) and the body's tag buffer
    return hdr + b"\x00" + bytes([len(name) + 1]) + name + bytes([len(ver) + 1]) + ver + b"\x00"


def _parse_v0(data: bytes) -> tuple[int, int, list[tuple[int, int, int]], int]:
    corr, err, n = struct.unpack_from(">ihi", data, 0)
    entries = [struct.unpack_from(">hhh", data, 10 + 6 * i) for i in range(n)]
    return corr, err, entries, len(data) - (10 + 6 * n)


def _parse_v3(data: bytes) -> tuple[int, int, list[tuple[int, int, int]], int, int]:
    corr, err = struct.unpack_from(">ih", data, 0)
    pos = 6
    n1, pos = _uvarint(data, pos)
    entries = []
    for _ in range(n1 - 1):
        entries.append(struct.unpack_from(">hhh", data, pos))
        pos += 6
        ntags, pos = _uvarint(data, pos)
        for _ in range(ntags):
            _, pos = _uvarint(data, pos)
            size, pos = _uvarint(data, pos)
            pos += size
    (throttle,) = struct.unpack_from(">i", data, pos)
    pos += 4
    ntags, pos = _uvarint(data, pos)
    for _ in range(ntags):
        _, pos = _uvarint(data, pos)
        size, pos = _uvarint(data, pos)
        pos += size
    return corr, err, entries, throttle, len(data) - pos


def _full_list(advertised: dict[int, tuple[int, int]]) -> list[tuple[int, int, int]]:
    return sorted((k, lo, hi) for k, (lo, hi) in advertised.items())


@pytest.mark.parametrize("version", [0, 3, 4])
def test_api_versions_by_hand(ctx, version):
    s = kw.connect(ctx.broker.host, ctx.broker.port)
    try:
        s.sendall(kw.frame(_hand_request(version, 4242)))
        data = kw.recv_frame(s)
    finally:
        s.close()
    if version == 0:
        corr, err, entries, left = _parse_v0(data)
    else:
        corr, err, entries, throttle, left = _parse_v3(data)
        assert throttle == 0
    assert (corr, err, left) == (4242, NONE, 0)
    assert sorted(entries) == _full_list(ctx.advertised)
    assert (18, 0, 4) in entries


def test_api_versions_v99_unsupported_then_v3(ctx):
    lo, hi = ctx.advertised[18]
    s = kw.connect(ctx.broker.host, ctx.broker.port)
    try:
        s.sendall(kw.frame(_hand_request(99, 7)))
        data = kw.recv_frame(s)
        assert data is not None, "broker closed the connection on ApiVersions v99"
        corr, err, entries, left = _parse_v0(data)
        assert (corr, err, left) == (7, UNSUPPORTED_VERSION, 0), data.hex()
        assert entries == [(18, lo, hi)]
        # The connection stays usable.
        s.sendall(kw.frame(_hand_request(3, 8)))
        corr, err, entries, throttle, left = _parse_v3(kw.recv_frame(s))
        assert (corr, err, left) == (8, NONE, 0)
        assert sorted(entries) == _full_list(ctx.advertised)
    finally:
        s.close()
