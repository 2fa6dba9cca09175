"""kcat 1.7.1 / librdkafka 2.0.2 against runnel.

Which compression tests verify compression ON THE WIRE:
  gzip, snappy, zstd  -> yes: the produce goes through a recording proxy and the
                         test asserts the Produce request's batch attributes carry
                         that codec (librdkafka 2.0.2 sends gzip/snappy only when
                         Produce v0 is advertised, zstd only with Produce>=7 and
                         Fetch>=10 advertised).
  lz4                 -> round trip only: librdkafka 2.0.2 enables lz4 only when
                         FindCoordinator v0 is advertised, which runnel does not
                         do yet, so kcat may silently send it uncompressed. The
                         test records which codec was actually used and accepts
                         "lz4" or "none".
"""

from __future__ import annotations

import json
import uuid
import warnings

import pytest

import kafka_wire
from interop_util import check_codec_on_wire, kcat


def _lines(cp) -> list[str]:
    return cp.stdout.decode().splitlines()


def _metadata(bootstrap: str, topic: str | None = None) -> dict:
    args = ["-L", "-J"]
    if topic:
        args += ["-t", topic]
    cp = kcat(bootstrap, *args, timeout=30)
    return json.loads(cp.stdout.decode())


def test_metadata_lists_broker_and_auto_created_topic(broker, topic):
    md = _metadata(broker.bootstrap)
    brokers = {b["id"]: b["name"] for b in md["brokers"]}
    assert brokers == {1: broker.bootstrap}, md
    assert md.get("controllerid") == 1, md
    assert topic not in {t["topic"] for t in md["topics"]}

    kcat(broker.bootstrap, "-P", "-t", topic, input=b"hello\n")

    md = _metadata(broker.bootstrap)
    topics = {t["topic"]: t for t in md["topics"]}
    assert topic in topics, md
    t = topics[topic]
    assert not t.get("error"), t
    assert len(t["partitions"]) == 1, t  # num.partitions default 1
    p = t["partitions"][0]
    assert p["partition"] == 0
    assert p["leader"] == 1
    assert [r["id"] for r in p["replicas"]] == [1]
    assert [r["id"] for r in p["isrs"]] == [1]


def test_metadata_respects_num_partitions(broker_factory, topic):
    b = broker_factory({"num.partitions": 3})
    kcat(b.bootstrap, "-P", "-t", topic, "-p", "2", input=b"x\n")
    md = _metadata(b.bootstrap, topic)
    (t,) = [t for t in md["topics"] if t["topic"] == topic]
    assert sorted(p["partition"] for p in t["partitions"]) == [0, 1, 2]
    assert all(p["leader"] == 1 for p in t["partitions"])


def test_10k_lines_round_trip_in_order(broker, topic):
    tag = uuid.uuid4().hex[:6]
    lines = [f"line-{i:05d}-{tag}-{'x' * (i % 37)}" for i in range(10_000)]
    kcat(broker.bootstrap, "-P", "-t", topic, "-p", "0",
         input=("\n".join(lines) + "\n").encode(), timeout=120)

    cp = kcat(broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
              "-f", "%o\t%s\n", timeout=120)
    got = _lines(cp)
    assert len(got) == len(lines), f"got {len(got)} lines, want {len(lines)}"
    offsets = [int(g.split("\t", 1)[0]) for g in got]
    values = [g.split("\t", 1)[1] for g in got]
    assert offsets == list(range(len(lines)))
    assert values == lines


def test_keys_round_trip(broker, topic):
    pairs = [(f"k{i % 7}", f"value-{i}") for i in range(200)]
    data = "".join(f"{k}:{v}\n" for k, v in pairs).encode()
    kcat(broker.bootstrap, "-P", "-t", topic, "-p", "0", "-K:", input=data)
    cp = kcat(broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
              "-f", "%k=%s@%o\n")
    assert _lines(cp) == [f"{k}={v}@{i}" for i, (k, v) in enumerate(pairs)]


