"""Leader elections driven by clients (issue 8): ElectLeaders from confluent-kafka's AdminClient
(preferred and unclean), and `runnel topic describe --under-replicated-partitions` while a broker is
down. Runs a three-node `runnel cluster up` with lowered timeouts and automatic preferred-leader
rebalancing off, so only the test moves leadership back."""

from __future__ import annotations

import subprocess
import time

from harness import runnel_bin
from test_cluster import Cluster, _all_agree, _until


def _partition(admin, topic: str, p: int):
    return admin.list_topics(topic, timeout=5).topics[topic].partitions[p]


def _describe(bootstrap: str, *args: str) -> str:
    return subprocess.run([runnel_bin(), "topic", "describe", *args, "--bootstrap-server", bootstrap],
                          capture_output=True, text=True, timeout=30, check=True).stdout


def test_preferred_and_unclean_elections(tmp_path):
    from confluent_kafka import ElectionType, KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    cluster = Cluster(tmp_path / "cluster", extra=["auto.leader.rebalance.enable=false", "replica.lag.time.max.ms=2000",
                                                  "replica.fetch.wait.max.ms=200", "replica.fetch.backoff.ms=100"]).start()
    try:
        _until(lambda: _all_agree(cluster), 20, "a formed cluster")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap(2)})
        admin.create_topics([NewTopic("elect", 1, replica_assignment=[[1, 2, 3]])])["elect"].result(15)
        _until(lambda: _partition(admin, "elect", 0).leader == 1, 10, "broker 1 leading elect-0")
        # Already led by its preferred replica: ELECTION_NOT_NEEDED (confluent-kafka raises it).
        result = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition("elect", 0)]).result(15)
        err = result[TopicPartition("elect", 0)]
        assert err is not None and err.name() == "ELECTION_NOT_NEEDED", err

        cluster.kill9(1)
        _until(lambda: _partition(admin, "elect", 0).leader in (2, 3), 15, "a new leader after broker 1 died")
        assert 1 not in _partition(admin, "elect", 0).isrs
        out = _until(lambda: (o := _describe(cluster.bootstrap(2), "--under-replicated-partitions")) and "elect" in o and o,
                     10, "elect-0 listed as under-replicated")
        assert "Topic: elect\tPartition: 0" in out and "Offline: 1" in out, out
        # Broker 1 is down: the preferred replica cannot lead.
        result = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition("elect", 0)]).result(15)
        assert result[TopicPartition("elect", 0)].name() == "PREFERRED_LEADER_NOT_AVAILABLE"
        # A live leader needs no unclean election.
        result = admin.elect_leaders(ElectionType.UNCLEAN, [TopicPartition("elect", 0)]).result(15)
        assert result[TopicPartition("elect", 0)].name() == "ELECTION_NOT_NEEDED"

        cluster.restart(1)
        _until(lambda: sorted(_partition(admin, "elect", 0).isrs) == [1, 2, 3], 30, "broker 1 back in the ISR")
        assert _describe(cluster.bootstrap(2), "--under-replicated-partitions").strip() == ""
        # Every replica caught up: DescribeLogDirs on each broker reports no lag.
        _until(lambda: "Lag: 1=0,2=0,3=0" in _describe(cluster.bootstrap(2), "elect", "--replica-lag"), 10, "no replica lag")
        # The metrics tell the story: a broker took over the partition (a leader election) and its
        # leader added broker 1 back to the ISR (an expansion); the leader reports each follower's lag.
        scrapes = {n: cluster.metrics(n) for n in (2, 3)}
        assert sum(s.get(("runnel_leader_elections_total", ()), 0) for s in scrapes.values()) >= 1
        assert sum(s.get(("runnel_isr_expands_total", ()), 0) for s in scrapes.values()) >= 1
        lags = [v for s in scrapes.values() for (name, labels), v in s.items()
                if name == "runnel_partition_replica_lag_records" and ("topic", "elect") in labels]
        assert len(lags) == 2 and all(v == 0 for v in lags), lags
        result = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition("elect", 0)]).result(15)
        assert result[TopicPartition("elect", 0)] is None
        _until(lambda: _partition(admin, "elect", 0).leader == 1, 10, "leadership back on broker 1")
        # Unknown partitions are reported per partition.
        result = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition("elect", 7)]).result(15)
        assert result[TopicPartition("elect", 7)].name() == "UNKNOWN_TOPIC_OR_PART"  # librdkafka's name for error 3
    except KafkaException as e:  # pragma: no cover - shows the client's error in the failure
        raise AssertionError(f"admin call failed: {e}") from e
    finally:
        cluster.stop()
