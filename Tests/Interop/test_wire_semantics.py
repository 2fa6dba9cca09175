"""Protocol rules from the research brief (§0, §2.6) checked on raw sockets.

Requests are encoded with kafka-python's schema classes and framed/sent with
kafka_wire; responses are decoded with kafka-python too."""

from __future__ import annotations

import time

import pytest
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record.default_records import DefaultRecordBatchBuilder

import kafka_wire as kw
from interop_util import kp_consume


def _batch(values, compression=0):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    for i, v in enumerate(values):
        b.append(i, timestamp=int(time.time() * 1000), key=None, value=v, headers=[])
    return bytes(b.build())


def _produce_payload(topic, values, acks, version=7, corr=1, partition=0):
    TD = ProduceRequest.TopicProduceData
    PD = TD.PartitionProduceData
    req = ProduceRequest(transactional_id=None, acks=acks, timeout_ms=10000, topic_data=[
        TD(name=topic, partition_data=[PD(index=partition, records=_batch(values))])])
    req.API_VERSION = version
    req.with_header(correlation_id=corr, client_id="wire-test")
    return bytes(req.encode(header=True))


def _decode_produce(resp, version):
    r = ProduceResponse.decode(resp, version=version, header=True)
    (t,) = r.responses
    (p,) = t.partition_responses
    return r.header.correlation_id, p


def _ensure_topic(broker, topic):
    s = kw.connect(broker.host, broker.port)
    try:
        kw.request(s, kw.encode_metadata_request(4, 1, [topic], allow_auto_topic_creation=True))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            md = kw.decode_metadata_response(
                kw.request(s, kw.encode_metadata_request(4, 2, [topic])), 4)
            if md["topics"] and md["topics"][0]["error_code"] == 0:
                return
            time.sleep(0.1)
    finally:
        s.close()
    raise AssertionError(f"topic {topic} not created")


@pytest.mark.parametrize("version", [3, 7, 8, 9])
def test_produce_acks1_response(broker, topic, version):
    _ensure_topic(broker, topic)
    s = kw.connect(broker.host, broker.port)
    try:
        resp = kw.request(s, _produce_payload(topic, [b"a", b"b"], acks=1, version=version, corr=77))
        corr, p = _decode_produce(resp, version)
        assert corr == 77
        assert (p.index, p.error_code, p.base_offset) == (0, 0, 0)
        assert p.log_append_time_ms == -1  # CreateTime topic
        if version >= 5:
            assert p.log_start_offset == 0
        resp = kw.request(s, _produce_payload(topic, [b"c"], acks=-1, version=version, corr=78))
        corr, p = _decode_produce(resp, version)
        assert (corr, p.error_code, p.base_offset) == (78, 0, 2)
    finally:
        s.close()


def test_produce_acks0_gets_no_response(broker, topic):
    _ensure_topic(broker, topic)
    s = kw.connect(broker.host, broker.port)
    try:
        s.sendall(kw.frame(_produce_payload(topic, [b"zero-1", b"zero-2"], acks=0, corr=5)))
        # The next response on this connection must be the ApiVersions one (corr 6).
        resp = kw.request(s, kw.encode_api_versions_request(0, 6))
        assert kw.decode_api_versions_response(resp, 0)["correlation_id"] == 6
    finally:
        s.close()
    got = kp_consume(broker.bootstrap, topic, 0, 2)
    assert [g.value for g in got] == [b"zero-1", b"zero-2"]


def test_produce_invalid_acks(broker, topic):
    _ensure_topic(broker, topic)
    s = kw.connect(broker.host, broker.port)
    try:
        resp = kw.request(s, _produce_payload(topic, [b"x"], acks=2, corr=9))
        corr, p = _decode_produce(resp, 7)
        assert corr == 9
        assert p.error_code == 21, "INVALID_REQUIRED_ACKS expected"
    finally:
        s.close()


def test_produce_unknown_partition(broker, topic):
    _ensure_topic(broker, topic)
    s = kw.connect(broker.host, broker.port)
    try:
        resp = kw.request(s, _produce_payload(topic, [b"x"], acks=1, corr=10, partition=7))
        corr, p = _decode_produce(resp, 7)
        assert (corr, p.index) == (10, 7)
        assert p.error_code == 3, "UNKNOWN_TOPIC_OR_PARTITION expected"
    finally:
        s.close()
