"""ListOffsets from every client: earliest, latest, max timestamp (-3, KIP-734) and by time
(KIP-79), plus fetching from an offset inside a compressed batch.

The data is written with raw Produce requests (kafka-python's classes and record-batch builder)
so that the batch layout and the CreateTime timestamps are exactly known:

    offset  0  1  2 |  3  4  5  6   |  7  8  9   | 10  11     (T0 + seconds)
    batch   none    |  gzip         |  zstd      |  lz4
    ts      5  1  3 |  2  6  4  2.5 |  8  9  7   |  9  0.5

Timestamps are not monotonic: the largest (T0+9s) is inside the zstd batch at offset 8 (not
that batch's last offset) and again at offset 10; Kafka answers -3 with the first record carrying
the partition's largest timestamp (UnifiedLog.fetchOffsetByTimestamp: the first batch whose
maxTimestamp equals the segment's maxTimestampSoFar, then RecordBatch.offsetOfMaxTimestamp(), the
first record of that batch with that timestamp), so 8. A by-time lookup answers the first offset
whose timestamp is >= the target, which for T0+5.5s is offset 4 inside the gzip batch.

Per client: confluent-kafka Consumer.get_watermark_offsets / offsets_for_times (also with the
raw -2/-1) and AdminClient.list_offsets with OffsetSpec earliest/latest/max_timestamp/
for_timestamp; kafka-python KafkaConsumer.beginning_offsets/end_offsets/offsets_for_times and
KafkaAdminClient.list_partition_offsets (OffsetSpec EARLIEST/LATEST/MAX_TIMESTAMP or a
timestamp); aiokafka AIOKafkaConsumer.beginning_offsets/end_offsets/offsets_for_times (aiokafka
0.14 exposes no max-timestamp lookup and its admin client has no list-offsets call); kcat `-Q`
(by time, and the raw -2/-1/-3 it passes through) and `-o beginning|end|-1|s@ts|e@ts`.

A second topic has one 10-record batch per partition, compressed with gzip, snappy, lz4 and zstd;
each consumer client starts at offset 4 (inside the batch) and must return offset 4 first.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import pytest
from kafka.protocol.admin import CreateTopicsRequest, CreateTopicsResponse
from kafka.protocol.consumer import FetchRequest, FetchResponse
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record import MemoryRecords
from kafka.record.default_records import DefaultRecordBatchBuilder

import kafka_wire as kw
from interop_util import CK_COMMON, KP_COMMON, kcat, kp_consumer

T0 = (int(time.time()) - 3600) * 1000
NONE_, GZIP, SNAPPY, LZ4, ZSTD = 0, 1, 2, 3, 4

# (codec, timestamps relative to T0 in ms) per batch, in offset order.
LAYOUT = [
    (NONE_, [5000, 1000, 3000]),
    (GZIP, [2000, 6000, 4000, 2500]),
    (ZSTD, [8000, 9000, 7000]),
    (LZ4, [9000, 500]),
]
TIMESTAMPS = [T0 + d for _, ds in LAYOUT for d in ds]
N = len(TIMESTAMPS)                      # 12: latest offset
# Long, repetitive values: kafka-python's batch builder sends a batch uncompressed when
# compression would not make it smaller.
VALUES = [f"lo-{i:02d}-".encode() + b"x" * 200 for i in range(N)]
MAX_TS = T0 + 9000
MAX_TS_OFFSET = 8                        # first record with the largest timestamp

# target timestamp -> (offset, timestamp) of the first record with timestamp >= target, or None.
BY_TIME = {
    T0 - 1000: (0, T0 + 5000),
    T0 + 1000: (0, T0 + 5000),
    T0 + 5500: (4, T0 + 6000),           # inside the gzip batch
    T0 + 6500: (7, T0 + 8000),           # first record of the zstd batch
    T0 + 8500: (8, T0 + 9000),           # inside the zstd batch
    T0 + 9000: (8, T0 + 9000),
    T0 + 9001: None,                     # later than everything
}

CODECS = {"gzip": GZIP, "snappy": SNAPPY, "lz4": LZ4, "zstd": ZSTD}
MID_COUNT = 10
MID_START = 4


def mid_value(codec: str, i: int) -> bytes:
    return f"{codec}-record-{i:02d}-".encode() * 20


# --------------------------------------------------------------------------------------
# Raw setup with kafka-python's classes
# --------------------------------------------------------------------------------------


def _call(sock, req, version, resp_cls, corr=[0]):
    corr[0] += 1
    req.with_header(correlation_id=corr[0], client_id="list-offsets-setup")
    req.API_VERSION = version
    r = resp_cls.decode(kw.request(sock, bytes(req.encode(header=True)), timeout=15), version=version, header=True)
    assert r.header.correlation_id == corr[0]
    return r


def _batch(values, timestamps, codec):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i, (v, ts) in enumerate(zip(values, timestamps)):
        b.append(i, timestamp=ts, key=f"k{i}".encode(), value=v, headers=[])
    return bytes(b.build())


def _create(sock, name, partitions):
    T = CreateTopicsRequest.CreatableTopic
    r = _call(sock, CreateTopicsRequest(topics=[T(name=name, num_partitions=partitions, replication_factor=1,
                                                  assignments=[], configs=[])], timeout_ms=10000),
              5, CreateTopicsResponse)
    assert [t.error_code for t in r.topics] == [0], r


def _produce(sock, topic, partition, values, timestamps, codec) -> int:
    TD = ProduceRequest.TopicProduceData
    PD = TD.PartitionProduceData
    req = ProduceRequest(transactional_id=None, acks=-1, timeout_ms=10000, topic_data=[
        TD(name=topic, partition_data=[PD(index=partition, records=_batch(values, timestamps, codec))])])
    r = _call(sock, req, 8, ProduceResponse)  # v7+ for zstd
    (p,) = r.responses[0].partition_responses
    assert p.error_code == 0, p
    return p.base_offset


def _stored_batches(sock, topic, partition) -> list[tuple[int, int, int]]:
    """(base offset, record count, codec) of each stored batch, read back with Fetch v12."""
    FT = FetchRequest.FetchTopic
    FP = FT.FetchPartition
    req = FetchRequest(replica_id=-1, max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, isolation_level=0,
                       session_id=0, session_epoch=-1, forgotten_topics_data=[], rack_id="",
                       topics=[FT(topic=topic, partitions=[FP(partition=partition, current_leader_epoch=-1,
                                                              fetch_offset=0, last_fetched_epoch=-1,
                                                              log_start_offset=-1, partition_max_bytes=1 << 20)])])
    r = _call(sock, req, 12, FetchResponse)
    p = r.responses[0].partitions[0]
    assert p.error_code == 0
    mr = MemoryRecords(bytes(p.records))
    out = []
    while (b := mr.next_batch()) is not None:
        codec = b.compression_type  # read before iterating: decompression rewrites the buffer
        out.append((b.base_offset, len(list(b)), codec))
    return out


class Data:
    def __init__(self, broker):
        self.broker = broker
        self.bootstrap = broker.bootstrap
        suffix = uuid.uuid4().hex[:8]
        self.topic = f"lo-times-{suffix}"
        self.mid_topic = f"lo-mid-{suffix}"


@pytest.fixture(scope="module")
def data(module_broker) -> Data:
    d = Data(module_broker)
    s = kw.connect(module_broker.host, module_broker.port)
    try:
        _create(s, d.topic, 1)
        _create(s, d.mid_topic, len(CODECS))
        off = 0
        for codec, deltas in LAYOUT:
            n = len(deltas)
            assert _produce(s, d.topic, 0, VALUES[off:off + n], TIMESTAMPS[off:off + n], codec) == off
            off += n
        for p, (name, codec) in enumerate(CODECS.items()):
            vals = [mid_value(name, i) for i in range(MID_COUNT)]
            assert _produce(s, d.mid_topic, p, vals, [T0 + i for i in range(MID_COUNT)], codec) == 0
        # The layout the tests rely on is what the broker stores.
        bases, o = [], 0
        for codec, deltas in LAYOUT:
            bases.append((o, len(deltas), codec))
            o += len(deltas)
        assert _stored_batches(s, d.topic, 0) == bases
        for p, codec in enumerate(CODECS.values()):
            assert _stored_batches(s, d.mid_topic, p) == [(0, MID_COUNT, codec)]
    finally:
        s.close()
    return d


# --------------------------------------------------------------------------------------
# confluent-kafka
# --------------------------------------------------------------------------------------


def _ck_conf(bootstrap, **extra):
    cfg = dict(CK_COMMON)
    cfg.update({"bootstrap.servers": bootstrap})
    cfg.update(extra)
    return cfg


def test_confluent_consumer_offsets_for_times_and_watermarks(data):
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(_ck_conf(data.bootstrap, **{"group.id": "lo-ck", "enable.auto.commit": False}))
    try:
        tp = TopicPartition(data.topic, 0)
        assert c.get_watermark_offsets(tp, timeout=10, cached=False) == (0, N)
        for target, want in BY_TIME.items():
            (got,) = c.offsets_for_times([TopicPartition(data.topic, 0, target)], timeout=10)
            assert got.error is None, got
            assert got.offset == (want[0] if want else -1), f"target T0{target - T0:+d}: {got}"
        # Special timestamps passed straight to ListOffsets.
        for target, offset in [(-2, 0), (-1, N)]:
            (got,) = c.offsets_for_times([TopicPartition(data.topic, 0, target)], timeout=10)
            assert (got.error, got.offset) == (None, offset), got
    finally:
        c.close()


def test_confluent_admin_list_offsets(data):
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient, OffsetSpec

    a = AdminClient(_ck_conf(data.bootstrap))
    tp = TopicPartition(data.topic, 0)

    def one(spec):
        (f,) = a.list_offsets({tp: spec}, request_timeout=10).values()
        r = f.result(timeout=15)
        return r.offset, r.timestamp

    assert one(OffsetSpec.earliest()) == (0, -1)
    assert one(OffsetSpec.latest()) == (N, -1)
    assert one(OffsetSpec.max_timestamp()) == (MAX_TS_OFFSET, MAX_TS)
    for target, want in BY_TIME.items():
        assert one(OffsetSpec.for_timestamp(target)) == (want or (-1, -1)), f"target T0{target - T0:+d}"


# --------------------------------------------------------------------------------------
# kafka-python
# --------------------------------------------------------------------------------------


def test_kafka_python_consumer_offsets(data):
    from kafka import TopicPartition

    c = kp_consumer(data.bootstrap)
    try:
        tp = TopicPartition(data.topic, 0)
        assert c.beginning_offsets([tp]) == {tp: 0}
        assert c.end_offsets([tp]) == {tp: N}
        for target, want in BY_TIME.items():
            got = c.offsets_for_times({tp: target})[tp]
            if want is None:
                assert got is None, got
            else:
                assert (got.offset, got.timestamp) == want, f"target T0{target - T0:+d}: {got}"
    finally:
        c.close()


def test_kafka_python_admin_list_partition_offsets(data):
    from kafka import KafkaAdminClient, TopicPartition
    from kafka.protocol.consumer.offsets import OffsetSpec

    a = KafkaAdminClient(bootstrap_servers=data.bootstrap, **KP_COMMON)
    try:
        tp = TopicPartition(data.topic, 0)

        def one(spec):
            r = a.list_partition_offsets({tp: spec})[tp]
            return r.offset, r.timestamp

        assert one(OffsetSpec.EARLIEST) == (0, -1)
        assert one(OffsetSpec.LATEST) == (N, -1)
        assert one(OffsetSpec.MAX_TIMESTAMP) == (MAX_TS_OFFSET, MAX_TS)
        for target, want in BY_TIME.items():
            assert one(target) == (want or (-1, -1)), f"target T0{target - T0:+d}"
    finally:
        a.close()


# --------------------------------------------------------------------------------------
# aiokafka
# --------------------------------------------------------------------------------------


def test_aiokafka_consumer_offsets(data):
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    async def run():
        c = AIOKafkaConsumer(bootstrap_servers=data.bootstrap, request_timeout_ms=10000,
                             retry_backoff_ms=100)
        await c.start()
        try:
            tp = TopicPartition(data.topic, 0)
            assert await c.beginning_offsets([tp]) == {tp: 0}
            assert await c.end_offsets([tp]) == {tp: N}
            for target, want in BY_TIME.items():
                got = (await c.offsets_for_times({tp: target}))[tp]
                if want is None:
                    assert got is None, got
                else:
                    assert (got.offset, got.timestamp) == want, f"target T0{target - T0:+d}: {got}"
        finally:
            await c.stop()

    asyncio.run(asyncio.wait_for(run(), 60))


# --------------------------------------------------------------------------------------
# kcat
# --------------------------------------------------------------------------------------

_Q_LINE = re.compile(r"^(\S+) \[(\d+)\] offset (-?\d+)$")


def _kcat_query(bootstrap, topic, ts) -> int:
    out = kcat(bootstrap, "-Q", "-t", f"{topic}:0:{ts}").stdout.decode()
    lines = [m for m in map(_Q_LINE.match, out.strip().splitlines()) if m]
    assert [(m.group(1), m.group(2)) for m in lines] == [(topic, "0")], out
    return int(lines[0].group(3))


def test_kcat_query_offsets(data):
    for target, want in BY_TIME.items():
        assert _kcat_query(data.bootstrap, data.topic, target) == (want[0] if want else -1), \
            f"target T0{target - T0:+d}"
    # kcat passes the timestamp through: -2 earliest, -1 latest, and -3 (KIP-734) even though
    # librdkafka 2.0.2 sends it in a ListOffsets version below 7 (Kafka's broker does not check
    # the version for -3 either: UnifiedLog.fetchOffsetByTimestamp handles MAX_TIMESTAMP).
    assert _kcat_query(data.bootstrap, data.topic, -2) == 0
    assert _kcat_query(data.bootstrap, data.topic, -1) == N
    assert _kcat_query(data.bootstrap, data.topic, -3) == MAX_TS_OFFSET


def _kcat_consume(bootstrap, topic, partition, *args) -> list[tuple[int, int, bytes]]:
    out = kcat(bootstrap, "-C", "-t", topic, "-p", str(partition), "-e", "-f", "%o %T %s\n", *args).stdout
    rows = []
    for line in out.decode().splitlines():
        o, ts, v = line.split(" ", 2)
        rows.append((int(o), int(ts), v.encode()))
    return rows


def test_kcat_offset_beginning_end_and_timestamps(data):
    all_rows = list(zip(range(N), TIMESTAMPS, VALUES))
    b = data.bootstrap
    assert _kcat_consume(b, data.topic, 0, "-o", "beginning", "-c", "1") == all_rows[:1]
    assert _kcat_consume(b, data.topic, 0, "-o", "beginning") == all_rows
    assert _kcat_consume(b, data.topic, 0, "-o", "-1") == all_rows[-1:]       # relative to the end
    assert _kcat_consume(b, data.topic, 0, "-o", "end") == []
    # s@: start at offsets_for_times(ts); e@: stop before offsets_for_times(ts).
    assert _kcat_consume(b, data.topic, 0, "-o", f"s@{T0 + 5500}") == all_rows[4:]
    assert _kcat_consume(b, data.topic, 0, "-o", f"s@{T0 + 1000}", "-o", f"e@{T0 + 6500}") == all_rows[0:7]
    assert _kcat_consume(b, data.topic, 0, "-o", f"s@{T0 + 8500}", "-o", f"e@{T0 + 9000}") == []


# --------------------------------------------------------------------------------------
# Fetch from an offset inside a compressed batch
# --------------------------------------------------------------------------------------


def _consume_confluent(d: Data, partition: int, start: int, count: int):
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(_ck_conf(d.bootstrap, **{"group.id": "lo-mid-ck", "enable.auto.commit": False,
                                         "fetch.wait.max.ms": 100}))
    out = []
    try:
        c.assign([TopicPartition(d.mid_topic, partition, start)])
        deadline = time.monotonic() + 20
        while len(out) < count and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            out.append((m.offset(), m.value()))
    finally:
        c.close()
    return out


def _consume_kafka_python(d: Data, partition: int, start: int, count: int):
    from kafka import TopicPartition

    c = kp_consumer(d.bootstrap)
    out = []
    try:
        tp = TopicPartition(d.mid_topic, partition)
        c.assign([tp])
        c.seek(tp, start)
        deadline = time.monotonic() + 20
        while len(out) < count and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                out += [(r.offset, r.value) for r in recs]
    finally:
        c.close()
    return out


def _consume_aiokafka(d: Data, partition: int, start: int, count: int):
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    async def run():
        c = AIOKafkaConsumer(bootstrap_servers=d.bootstrap, enable_auto_commit=False,
                             request_timeout_ms=10000, fetch_max_wait_ms=100)
        await c.start()
        out = []
        try:
            tp = TopicPartition(d.mid_topic, partition)
            c.assign([tp])
            c.seek(tp, start)
            deadline = time.monotonic() + 20
            while len(out) < count and time.monotonic() < deadline:
                for recs in (await c.getmany(timeout_ms=500)).values():
                    out += [(r.offset, r.value) for r in recs]
        finally:
            await c.stop()
        return out

    return asyncio.run(asyncio.wait_for(run(), 60))


def _consume_kcat(d: Data, partition: int, start: int, count: int):
    rows = _kcat_consume(d.bootstrap, d.mid_topic, partition, "-o", str(start), "-c", str(count))
    return [(o, v) for o, _, v in rows]


CONSUMERS = {
    "confluent": _consume_confluent,
    "kafka-python": _consume_kafka_python,
    "aiokafka": _consume_aiokafka,
    "kcat": _consume_kcat,
}


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("client", list(CONSUMERS))
def test_fetch_inside_compressed_batch(data, client, codec):
    partition = list(CODECS).index(codec)
    want = [(i, mid_value(codec, i)) for i in range(MID_START, MID_COUNT)]
    got = CONSUMERS[client](data, partition, MID_START, len(want))
    assert got[:1] == want[:1], f"{client}/{codec}: first record returned is {got[:1]}"
    assert got == want
