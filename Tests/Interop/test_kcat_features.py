"""kcat (librdkafka 2.0.2) enables the MsgVer2, ZSTD and IdempotentProducer protocol features
against Runnel, as shown by its own debug output (`-X debug=protocol,feature`).

librdkafka derives its features from the ApiVersions answer in rd_kafka_features_check()
(src/rdkafka_feature.c), which logs, under the `feature` debug context with facility
APIVERSION, one line per dependency and then the verdict:

    %7|1796002625.149|APIVERSION|rdkafka#producer-1| [thrd:127.0.0.1:39111/bootstrap]: 127.0.0.1:39111/bootstrap:  Feature ZSTD: Produce (7..7) supported by broker
    %7|1796002625.149|APIVERSION|rdkafka#producer-1| [thrd:127.0.0.1:39111/bootstrap]: 127.0.0.1:39111/bootstrap: Enabling feature ZSTD

(level 7, unix time with milliseconds, facility, client instance name, thread, broker name, then
the message: " Feature %s: %s (%hd..%hd) %ssupported by broker" and "%s feature %s" with
Enabling/Disabling). The summary line "Updated enabled protocol features to ..." is logged in the
`broker` context only (rd_kafka_broker_set_api_versions), so with `debug=protocol,feature` the
verdict lines above are what carries the information; the tests parse them exactly.

Dependencies in librdkafka 2.0.2's feature map: MsgVer2 = Produce v3 and Fetch v4; ZSTD =
Produce v7 and Fetch v10; IdempotentProducer = InitProducerId v0; LZ4 = FindCoordinator v0 (see
docs/protocol-support.md, "Client behaviour that needed care"). With Produce v0-2 and Fetch v0-3
served (legacy message formats), MsgVer1 (Produce v2, Fetch v2) and ThrottleTime (Produce and
Fetch 1..2) are enabled too; harmless, since MsgVer2 wins and kcat keeps writing magic-2 batches.
"""

from __future__ import annotations

import re
import uuid

import pytest
from kafka.protocol.consumer import FetchRequest, FetchResponse

import kafka_wire as kw
from interop_util import kcat

DEBUG = ["-X", "debug=protocol,feature"]

# librdkafka log line: %<level>|<sec.ms>|<facility>|<instance>| [thrd:<thread>]: <broker>: <message>
LOG_LINE = re.compile(
    r"^%(?P<level>\d)\|(?P<ts>\d+\.\d{3})\|(?P<fac>[A-Z_]+)\|(?P<inst>rdkafka#(?:producer|consumer)-\d+)\| "
    r"\[thrd:(?P<thread>[^\]]+)\]: (?P<msg>.*)$")


def _lines(stderr: bytes, port: int) -> list[re.Match]:
    out = []
    for raw in stderr.decode(errors="replace").splitlines():
        m = LOG_LINE.match(raw)
        if m:
            out.append(m)
    assert out, f"no librdkafka debug lines in kcat's stderr:\n{stderr.decode(errors='replace')[-2000:]}"
    return out


def _broker_msg(m: re.Match, port: int) -> tuple[str, str] | None:
    """(broker name, message) for a line logged by one of this broker's connections."""
    bm = re.match(rf"^(127\.0\.0\.1:{port}/(?:bootstrap|\d+)): (.*)$", m.group("msg"))
    return (bm.group(1), bm.group(2)) if bm else None


def feature_verdicts(stderr: bytes, port: int) -> dict[str, str]:
    """feature name -> 'Enabling' / 'Disabling' (the last verdict logged for it)."""
    verdicts: dict[str, str] = {}
    for m in _lines(stderr, port):
        bm = _broker_msg(m, port)
        if m.group("fac") != "APIVERSION" or bm is None:
            continue
        v = re.fullmatch(r"(Enabling|Disabling) feature (\w+)", bm[1])
        if v:
            assert m.group("level") == "7"
            verdicts[v.group(2)] = v.group(1)
    return verdicts


def feature_dependencies(stderr: bytes, port: int) -> dict[str, list[tuple[str, int, int, bool]]]:
    """feature -> [(api name, min, max, supported)] from the ' Feature X: Api (a..b) ...' lines."""
    deps: dict[str, list[tuple[str, int, int, bool]]] = {}
    for m in _lines(stderr, port):
        bm = _broker_msg(m, port)
        if m.group("fac") != "APIVERSION" or bm is None:
            continue
        d = re.fullmatch(r" Feature (\w+): (\w+) \((\d+)\.\.(\d+)\) (NOT )?supported by broker", bm[1])
        if d:
            entry = (d.group(2), int(d.group(3)), int(d.group(4)), d.group(5) is None)
            if entry not in deps.setdefault(d.group(1), []):
                deps[d.group(1)].append(entry)
    return deps


