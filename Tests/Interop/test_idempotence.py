"""Idempotent producers (KIP-98): InitProducerId hands out unique producer ids, and a batch a
client retries because its acknowledgement was lost is stored once.

The retry test puts a proxy between the client and the broker that swallows the responses to the
first produce requests and cuts the connection, as a network failure after the append would; the
idempotent client resends the same batches with the same sequence numbers, and the broker answers
with the original offsets instead of appending them again.
"""
from __future__ import annotations

import re
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness import free_port
from interop_util import kcat, kp_consumer, kp_producer


class ResponseDroppingProxy:
    """Forwards 127.0.0.1:<port> to the broker; the first `drops` Produce responses are not
    delivered: the proxy closes that connection instead."""

    def __init__(self, target_port: int, drops: int) -> None:
        self.target_port = target_port
        self.drops = drops
        self.dropped = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.closed = True
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            broker = socket.create_connection(("127.0.0.1", self.target_port))
            produce_ids: set[int] = set()
            threading.Thread(target=self._requests, args=(client, broker, produce_ids), daemon=True).start()
            threading.Thread(target=self._responses, args=(broker, client, produce_ids), daemon=True).start()

    @staticmethod
    def _frames(sock: socket.socket):
        buf = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 4:
                (size,) = struct.unpack(">i", buf[:4])
                if len(buf) < 4 + size:
                    break
                yield buf[:4 + size]
                buf = buf[4 + size:]

    def _requests(self, client, broker, produce_ids) -> None:
        try:
            for frame in self._frames(client):
                api_key, _version, correlation = struct.unpack(">hhi", frame[4:12])
                if api_key == 0:
                    produce_ids.add(correlation)
                broker.sendall(frame)
        except OSError:
            pass
        finally:
            for s in (client, broker):
                try:
                    s.close()
                except OSError:
                    pass

    def _responses(self, broker, client, produce_ids) -> None:
        try:
            for frame in self._frames(broker):
                (correlation,) = struct.unpack(">i", frame[4:8])
                with self.lock:
                    drop = correlation in produce_ids and self.dropped < self.drops
                    if drop:
                        self.dropped += 1
                if drop:
                    raise OSError("dropping a produce response")
                client.sendall(frame)
        except OSError:
            pass
        finally:
            for s in (client, broker):
                try:
                    s.close()
                except OSError:
                    pass


def _producer_ids(runnel_path: str, log_dir: Path, topic: str) -> list[int]:
    """Producer ids of the stored batches, from `runnel log dump`."""
    ids = []
    for segment in sorted((log_dir / f"{topic}-0").glob("*.log")):
        out = subprocess.run([runnel_path, "log", "dump", str(segment)], stdout=subprocess.PIPE, text=True, timeout=60).stdout
        ids += [int(m) for m in re.findall(r"producerId: (-?\d+)", out)]
    return ids


def _consume_values(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    consumer = kp_consumer(bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000)
    consumer.subscribe([topic])
    values = []
    deadline = time.monotonic() + 30
    while len(values) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            values += [r.value for r in records]
    # Anything beyond `expected` would be a duplicate: give it a moment to show up.
    for records in consumer.poll(timeout_ms=1000).values():
        values += [r.value for r in records]
    consumer.close()
    return values


def test_kafka_python_defaults_are_idempotent(broker, topic, runnel_path):
    """kafka-python 3 is idempotent with acks=all by default (InitProducerId, sequence numbers)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    values = [f"m{i}".encode() for i in range(200)]
    for v in values:
        producer.send(topic, v, partition=0)
    producer.flush(30)
    producer.close()
    assert _consume_values(broker.bootstrap, topic, len(values)) == values
    ids = _producer_ids(runnel_path, broker.log_dir, topic)
    assert ids and all(i >= 0 for i in ids), ids


def test_lost_acknowledgements_do_not_duplicate(broker_factory, topic, runnel_path):
    """confluent-kafka (librdkafka) with enable.idempotence retries batches whose responses the
    proxy swallowed; each record is stored once, in order."""
    from confluent_kafka import Producer

    port = free_port()
    proxy = ResponseDroppingProxy(port, drops=3)
    try:
        broker = broker_factory(port=port, advertised_port=proxy.port)
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
        producer = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True,
                             "linger.ms": 20, "retry.backoff.ms": 100, "socket.timeout.ms": 5000})
        values = [f"r{i}".encode() for i in range(300)]
        for v in values:
            producer.produce(topic, v, partition=0)
            producer.poll(0)
            if int(v[1:]) % 50 == 0:
                time.sleep(0.05)  # several produce requests, so several get dropped
        assert producer.flush(60) == 0
        assert proxy.dropped == 3, f"only {proxy.dropped} responses were dropped"
        got = _consume_values(broker.bootstrap, topic, len(values))
        assert got == values
    finally:
        proxy.close()


def test_producer_ids_are_unique_across_restarts(broker, topic):
    """Each idempotent producer gets a fresh id, and a restart never hands one out again."""
    from kafka import KafkaProducer

    def new_producer_id() -> int:
        p = KafkaProducer(bootstrap_servers=broker.bootstrap)
        p.send(topic, b"x", partition=0).get(timeout=30)
        pid = p._transaction_manager.producer_id_and_epoch.producer_id  # the id InitProducerId gave
        p.close()
        return pid

    first, second = new_producer_id(), new_producer_id()
    assert second != first
    broker.restart()
    third = new_producer_id()
    assert third not in (first, second) and third > max(first, second)


def test_kcat_idempotent_producer(broker, topic, runnel_path):
    """librdkafka 2.0.2 enables idempotence only when InitProducerId v0 is advertised."""
    out = kcat(broker.bootstrap, "-P", "-t", topic, "-p", "0", "-X", "enable.idempotence=true",
               "-X", "debug=feature", input=b"a\nb\nc\n")
    assert out.returncode == 0, out.stderr
    assert re.search(rb"IdempotentProducer", out.stderr), out.stderr[-2000:]
    ids = _producer_ids(runnel_path, broker.log_dir, topic)
    assert ids and all(i >= 0 for i in ids), ids


def test_transactional_producers_fail_fast(broker):
    """Transactions are not supported: confluent-kafka's init_transactions() fails at once with a
    clear error instead of retrying until its timeout."""
    from confluent_kafka import KafkaException, Producer

    producer = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "tx-1"})
    started = time.monotonic()
    with pytest.raises(KafkaException) as failure:
        producer.init_transactions(30)
    assert time.monotonic() - started < 10
    assert "authoriz" in str(failure.value).lower(), str(failure.value)


def test_kafka_python_transactional_producer_fails_fast(broker):
    from kafka import KafkaProducer
    from kafka.errors import TransactionalIdAuthorizationFailedError

    started = time.monotonic()
    with pytest.raises(TransactionalIdAuthorizationFailedError):
        p = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="tx-2", max_block_ms=20000)
        try:
            p.init_transactions()
        finally:
            p.close(timeout=5)
    assert time.monotonic() - started < 15


def test_aiokafka_idempotent_producer(broker, topic, runnel_path):
    """aiokafka's enable_idempotence uses InitProducerId v0 and sequence numbers."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=True)
        await producer.start()
        try:
            for i in range(50):
                await producer.send_and_wait(topic, f"a{i}".encode(), partition=0)
        finally:
            await producer.stop()

    asyncio.run(produce())
    assert _consume_values(broker.bootstrap, topic, 50) == [f"a{i}".encode() for i in range(50)]
    ids = _producer_ids(runnel_path, broker.log_dir, topic)
    assert len(ids) == 50 and all(i >= 0 for i in ids) and len(set(ids)) == 1, ids
