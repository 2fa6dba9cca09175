"""Record sets sent from segment files (`sendfile`) on a plaintext listener, read by every client.

A Fetch answer's record set of 16 KiB or more whose pages are in the page cache goes from the
segment file to the socket with sendfile (ResponsePartWriter); smaller ones are read into the
response. confluent-kafka produces 3,000 records of 1 KiB with linger.ms=50 and a 1 MB
batch.size, so the batches are 64 KiB and more (the broker writes those as a stamped 16-byte
head plus the request's bytes, Log.stamp), then 30 records one batch each (small, stamped in a
copy). kcat, confluent-kafka, kafka-python and aiokafka then read the partition from the start:
each gets every record, byte-equal, at its offset, and the broker's
runnel_fetch_sendfile_bytes_total grows during each client's read, so each of them was served
from files. The on-disk batches are checked too: the large ones really are 64 KiB or more.
"""

from __future__ import annotations

import asyncio
import os
import time
import urllib.request

from interop_util import kcat, kp_consume
from storage_util import ck_consumer, ck_produce, ck_producer, create_topic, disk_batches, partition_dir

BIG_RECORDS = 3000
SMALL_RECORDS = 30
VALUE_BYTES = 1024


def sendfile_bytes(broker) -> float:
    text = urllib.request.urlopen(broker.metrics_url, timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("runnel_fetch_sendfile_bytes_total"):
            return float(line.split()[-1])
    return 0.0


def values() -> list[bytes]:
    # Hex of random bytes: printable for kcat's output, incompressible enough to show truncation.
    big = [os.urandom(VALUE_BYTES // 2).hex().encode() for _ in range(BIG_RECORDS)]
    small = [f"small-{i}-".encode() + os.urandom(40).hex().encode() for i in range(SMALL_RECORDS)]
    return big + small


def produce(bootstrap: str, topic: str, vals: list[bytes]) -> None:
    p = ck_producer(bootstrap, **{"linger.ms": 50, "batch.size": 1_000_000, "batch.num.messages": 100_000,
                                  "acks": 1, "compression.codec": "none"})
    ck_produce(p, topic, [{"value": v} for v in vals[:BIG_RECORDS]])
    # One record per batch.
    ck_produce(p, topic, [{"value": v} for v in vals[BIG_RECORDS:]], flush_each=1)


def read_with_kcat(bootstrap: str, topic: str, n: int) -> list[tuple[int, bytes]]:
    cp = kcat(bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-c", str(n), "-e",
              "-f", "%o %s\\n", timeout=90)
    out = []
    for line in cp.stdout.splitlines():
        offset, value = line.split(b" ", 1)
        out.append((int(offset), value))
    return out


def read_with_confluent(bootstrap: str, topic: str, n: int) -> list[tuple[int, bytes]]:
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    c = ck_consumer(bootstrap, **{"fetch.wait.max.ms": 200})
    out = []
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 60
        while len(out) < n and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                out.append((m.offset(), m.value()))
    finally:
        c.close()
    return out


def read_with_kafka_python(bootstrap: str, topic: str, n: int) -> list[tuple[int, bytes]]:
    return [(r.offset, r.value) for r in kp_consume(bootstrap, topic, 0, n, timeout_s=60)]


def read_with_aiokafka(bootstrap: str, topic: str, n: int) -> list[tuple[int, bytes]]:
    from test_aiokafka import _consume

    return [(r.offset, r.value) for r in asyncio.run(_consume(bootstrap, topic, n, timeout_s=60))]


def test_every_client_reads_record_sets_sent_from_files(broker, topic):
    create_topic(broker.bootstrap, topic)
    vals = values()
    produce(broker.bootstrap, topic, vals)
    expected = list(enumerate(vals))

    sizes = [12 + b["batch_length"] for b in disk_batches(partition_dir(broker, topic))]
    assert sum(1 for s in sizes if s >= 64 * 1024) >= 2, f"no large batches on disk: {sizes[:20]}"
    assert sum(1 for s in sizes if s < 1024) >= SMALL_RECORDS, "the single-record batches are missing"

    for name, read in [("kcat", read_with_kcat), ("confluent-kafka", read_with_confluent),
                       ("kafka-python", read_with_kafka_python), ("aiokafka", read_with_aiokafka)]:
        before = sendfile_bytes(broker)
        got = read(broker.bootstrap, topic, len(vals))
        assert len(got) == len(vals), f"{name} read {len(got)} of {len(vals)} records"
        mismatched = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
        assert not mismatched, f"{name}: {len(mismatched)} records differ, first at {mismatched[0]}"
        sent = sendfile_bytes(broker) - before
        assert sent >= 64 * 1024, f"{name}: only {sent} bytes were sent from segment files"