EXPECTED_DEPS = {
    "MsgVer2": [("Produce", 3, 3, True), ("Fetch", 4, 4, True)],
    "ZSTD": [("Produce", 7, 7, True), ("Fetch", 10, 10, True)],
    "IdempotentProducer": [("InitProducerId", 0, 0, True)],
    "LZ4": [("FindCoordinator", 0, 0, True)],
    "MsgVer1": [("Produce", 2, 2, True), ("Fetch", 2, 2, True)],
    "ThrottleTime": [("Produce", 1, 2, True), ("Fetch", 1, 2, True)],
}


def test_metadata_list_enables_msgver2_zstd_idempotence(module_broker):
    cp = kcat(module_broker.bootstrap, "-L", *DEBUG)
    assert b"broker 1 at 127.0.0.1:" in cp.stdout, cp.stdout.decode()
    verdicts = feature_verdicts(cp.stderr, module_broker.port)
    for feature in ["MsgVer2", "ZSTD", "IdempotentProducer", "LZ4", "MsgVer1", "ThrottleTime"]:
        assert verdicts.get(feature) == "Enabling", f"{feature}: {verdicts}"
    deps = feature_dependencies(cp.stderr, module_broker.port)
    for feature, want in EXPECTED_DEPS.items():
        assert deps.get(feature) == want, f"{feature}: {deps.get(feature)}"


def _fetch_batches(broker, topic):
    FT = FetchRequest.FetchTopic
    FP = FT.FetchPartition
    req = FetchRequest(replica_id=-1, max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, isolation_level=0,
                       session_id=0, session_epoch=-1, forgotten_topics_data=[], rack_id="",
                       topics=[FT(topic=topic, partitions=[FP(partition=0, current_leader_epoch=-1, fetch_offset=0,
                                                              last_fetched_epoch=-1, log_start_offset=-1,
                                                              partition_max_bytes=1 << 20)])])
    req.with_header(correlation_id=5, client_id="kcat-features")
    req.API_VERSION = 12
    s = kw.connect(broker.host, broker.port)
    try:
        r = FetchResponse.decode(kw.request(s, bytes(req.encode(header=True))), version=12, header=True)
    finally:
        s.close()
    (p,) = r.responses[0].partitions
    assert p.error_code == 0, p
    return kw.decode_record_batches(bytes(p.records))


def test_idempotent_zstd_produce_uses_the_features(module_broker):
    topic = f"kcat-features-{uuid.uuid4().hex[:8]}"
    values = [f"feature-record-{i}".encode() for i in range(5)]
    cp = kcat(module_broker.bootstrap, "-P", "-t", topic, "-p", "0", "-z", "zstd",
              "-X", "enable.idempotence=true", "-X", "linger.ms=50", *DEBUG,
              input=b"\n".join(values) + b"\n")
    port = module_broker.port
    verdicts = feature_verdicts(cp.stderr, port)
    for feature in ["MsgVer2", "ZSTD", "IdempotentProducer"]:
        assert verdicts.get(feature) == "Enabling", f"{feature}: {verdicts}"
    msgs = [bm[1] for m in _lines(cp.stderr, port) if (bm := _broker_msg(m, port))]
    # librdkafka's protocol lines: "Sent <Req> (v<N>, <n> bytes @ 0, CorrId <id>)" and
    # "Received <Resp> (v<N>, <n> bytes, CorrId <id>, rtt <ms>ms)".
    sent = [re.fullmatch(r"Sent (\w+) \(v(\d+), \d+ bytes @ \d+, CorrId \d+\)", x) for x in msgs]
    recv = [re.fullmatch(r"Received (\w+) \(v(\d+), \d+ bytes, CorrId \d+, rtt [\d.]+ms\)", x) for x in msgs]
    sent = [(m.group(1), int(m.group(2))) for m in sent if m]
    recv = [(m.group(1), int(m.group(2))) for m in recv if m]
    assert any(name == "InitProducerIdRequest" for name, _ in sent), sent
    assert any(name == "InitProducerIdResponse" for name, _ in recv), recv
    produce_versions = [v for name, v in sent if name == "ProduceRequest"]
    assert produce_versions and min(produce_versions) >= 7, f"zstd needs Produce v7+: {sent}"
    assert [v for name, v in recv if name == "ProduceResponse"] == produce_versions

    # What the broker stored: zstd batches from an idempotent producer, sequences from 0.
    batches = _fetch_batches(module_broker, topic)
    assert batches and all(b["compression"] == "zstd" for b in batches), batches
    assert all(b["producer_id"] >= 0 and b["producer_epoch"] == 0 for b in batches), batches
    assert batches[0]["base_sequence"] == 0
    assert sum(b["record_count"] for b in batches) == len(values)
    out = kcat(module_broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%o %s\n")
    assert out.stdout.decode().splitlines() == [f"{i} {v.decode()}" for i, v in enumerate(values)]
