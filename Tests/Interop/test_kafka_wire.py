"""Self-tests of kafka_wire.py (no broker needed).

The raw-socket tests and the fixture capture tool trust kafka_wire's encoders and
decoders, so they are cross-checked here against kafka-python's independent
implementation of the same JSON schemas."""

from __future__ import annotations

import uuid

import pytest
from kafka.protocol.consumer import FetchRequest
from kafka.protocol.metadata import ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse
from kafka.protocol.producer import ProduceRequest
from kafka.record.default_records import DefaultRecordBatchBuilder

import kafka_wire as kw


def _encode(msg, version, corr=5, client_id="cid"):
    msg.API_VERSION = version
    msg.with_header(correlation_id=corr, client_id=client_id)
    return bytes(msg.encode(header=True))


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_api_versions_request_matches_kafka_python(version):
    mine = kw.encode_api_versions_request(version, 42, client_id="me", software_name="sw",
                                          software_version="9.9")
    theirs = ApiVersionsRequest.decode(mine, version=version, header=True)
    assert theirs.header.correlation_id == 42
    assert theirs.header.client_id == "me"
    if version >= 3:
        assert (theirs.client_software_name, theirs.client_software_version) == ("sw", "9.9")
    parsed = kw.parse_request(mine)
    assert parsed["api_key"] == 18 and parsed["api_version"] == version
    assert parsed["body_trailing"] == 0


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_api_versions_response_decoder(version):
    AK = ApiVersionsResponse.ApiVersion
    r = ApiVersionsResponse(error_code=0, throttle_time_ms=0, api_keys=[
        AK(api_key=0, min_version=0, max_version=9), AK(api_key=1, min_version=4, max_version=12),
        AK(api_key=18, min_version=0, max_version=4)])
    r.API_VERSION = version
    r.with_header(correlation_id=77)
    out = kw.decode_api_versions_response(bytes(r.encode(header=True)), version)
    assert out["correlation_id"] == 77
    assert out["api_keys"] == {0: (0, 9), 1: (4, 12), 18: (0, 4)}
    assert out["trailing"] == 0


@pytest.mark.parametrize("version", list(range(0, 13)))
def test_metadata_request_round_trip(version):
    mine = kw.encode_metadata_request(version, 9, ["x", "y"], allow_auto_topic_creation=True)
    theirs = MetadataRequest.decode(mine, version=version, header=True)
    assert [t.name for t in theirs.topics] == ["x", "y"]
    assert theirs.header.correlation_id == 9
    if version >= 4:
        assert theirs.allow_auto_topic_creation is True
    T = MetadataRequest.MetadataRequestTopic
    data = _encode(MetadataRequest(topics=[T(name="abc")], allow_auto_topic_creation=False,
                                   include_topic_authorized_operations=False), version)
    parsed = kw.parse_request(data)
    assert parsed["body"]["topics"] == ["abc"]
    assert parsed["client_id"] == "cid" and parsed["correlation_id"] == 5
    assert parsed["body_trailing"] == 0


@pytest.mark.parametrize("version", [1, 5, 7, 9, 10, 12])
def test_metadata_response_decoder(version):
    B = MetadataResponse.MetadataResponseBroker
    T = MetadataResponse.MetadataResponseTopic
    P = T.MetadataResponsePartition
    tid = uuid.uuid4()
    r = MetadataResponse(
        throttle_time_ms=0, brokers=[B(node_id=1, host="127.0.0.1", port=9092, rack=None)],
        cluster_id="c1", controller_id=1,
        topics=[T(error_code=0, name="t", topic_id=tid, is_internal=False, authorized_operations=set(),
                  partitions=[P(error_code=0, partition_index=0, leader_id=1, leader_epoch=3,
                                replica_nodes=[1], isr_nodes=[1], offline_replicas=[])])],
        authorized_operations=set())
    r.API_VERSION = version
    r.with_header(correlation_id=3)
    out = kw.decode_metadata_response(bytes(r.encode(header=True)), version)
    assert out["correlation_id"] == 3 and out["trailing"] == 0
    assert [(b["node_id"], b["host"], b["port"]) for b in out["brokers"]] == [(1, "127.0.0.1", 9092)]
    (t,) = out["topics"]
    assert t["name"] == "t"
    if version >= 10:
        assert t["topic_id"] == tid
    assert [p["leader_id"] for p in t["partitions"]] == [1]


