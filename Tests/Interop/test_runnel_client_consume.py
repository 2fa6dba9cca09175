"""confluent-kafka producer → RunnelClient consumer (driven through `runnel consume`):
keys, values and headers byte-equal for every codec, null keys included; kcat format tokens."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from interop_util import CK_COMMON
from runnel_cli import consume_json, create_topic, runnel, FAST

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def _produce(bootstrap: str, topic: str, codec: str, n: int) -> list[tuple]:
    cfg = dict(CK_COMMON)
    cfg.update({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20,
                "enable.idempotence": True})
    p = Producer(cfg)
    sent = []
    for i in range(n):
        key = None if i % 4 == 0 else f"ck-{i}".encode()
        value = f"confluent {i} ✓ {'y' * (i % 40)}".encode()
        headers = [("n", str(i).encode()), ("empty", b"")]
        p.produce(topic, value=value, key=key, headers=headers, partition=i % 2)
        sent.append((i % 2, key, value, headers))
    assert p.flush(30) == 0
    return sent


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_producer_to_swift_consumer(module_broker, topic, codec):
    bootstrap = module_broker.bootstrap
    create_topic(bootstrap, topic, 2)
    sent = _produce(bootstrap, topic, codec, 300)
    got = consume_json(bootstrap, topic, "--from-beginning", "--exit-at-end")
    assert len(got) == len(sent)
    for partition in (0, 1):
        mine = [r for r in got if r["partition"] == partition]
        theirs = [s for s in sent if s[0] == partition]
        assert [r["offset"] for r in mine] == list(range(len(theirs)))
        for r, (_, key, value, headers) in zip(mine, theirs):
            assert r["key"] == (None if key is None else key.decode())
            assert r["value"] == value.decode()
            assert [(h["key"], h["value"].encode()) for h in r["headers"]] == headers
            assert r["timestampType"] == "CreateTime"


def test_kcat_format_tokens(module_broker, topic):
    bootstrap = module_broker.bootstrap
    create_topic(bootstrap, topic, 1)
    cfg = dict(CK_COMMON)
    cfg.update({"bootstrap.servers": bootstrap})
    p = Producer(cfg)
    p.produce(topic, key=b"k1", value=b"v1", headers=[("a", b"1"), ("b", b"2")], timestamp=1700000000123)
    p.produce(topic, key=None, value=b"v2", timestamp=1700000000456)
    p.flush(10)
    cp = runnel(bootstrap, "consume", topic, "--from-beginning", "-e", *FAST,
                "--format", "%t|%p|%o|%k|%s|%K|%S|%T|%h|%%\\n")
    assert cp.stdout.decode() == (
        f"{topic}|0|0|k1|v1|2|2|1700000000123|a=1,b=2|%\n"
        f"{topic}|0|1||v2|-1|2|1700000000456||%\n")
    # --offset and --max-messages
    cp = runnel(bootstrap, "consume", topic, "--offset", "1", "--max-messages", "1", *FAST)
    assert cp.stdout == b"v2\n"
