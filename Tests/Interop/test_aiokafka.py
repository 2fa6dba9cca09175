"""aiokafka 0.14 against runnel (ApiVersions v0, Produce <=7, Fetch <=11, Metadata <=5)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

COMMON = {"request_timeout_ms": 10000, "retry_backoff_ms": 100, "metadata_max_age_ms": 5000}


async def _produce(bootstrap, topic, recs, **kw):
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, **COMMON, **kw)
    await p.start()
    try:
        metas = []
        for r in recs:
            metas.append(await p.send_and_wait(topic, partition=0, **r))
        return metas
    finally:
        await p.stop()


async def _consume(bootstrap, topic, n, timeout_s=20.0):
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest", fetch_max_wait_ms=200, **COMMON)
    await c.start()
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        await c.seek_to_beginning(tp)
        out = []
        deadline = time.monotonic() + timeout_s
        while len(out) < n and time.monotonic() < deadline:
            batch = await c.getmany(tp, timeout_ms=500)
            out.extend(batch.get(tp, []))
        return out
    finally:
        await c.stop()


def _recs(n, tag):
    ts = int(time.time() * 1000) - 30_000
    return [{"key": f"a{i % 4}".encode(), "value": f"aio-{i}-{tag}".encode(),
             "headers": [("n", str(i).encode())], "timestamp_ms": ts + i} for i in range(n)]


@pytest.mark.parametrize("acks", [1, "all"])
def test_send_and_wait_then_consume(broker, topic, acks):
    tag = uuid.uuid4().hex[:8]
    recs = _recs(40, tag)
    metas = asyncio.run(_produce(broker.bootstrap, topic, recs, acks=acks))
    assert [m.offset for m in metas] == list(range(len(recs)))
    assert all(m.partition == 0 for m in metas)

    got = asyncio.run(_consume(broker.bootstrap, topic, len(recs)))
    assert len(got) == len(recs), f"consumed {len(got)}/{len(recs)}"
    assert [g.offset for g in got] == list(range(len(recs)))
    assert [g.key for g in got] == [r["key"] for r in recs]
    assert [g.value for g in got] == [r["value"] for r in recs]
    assert [list(g.headers) for g in got] == [r["headers"] for r in recs]
    assert [g.timestamp for g in got] == [r["timestamp_ms"] for r in recs]


@pytest.mark.parametrize("codec", ["gzip"])
def test_compressed_round_trip(broker, topic, codec):
    tag = uuid.uuid4().hex[:8]
    values = [f"{codec}-{i}-{tag}-".encode() + b"w" * (i % 64) for i in range(200)]

    async def produce_batch():
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, compression_type=codec,
                             linger_ms=20, acks=1, **COMMON)
        await p.start()
        try:
            futs = [await p.send(topic, value=v, partition=0) for v in values]
            return [(await f).offset for f in futs]
        finally:
            await p.stop()

    offsets = asyncio.run(produce_batch())
    assert offsets == list(range(len(values)))
    got = asyncio.run(_consume(broker.bootstrap, topic, len(values)))
    assert [g.value for g in got] == values
    assert [g.offset for g in got] == offsets
