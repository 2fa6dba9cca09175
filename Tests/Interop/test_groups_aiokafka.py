"""Consumer groups with aiokafka 0.14 (FindCoordinator v1, JoinGroup v5 with the KIP-394
MEMBER_ID_REQUIRED round, SyncGroup v3, Heartbeat/LeaveGroup v1, OffsetCommit/OffsetFetch
v2-3): commit, broker restart, resume exactly at the committed offset."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from group_util import create_topic, group_broker, produce_per_partition, unique_group, wait_until
from interop_util import KP_COMMON

PARTITIONS = 2
PER_PARTITION = 50

COMMON = {"request_timeout_ms": 10000, "retry_backoff_ms": 100, "metadata_max_age_ms": 5000}


def _consumer(bootstrap, topic, group, **kw) -> AIOKafkaConsumer:
    cfg = dict(COMMON, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
               auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=500,
               max_poll_interval_ms=15000, fetch_max_wait_ms=100)
    cfg.update(kw)
    return AIOKafkaConsumer(topic, **cfg)


async def _consume(c: AIOKafkaConsumer, n: int, timeout: float) -> list:
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        batch = await c.getmany(timeout_ms=200, max_records=n - len(out))
        for recs in batch.values():
            out.extend(recs)
    return out


def _admin_offsets(bootstrap, group) -> dict[int, tuple[int, str]]:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **KP_COMMON)
    try:
        res = admin.list_group_offsets({group: None})[group]
        return {tp.partition: (om.offset, om.metadata) for tp, om in res.items()}
    finally:
        admin.close()


def test_commit_restart_resume(broker_factory, topic):
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, PARTITIONS)
    produce_per_partition(b.bootstrap, topic, PARTITIONS, PER_PARTITION, tag="aio")
    group = unique_group("aio")
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]

    async def first():
        c = _consumer(b.bootstrap, topic, group)
        await c.start()
        try:
            got = await _consume(c, 30, 30)
            assert len(got) == 30, f"consumed {len(got)} records"
            assert c.assignment() == set(tps)
            last: dict[int, int] = {}
            for r in got:
                last[r.partition] = max(last.get(r.partition, -1), r.offset)
            pos = {p: min(off + 1, PER_PARTITION - 3) for p, off in last.items()}  # leave some to resume
            commit = {TopicPartition(topic, p): OffsetAndMetadata(o, f"aio-{p}-{o}") for p, o in pos.items()}
            await c.commit(commit)
            for tp, om in commit.items():
                assert await c.committed(tp) == om.offset, tp
            for tp in tps:
                if tp not in commit:
                    assert await c.committed(tp) is None, tp
            return {tp.partition: (om.offset, om.metadata) for tp, om in commit.items()}
        finally:
            await c.stop()

    want = asyncio.run(first())
    assert _admin_offsets(b.bootstrap, group) == want

    assert b.restart() == 0
    got_offsets = wait_until(lambda: _admin_offsets(b.bootstrap, group), 20, "offsets after restart")
    assert got_offsets == want, f"committed offsets changed across the restart: {got_offsets} != {want}"

    start = {p: want.get(p, (0, ""))[0] for p in range(PARTITIONS)}
    remaining = sum(PER_PARTITION - s for s in start.values())

    async def second():
        c = _consumer(b.bootstrap, topic, group)
        await c.start()
        try:
            for tp in tps:
                if tp.partition in want:
                    assert await c.committed(tp) == want[tp.partition][0], tp
            got = await _consume(c, remaining, 30)
            by_p: dict[int, list[int]] = {}
            for r in got:
                by_p.setdefault(r.partition, []).append(r.offset)
            for p in range(PARTITIONS):
                offs = by_p.get(p, [])
                assert offs and offs[0] == start[p], \
                    f"partition {p}: resumed at {offs[:1]}, committed offset was {start[p]}"
                assert offs == list(range(start[p], PER_PARTITION)), f"partition {p}: {offs[:5]}..."
            await c.commit()
            for tp in tps:
                assert await c.committed(tp) == PER_PARTITION
        finally:
            await c.stop()

    asyncio.run(second())
    assert {p: o for p, (o, _) in _admin_offsets(b.bootstrap, group).items()} == \
        {p: PER_PARTITION for p in range(PARTITIONS)}


def test_two_aiokafka_members_roundrobin(broker_factory, topic):
    """Two aiokafka members (roundrobin, its only assignor) in one event loop split 4
    partitions; when one stops, the other gets everything."""
    b = group_broker(broker_factory)
    parts = 4
    create_topic(b.bootstrap, topic, parts)
    group = unique_group("aio-rr")

    async def run():
        c1 = _consumer(b.bootstrap, topic, group, client_id="aio-1")
        c2 = _consumer(b.bootstrap, topic, group, client_id="aio-2")
        await c1.start()
        await c2.start()
        stopped2 = False
        try:
            async def pump(c):
                while True:
                    await c.getmany(timeout_ms=100)

            tasks = [asyncio.create_task(pump(c1)), asyncio.create_task(pump(c2))]
            try:
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    a1 = {tp.partition for tp in c1.assignment()}
                    a2 = {tp.partition for tp in c2.assignment()}
                    if a1 and a2 and not (a1 & a2) and (a1 | a2) == set(range(parts)):
                        break
                    await asyncio.sleep(0.2)
                assert (len(a1), len(a2)) == (2, 2) and not (a1 & a2), (a1, a2)
                tasks[1].cancel()
                await asyncio.gather(tasks[1], return_exceptions=True)
                await c2.stop()
                stopped2 = True
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    if {tp.partition for tp in c1.assignment()} == set(range(parts)):
                        break
                    await asyncio.sleep(0.2)
                assert {tp.partition for tp in c1.assignment()} == set(range(parts)), c1.assignment()
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await c1.stop()
            if not stopped2:
                await c2.stop()

    asyncio.run(run())