def test_json_envelope_has_partition_offset_key(broker, topic):
    kcat(broker.bootstrap, "-P", "-t", topic, "-p", "0", "-K:", input=b"alpha:one\nbeta:two\n")
    cp = kcat(broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-J")
    msgs = [json.loads(ln) for ln in _lines(cp)]
    assert [(m["partition"], m["offset"], m["key"], m["payload"]) for m in msgs] == [
        (0, 0, "alpha", "one"), (0, 1, "beta", "two")]
    assert all(m["topic"] == topic for m in msgs)
    assert all(m["ts"] > 0 for m in msgs), msgs  # CreateTime set by librdkafka


def test_consume_from_end_offset_is_empty_and_exits(broker, topic):
    kcat(broker.bootstrap, "-P", "-t", topic, "-p", "0", input=b"a\nb\nc\n")
    cp = kcat(broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "end", "-e", "-q",
              "-f", "%s\n", timeout=30)
    assert _lines(cp) == []
    cp = kcat(broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "1", "-e", "-q",
              "-f", "%o:%s\n", timeout=30)
    assert _lines(cp) == ["1:b", "2:c"]


# codec -> is the on-the-wire compression asserted?
CODECS = {"gzip": True, "snappy": True, "zstd": True, "lz4": False}


@pytest.mark.parametrize("codec", list(CODECS))
def test_compressed_round_trip(tapped_broker, topic, codec):
    bootstrap = tapped_broker.bootstrap
    tag = uuid.uuid4().hex[:6]
    pairs = [(f"key-{i % 13}", f"{codec}-record-{i:04d}-{tag}-" + "abc" * (i % 20))
             for i in range(1000)]
    data = "".join(f"{k}:{v}\n" for k, v in pairs).encode()
    kcat(bootstrap, "-P", "-t", topic, "-p", "0", "-K:", "-z", codec,
         "-X", "linger.ms=50", input=data, timeout=60)

    produces = tapped_broker.requests(api_key=0)
    assert produces, "no Produce request went through the proxy"
    sent = [b for req in produces for t in req["body"]["topics"] for p in t["partitions"] for b in p["batches"]]
    codecs_seen = {b["compression"] for b in sent}
    assert sum(b["record_count"] for b in sent) == len(pairs)
    if CODECS[codec]:
        check_codec_on_wire(sent, codec)
    else:
        assert codecs_seen <= {codec, "none"}, codecs_seen
        if codecs_seen != {codec}:
            warnings.warn(f"kcat sent {codec} records as {sorted(codecs_seen)} "
                          "(librdkafka 2.0.2 gates lz4 on FindCoordinator v0)")

    cp = kcat(bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
              "-f", "%k:%s\n", timeout=60)
    assert _lines(cp) == [f"{k}:{v}" for k, v in pairs]


def test_produce_version_negotiated(tapped_broker, topic):
    """kcat (librdkafka 2.0.2) should use Produce v7, Metadata v4, Fetch v11,
    ApiVersions v3 against the advertised ranges."""
    bootstrap = tapped_broker.bootstrap
    kcat(bootstrap, "-P", "-t", topic, "-p", "0", input=b"v\n")
    kcat(bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q")
    seen = {}
    for req in tapped_broker.requests():
        seen.setdefault(req["api_key"], set()).add(req["api_version"])
    assert seen.get(18) == {3}, seen
    assert seen.get(0) == {7}, seen
    assert seen.get(1) == {11}, seen
    assert seen.get(3) == {4}, seen
    assert all(r.get("body_trailing", 0) == 0 for r in tapped_broker.requests())
    assert kafka_wire.api_name(0) == "Produce"


def test_librdkafka_feature_detection(broker):
    """librdkafka 2.0.2 derives features from single-version checks against the
    advertised ranges (brief §1.2): MsgVer2 needs Produce∋3 and Fetch∋4, ZSTD needs
    Produce∋7 and Fetch∋10, OffsetTime needs ListOffsets∋1."""
    cp = kcat(broker.bootstrap, "-L", "-X", "debug=feature", timeout=30)
    enabled = set()
    for ln in cp.stderr.decode(errors="replace").splitlines():
        if "Enabling feature " in ln:
            enabled.add(ln.rsplit("Enabling feature ", 1)[1].strip())
    for feature in ("ApiVersion", "MsgVer2", "ZSTD", "OffsetTime"):
        assert feature in enabled, f"librdkafka did not enable {feature}; enabled: {sorted(enabled)}"