def _batch(n=3, compression=0):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    for i in range(n):
        b.append(i, timestamp=1700000000000 + i, key=f"k{i}".encode(), value=f"v{i}".encode(),
                 headers=[("h", b"x")])
    return bytes(b.build())


@pytest.mark.parametrize("version", [3, 7, 8, 9])
def test_produce_request_decoder(version):
    TD = ProduceRequest.TopicProduceData
    PD = TD.PartitionProduceData
    req = ProduceRequest(transactional_id=None, acks=-1, timeout_ms=30000, topic_data=[
        TD(name="topic-a", partition_data=[PD(index=2, records=_batch())])])
    parsed = kw.parse_request(_encode(req, version))
    body = parsed["body"]
    assert parsed["body_trailing"] == 0
    assert (body["acks"], body["timeout_ms"]) == (-1, 30000)
    (t,) = body["topics"]
    (p,) = t["partitions"]
    assert (t["topic"], p["partition"]) == ("topic-a", 2)
    (b,) = p["batches"]
    assert b["record_count"] == 3 and b["compression"] == "none"
    assert b["crc_ok"] is True
    assert [(r["offset"], r["key"], r["value"], r["headers"]) for r in b["records"]] == [
        (i, f"k{i}".encode(), f"v{i}".encode(), [("h", b"x")]) for i in range(3)]
    assert [r["timestamp"] for r in b["records"]] == [1700000000000 + i for i in range(3)]


@pytest.mark.parametrize("version", [4, 7, 9, 11, 12])
def test_fetch_request_decoder(version):
    FT = FetchRequest.FetchTopic
    FP = FT.FetchPartition
    req = FetchRequest(replica_id=-1, max_wait_ms=500, min_bytes=1, max_bytes=52428800,
                       isolation_level=0, session_id=0, session_epoch=-1, rack_id="",
                       forgotten_topics_data=[],
                       topics=[FT(topic="topic-b", partitions=[FP(partition=0, current_leader_epoch=-1,
                                                                  fetch_offset=17, last_fetched_epoch=-1,
                                                                  log_start_offset=-1,
                                                                  partition_max_bytes=1048576)])])
    parsed = kw.parse_request(_encode(req, version))
    body = parsed["body"]
    assert parsed["body_trailing"] == 0
    assert (body["max_wait_ms"], body["min_bytes"]) == (500, 1)
    (t,) = body["topics"]
    (p,) = t["partitions"]
    assert (t["topic"], p["partition"], p["fetch_offset"]) == ("topic-b", 0, 17)


def test_truncated_input_raises():
    data = kw.request_header(3, 1, 1) + b"\x00\x00\x00\x05"
    with pytest.raises(kw.WireError):
        kw.parse_request(data)


def test_varints():
    for v in [0, 1, -1, 63, -64, 64, 300, -300, 2**31 - 1, -(2**31)]:
        w = kw.Writer().varint(v)
        assert kw.Reader(w.bytes()).varint() == v
    for v in [0, 1, 127, 128, 16383, 16384, 2**32 - 1]:
        assert kw.Reader(kw.Writer().uvarint(v).bytes()).uvarint() == v


@pytest.mark.parametrize("version", [1, 2, 4, 5, 6, 7])
def test_list_offsets_request_decoder(version):
    from kafka.protocol.consumer import ListOffsetsRequest

    T = ListOffsetsRequest.ListOffsetsTopic
    P = T.ListOffsetsPartition
    req = ListOffsetsRequest(replica_id=-1, isolation_level=1, topics=[
        T(name="lo", partitions=[P(partition_index=4, current_leader_epoch=-1, timestamp=-2)])])
    parsed = kw.parse_request(_encode(req, version))
    assert parsed["body_trailing"] == 0
    (t,) = parsed["body"]["topics"]
    assert (t["topic"], t["partitions"][0]["partition"], t["partitions"][0]["timestamp"]) == ("lo", 4, -2)
