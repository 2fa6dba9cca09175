"""The Prometheus endpoint (`runnel.metrics.listener`): the exposition parses with the official
Prometheus Python parser, and the counters move by exactly what real clients produced and
consumed; the state gauges (offsets, log sizes, group lag) match the broker's answers."""
from __future__ import annotations

import socket
import subprocess
import urllib.error
import urllib.request

import pytest

from interop_util import kp_producer
from storage_util import ck_consumer, create_topic, partition_dir


def scrape(broker) -> dict:
    """{(name, frozenset(labels)): value} of every sample, parsed by prometheus_client."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(broker.metrics_url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset((k, str(v)) for k, v in labels.items())), 0.0)


def test_counters_and_gauges_follow_real_clients(broker, topic):
    from confluent_kafka import TopicPartition

    create_topic(broker.bootstrap, topic)
    before = scrape(broker)
    assert value(before, "runnel_topic_records_in_total", topic=topic) == 0

    n = 57
    p = kp_producer(broker.bootstrap, linger_ms=5)
    for i in range(n):
        p.send(topic, key=b"k%d" % i, value=b"v" * (i + 1), partition=0)
    p.flush(30)
    p.close()
    on_disk = sum(f.stat().st_size for f in partition_dir(broker, topic, 0).glob("*.log"))

    c = ck_consumer(broker.bootstrap, **{"group.id": "metrics-group"})
    got = []
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        while len(got) < n:
            m = c.poll(5)
            assert m is not None, f"consumed {len(got)} of {n}"
            if not m.error():
                got.append(m)
        c.commit(offsets=[TopicPartition(topic, 0, 20)], asynchronous=False)
    finally:
        c.close()

    after = scrape(broker)
    assert value(after, "runnel_topic_records_in_total", topic=topic) == n
    assert value(after, "runnel_topic_bytes_in_total", topic=topic) == on_disk
    assert value(after, "runnel_topic_records_out_total", topic=topic) == n
    assert value(after, "runnel_topic_bytes_out_total", topic=topic) == on_disk
    for name, expected in [("runnel_partition_log_end_offset", n), ("runnel_partition_high_watermark", n),
                           ("runnel_partition_log_start_offset", 0), ("runnel_partition_log_size_bytes", on_disk),
                           ("runnel_partition_log_segments", 1)]:
        assert value(after, name, topic=topic, partition=0) == expected, name
    assert value(after, "runnel_consumer_group_lag", group="metrics-group", topic=topic, partition=0) == n - 20
    assert value(after, "runnel_requests_total", api="Produce") >= 1
    assert value(after, "runnel_requests_total", api="Fetch") >= 1
    assert value(after, "runnel_request_duration_seconds_count", api="Produce") == value(after, "runnel_requests_total", api="Produce")
    assert value(after, "runnel_connections_accepted_total") >= 3
    assert value(after, "runnel_under_replicated_partitions") == 0
    assert value(after, "runnel_offline_partitions") == 0
    assert value(after, "runnel_controller_active") == 1
    assert value(after, "runnel_topics") >= 1


def test_other_paths_get_404(broker):
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(broker.metrics_url.replace("/metrics", "/nope"), timeout=10)
    assert failure.value.code == 404


def test_a_taken_metrics_port_stops_start_up_with_the_fix(broker_factory, runnel_path, tmp_path):
    """A second broker whose metrics port is taken exits non-zero and names the key to change."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            kafka_port = free.getsockname()[1]
        cp = subprocess.run([runnel_path, "broker", "--override", f"listeners=PLAINTEXT://127.0.0.1:{kafka_port}",
                             "--override", f"log.dirs={tmp_path}", "--override", "offsets.topic.replication.factor=1",
                             "--override", f"runnel.metrics.listener=http://127.0.0.1:{port}/metrics"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, text=True)
    assert cp.returncode != 0
    assert "runnel.metrics.listener" in cp.stderr and "cannot serve metrics" in cp.stderr, cp.stderr[-2000:]
