"""A broker restart in the middle of a 100,000-record produce and consume through RunnelClient
(`runnel produce` and `runnel consume`), after a graceful stop and after kill -9: nothing is lost, nothing is duplicated (idempotent
producer), and the consumer resumes where it was."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from harness import runnel_bin
from interop_util import kcat
from runnel_cli import FAST, create_topic

RECORDS = 100_000


@pytest.mark.parametrize("how", ["graceful", "kill9"])
def test_restart_during_produce_and_consume(broker_factory, topic, tmp_path: Path, how):
    broker = broker_factory()
    bootstrap = broker.bootstrap
    create_topic(bootstrap, topic, 3)
    values = [f"v{i:06d}" for i in range(RECORDS)]
    source = tmp_path / "values.txt"
    source.write_text("".join(v + "\n" for v in values))

    consumed_path = tmp_path / "consumed.txt"
    consumer = subprocess.Popen(
        [runnel_bin(), "consume", topic, "--from-beginning", "--max-messages", str(RECORDS),
         "--format", "%p %o %s\\n", "--bootstrap-server", bootstrap, *FAST],
        stdout=consumed_path.open("wb"), stderr=(tmp_path / "consume.err").open("wb"))
    producer = None
    try:
        producer = subprocess.Popen(
            [runnel_bin(), "produce", topic, "--file", str(source), "--bootstrap-server", bootstrap, *FAST,
             "-X", "delivery.timeout.ms=120000", "-X", "batch.size=16384"],
            stdout=subprocess.PIPE, stderr=(tmp_path / "produce.err").open("wb"))

        # Restart once the consumer has seen some records and the producer is still going.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(consumed_path.read_bytes().splitlines()) < 5_000:
            time.sleep(0.1)
        assert producer.poll() is None, "the producer finished before the restart; the test proves nothing"
        consumed_before = len(consumed_path.read_bytes().splitlines())
        if how == "graceful":
            broker.restart()
        else:
            broker.kill9()
            broker.start()

        # delivery.timeout.ms is 120 s: a producer still running after that is stuck.
        assert producer.wait(150) == 0, (tmp_path / "produce.err").read_text()[-2000:]
        assert consumer.wait(150) == 0, (tmp_path / "consume.err").read_text()[-2000:]
        assert consumed_before < RECORDS
    finally:
        # A failed assertion must not leave the clients running (and holding the broker's port).
        for process in (producer, consumer):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)

    # The consumer saw every value exactly once, in offset order per partition.
    lines = consumed_path.read_text().splitlines()
    got = [line.split(" ") for line in lines]
    assert sorted(v for _, _, v in got) == values
    for partition in ("0", "1", "2"):
        offsets = [int(o) for p, o, _ in got if p == partition]
        assert offsets == list(range(len(offsets)))

    # The log itself holds every value exactly once.
    out = kcat(bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%s\n", timeout=120).stdout.decode()
    assert sorted(out.splitlines()) == values


def test_lost_acknowledgements_do_not_duplicate(broker_factory, topic):
    """A proxy swallows the responses to three Produce requests (closing the connection): the
    Swift idempotent producer retries those batches with their sequence numbers and every record
    is stored once, in order."""
    from harness import free_port
    from test_idempotence import ResponseDroppingProxy

    port = free_port()
    proxy = ResponseDroppingProxy(port, drops=3)
    try:
        broker = broker_factory(port=port, advertised_port=proxy.port)
        create_topic(broker.bootstrap, topic, 1)
        values = [f"r{i:05d}" for i in range(20_000)]
        tmp = Path(broker.workdir) / "values.txt"
        tmp.write_text("".join(v + "\n" for v in values))
        cp = subprocess.run([runnel_bin(), "produce", topic, "--file", str(tmp), "--bootstrap-server", broker.bootstrap,
                             *FAST, "-X", "batch.size=4096", "--linger-ms", "1",
                             # The proxy keeps the connection half open: a lost response is noticed
                             # by the request timeout, as in the Java client.
                             "-X", "request.timeout.ms=2000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        assert cp.returncode == 0, cp.stderr.decode()[-2000:]
        assert proxy.dropped == 3, f"only {proxy.dropped} responses were dropped"
        out = kcat(broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%s\n").stdout.decode()
        assert out.splitlines() == values
    finally:
        proxy.close()


def test_epoch_bump_after_delivery_timeout(broker_factory, topic, runnel_path):
    """While a proxy swallows Produce responses, batches exceed delivery.timeout.ms and fail; their
    sequence numbers leave a gap, so the idempotent producer bumps its epoch (KIP-360) and the
    records sent afterwards are stored once, in order, under the new epoch."""
    import re

    from harness import free_port
    from test_idempotence import ResponseDroppingProxy

    port = free_port()
    proxy = ResponseDroppingProxy(port, drops=4)
    producer = None
    try:
        broker = broker_factory(port=port, advertised_port=proxy.port)
        create_topic(broker.bootstrap, topic, 1)
        producer = subprocess.Popen(
            [runnel_bin(), "produce", topic, "--partition", "0", "--linger-ms", "1", "--bootstrap-server",
             broker.bootstrap, "-X", "request.timeout.ms=400", "-X", "delivery.timeout.ms=700",
             "-X", "retry.backoff.ms=50", "-X", "reconnect.backoff.max.ms=100"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Early lines meet the dropped responses; late ones come after the proxy stopped dropping.
        early = [f"early{i}" for i in range(20)]
        late = [f"late{i}" for i in range(200)]
        for line in early:
            producer.stdin.write((line + "\n").encode())
            producer.stdin.flush()
            time.sleep(0.15)
        deadline = time.monotonic() + 20
        while proxy.dropped < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # let the failing batches pass their delivery timeout
        producer.stdin.write("".join(v + "\n" for v in late).encode())
        producer.stdin.close()
        assert producer.wait(60) == 1
        stderr = producer.stderr.read().decode()
        assert "delivery.timeout.ms" in stderr, stderr[-2000:]

        out = kcat(broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%s\n").stdout.decode()
        stored = out.splitlines()
        assert stored[-len(late):] == late and stored.count("late0") == 1
        dump = "".join(subprocess.run([runnel_path, "log", "dump", str(segment)], stdout=subprocess.PIPE, text=True,
                                      timeout=60).stdout
                       for segment in sorted((broker.log_dir / f"{topic}-0").glob("*.log")))
        epochs = [int(e) for e in re.findall(r"producerEpoch: (-?\d+)", dump)]
        assert epochs and epochs[-1] >= 1, epochs
        assert len(set(re.findall(r"producerId: (\d+)", dump))) == 1
    finally:
        if producer is not None and producer.poll() is None:
            producer.kill()
            producer.wait(10)
        proxy.close()
