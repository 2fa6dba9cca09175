"""Clusters (issue 7): `runnel cluster up --brokers 3` starts three combined broker+controller
nodes; the KRaft-style metadata quorum registers them, places partitions across them, survives the
loss of the active controller, fences a dead broker and brings its partitions back with their data.
`cluster up --controllers 3 --brokers 3` runs the quorum on three controller-only nodes instead
(test_separate_controllers_and_brokers).

Every test lowers the quorum and session timeouts so failover takes about a second, not Kafka's
default several seconds. Set RUNNEL_CLUSTER_KILLS to change how many controller kills the
failover measurement makes (default 10); the times are printed (pytest -s) and written to
`failover-times.txt` in the cluster directory.
"""

from __future__ import annotations

import os
import re
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

from harness import _die_with_parent, free_port_run, port_accepts, runnel_bin
from interop_util import kcat
import kafka_wire as kw

TIMEOUT_OVERRIDES = [
    "controller.quorum.election.timeout.ms=300",
    "controller.quorum.fetch.timeout.ms=600",
    "controller.quorum.request.timeout.ms=1000",
    "broker.heartbeat.interval.ms=200",
    "broker.session.timeout.ms=1500",
    "runnel.log.level=info",
]


def _free_base_port(count: int) -> int:
    """A port p with p...p+count-1 all free on 127.0.0.1, outside the ephemeral range, so a
    killed node gets its ports back on restart (harness.free_port_run says why)."""
    return free_port_run(count)


class Cluster:
    """`runnel cluster up` in the background, with per-node kill -9 and restart.

    With `controllers=0` (default) nodes 1..brokers are combined broker+controller nodes; with
    `controllers=M` nodes 1..M are controller-only nodes (the voters) and M+1..M+brokers are
    broker-only nodes. Node ids are `cluster up`'s: node n uses ports base+2(n-1) (client) and
    the next one (controller), and metrics port metrics_base+n-1. `broker_ids` and
    `controller_ids` list the nodes of each role (the same list in combined mode)."""

    def __init__(self, workdir: Path, brokers: int = 3, extra: list[str] | None = None, controllers: int = 0) -> None:
        self.dir = workdir
        self.brokers = brokers
        self.controllers = controllers
        self.nodes = controllers + brokers
        self.base = _free_base_port(2 * self.nodes)
        self.metrics_base = _free_base_port(self.nodes)
        self.extra = TIMEOUT_OVERRIDES + (extra or [])
        self.up: subprocess.Popen | None = None
        self.pids: dict[int, int] = {}
        self.restarted: dict[int, subprocess.Popen] = {}

    @property
    def broker_ids(self) -> list[int]:
        return list(range(self.controllers + 1, self.nodes + 1))

    @property
    def controller_ids(self) -> list[int]:
        return list(range(1, self.controllers + 1)) if self.controllers else self.broker_ids

    def is_controller_only(self, node: int) -> bool:
        return node <= self.controllers

    def port(self, node: int) -> int:
        """The client port of broker `node` (the controller port minus one for a controller-only node)."""
        return self.base + 2 * (node - 1)

    def controller_port(self, node: int) -> int:
        return self.port(node) + 1

    def bootstrap(self, node: int | None = None) -> str:
        nodes = [node] if node else self.broker_ids
        return ",".join(f"localhost:{self.port(n)}" for n in nodes)

    def start(self) -> "Cluster":
        args = [runnel_bin(), "cluster", "up", "--brokers", str(self.brokers), "--dir", str(self.dir),
                 "--base-port", str(self.base), "--metrics-base-port", str(self.metrics_base)]
        if self.controllers:
            args += ["--controllers", str(self.controllers)]
        for o in self.extra:
            args += ["--override", o]
        self.up = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 60
        assert self.up.stdout is not None
        while time.monotonic() < deadline:
            line = self.up.stdout.readline()
            if not line:
                raise AssertionError(f"runnel cluster up exited with {self.up.wait()}")
            m = re.match(r"node (\d+): pid (\d+)", line)
            if m:
                self.pids[int(m.group(1))] = int(m.group(2))
            if line.startswith("bootstrap servers: "):
                assert line.strip().endswith(self.bootstrap())
                return self
        raise AssertionError("runnel cluster up did not print the bootstrap servers")

    def kill9(self, node: int) -> None:
        os.kill(self.pids[node], signal.SIGKILL)
        proc = self.restarted.pop(node, None)
        if proc:
            proc.wait(timeout=10)
        else:
            _wait_gone(self.pids[node])

    def restart(self, node: int) -> None:
        log = open(self.dir / f"node-{node}.log", "ab")
        proc = subprocess.Popen([runnel_bin(), "broker", "--config", str(self.dir / f"node-{node}.properties")],
                                stdout=log, stderr=log, preexec_fn=_die_with_parent)
        self.restarted[node] = proc
        self.pids[node] = proc.pid
        port = self.controller_port(node) if self.is_controller_only(node) else self.port(node)

        def listening():
            if proc.poll() is not None:
                raise _Exited(f"node {node} exited with {proc.returncode} before listening; its log ends:\n{self.log_tail(node)}")
            return port_accepts(port)
        try:
            _until(listening, 30, f"node {node} listening again")
        except AssertionError as e:
            raise AssertionError(f"{e}\nnode {node}'s log ends:\n{self.log_tail(node)}") from None

    def metrics(self, node: int) -> dict[tuple[str, tuple], float]:
        """One scrape of the node's /metrics, parsed by prometheus_client: (name, labels) → value."""
        import urllib.request
        from prometheus_client.parser import text_string_to_metric_families
        text = urllib.request.urlopen(f"http://localhost:{self.metrics_base + node - 1}/metrics", timeout=5).read().decode()
        out = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return out

    def log(self, node: int) -> str:
        return (self.dir / f"node-{node}.log").read_text(errors="replace")

    def log_tail(self, node: int, lines: int = 40) -> str:
        return "\n".join(self.log(node).splitlines()[-lines:])

    def stop(self) -> None:
        for proc in self.restarted.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        if self.up and self.up.poll() is None:
            self.up.send_signal(signal.SIGTERM)
            try:
                self.up.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.up.kill()
        for proc in self.restarted.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.restarted.clear()


def _wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # A zombie child of `cluster up` counts as gone once it no longer holds its port.
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split()[2] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still alive {timeout}s after SIGKILL")


class _Exited(AssertionError):
    """A waited-for process is gone: ``_until`` stops waiting at once."""


def _until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except _Exited:
            raise
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def metadata(bootstrap: str) -> dict:
    """kcat -L -J of one broker, as a dict."""
    import json
    out = kcat(bootstrap, "-L", "-J", "-m", "5").stdout
    return json.loads(out)


def leaders(md: dict, topic: str) -> dict[int, int]:
    t = next(t for t in md["topics"] if t["topic"] == topic)
    return {p["partition"]: p["leader"] for p in t["partitions"]}


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)], operation_timeout=10)[name].result(timeout=15)


def produce(bootstrap: str, topic: str, count: int, prefix: str = "v") -> None:
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "message.timeout.ms": 30000, "log_level": 0})
    errors = []
    for i in range(count):
        p.produce(topic, key=str(i).encode(), value=f"{prefix}{i}".encode(),
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert p.flush(30) == 0
    assert errors == []


def consume_partition(bootstrap: str, topic: str, partition: int) -> list[bytes]:
    out = kcat(bootstrap, "-C", "-t", topic, "-p", str(partition), "-o", "beginning", "-e", "-q", "-f", "%s\\n").stdout
    return [line for line in out.split(b"\n") if line] if isinstance(out, bytes) else [l for l in out.split("\n") if l]


def init_producer_id(port: int) -> int:
    """InitProducerId v0 (no transactional id), hand-encoded, to one broker."""
    body = kw.request_header(22, 0, 7) + struct.pack(">hi", -1, 60000)
    with kw.connect("127.0.0.1", port) as sock:
        resp = kw.request(sock, body, timeout=15)
    _, _, error, producer_id, _ = struct.unpack(">iihqh", resp[:20])
    assert error == 0, f"InitProducerId error {error}"
    return producer_id


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "cluster").start()
    yield c
    c.stop()


def _all_agree(c: Cluster, topic: str | None = None):
    views = [metadata(c.bootstrap(n)) for n in c.broker_ids]
    brokers = [sorted(b["id"] for b in v["brokers"]) for v in views]
    controllers = [v["controllerid"] for v in views]
    if any(b != c.broker_ids for b in brokers) or len(set(controllers)) != 1 or controllers[0] < 1:
        return None
    if topic:
        placements = [leaders(v, topic) for v in views]
        if any(p != placements[0] for p in placements):
            return None
        return controllers[0], placements[0]
    return controllers[0], None


def test_three_brokers_agree_and_spread_partitions(cluster):
    """kcat -L from each broker lists 3 brokers, the same controller and the same leaders; a
    topic with 6 partitions, created through broker 3 (forwarded to the active controller), puts
    two leaders on each broker; records produced through one broker and consumed through another
    are all there."""
    _until(lambda: _all_agree(cluster), 20, "three brokers and one controller in every broker's metadata")
    create_topic(cluster.bootstrap(3), "spread", 6)
    controller, placement = _until(lambda: _all_agree(cluster, "spread"), 10, "the same leaders from every broker")
    assert sorted(placement) == list(range(6))
    counts = {b: list(placement.values()).count(b) for b in (1, 2, 3)}
    assert counts == {1: 2, 2: 2, 3: 2}, placement
    assert controller in (1, 2, 3)
    produce(cluster.bootstrap(2), "spread", 600)
    total = sum(len(consume_partition(cluster.bootstrap(1), "spread", p)) for p in range(6))
    assert total == 600
    # Every node's quorum role shows in its log; the active controller says so.
    assert re.search(rf"leader={controller} role=leader", cluster.log(controller))
    # Metrics: one active controller, one epoch and leader everywhere, three unfenced brokers.
    scrapes = {n: cluster.metrics(n) for n in (1, 2, 3)}
    assert [scrapes[n][("runnel_controller_active", ())] for n in (1, 2, 3)].count(1) == 1
    assert scrapes[controller][("runnel_controller_active", ())] == 1
    assert len({scrapes[n][("runnel_quorum_epoch", ())] for n in (1, 2, 3)}) == 1
    assert {scrapes[n][("runnel_quorum_leader", ())] for n in (1, 2, 3)} == {controller}
    assert scrapes[controller][("runnel_quorum_role", (("role", "leader"),))] == 1
    assert all(scrapes[n][("runnel_cluster_brokers", (("state", "unfenced"),))] == 3 for n in (1, 2, 3))
    assert all(scrapes[n][("runnel_quorum_applied_offset", ())] > 0 for n in (1, 2, 3))

    # A second process taking node.id 2 as a broker-only node (its own ports and log.dirs) is
    # refused at start-up: it would pose as voter 2. (Two broker-only nodes sharing an id get
    # DUPLICATE_BROKER_REGISTRATION instead; SingleVoterQuorumTests covers that.)
    props = (cluster.dir / "node-2.properties").read_text()
    props = re.sub(r"process.roles=.*", "process.roles=broker", props)
    props = re.sub(r"\blisteners=.*", f"listeners=PLAINTEXT://localhost:{_free_base_port(1)}", props)
    props = re.sub(r"log.dirs=.*", f"log.dirs={cluster.dir}/impostor", props)
    (cluster.dir / "impostor.properties").write_text(props)
    impostor = subprocess.run([runnel_bin(), "broker", "--config", str(cluster.dir / "impostor.properties")],
                              capture_output=True, text=True, timeout=30)
    assert impostor.returncode == 2
    assert "must not have a voter's id" in impostor.stderr
    assert _all_agree(cluster, "spread") == (controller, placement)


def test_consumer_group_across_brokers(cluster):
    """A confluent-kafka group consumer finds its coordinator (the leader of the group's
    __consumer_offsets partition, on any broker), consumes and commits; the committed offsets are
    read back through another broker."""
    from confluent_kafka import Consumer, TopicPartition
    _until(lambda: _all_agree(cluster), 20, "a formed cluster")
    create_topic(cluster.bootstrap(1), "grouped", 3)
    produce(cluster.bootstrap(1), "grouped", 90)
    c = Consumer({"bootstrap.servers": cluster.bootstrap(2), "group.id": "cluster-group", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe(["grouped"])
    got = 0
    deadline = time.monotonic() + 30
    while got < 90 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got += 1
    assert got == 90
    c.commit(asynchronous=False)
    c.close()
    c2 = Consumer({"bootstrap.servers": cluster.bootstrap(3), "group.id": "cluster-group"})
    committed = c2.committed([TopicPartition("grouped", p) for p in range(3)], timeout=10)
    c2.close()
    assert sum(tp.offset for tp in committed) == 90


def test_controller_failover_and_rejoin(cluster, capsys):
    """kill -9 the active controller: a new one is elected and topic creation through a surviving
    broker works again; the time from the kill to the first successful creation is measured over
    RUNNEL_CLUSTER_KILLS kills (default 10). The killed node restarts and rejoins as a follower."""
    kills = int(os.environ.get("RUNNEL_CLUSTER_KILLS", "10"))
    _until(lambda: _all_agree(cluster), 20, "a formed cluster")
    times, elections = [], []
    for round_ in range(kills):
        old, _ = _until(lambda: _all_agree(cluster), 20, "a formed cluster before the kill")
        survivor = next(n for n in (1, 2, 3) if n != old)
        cluster.kill9(old)
        started = time.monotonic()
        _until(lambda: metadata(cluster.bootstrap(survivor))["controllerid"] not in (old, -1), 30, "a new controller")
        elections.append(time.monotonic() - started)
        _until(lambda: _try_create(cluster.bootstrap(survivor), f"after-kill-{round_}"), 30,
               f"topic creation through broker {survivor} after killing controller {old}")
        times.append(time.monotonic() - started)
        md = metadata(cluster.bootstrap(survivor))
        assert md["controllerid"] != old
        cluster.restart(old)
        # It rejoins as a follower of the new leader and becomes a live broker again.
        _until(lambda: _all_agree(cluster), 20, f"node {old} back in every broker's metadata")
        assert re.search(r"role=follower", cluster.log(old).split("broker listening")[-1])
    def stats(values: list[float]) -> str:
        v = sorted(values)
        return f"min {v[0]:.2f}s, median {v[len(v) // 2]:.2f}s, max {v[-1]:.2f}s (all: {', '.join(f'{t:.2f}' for t in values)})"
    summary = (f"controller failover over {kills} kill -9s: new controller in Metadata after {stats(elections)}; "
               f"first successful CreateTopics after {stats(times)}")
    (cluster.dir / "failover-times.txt").write_text(summary + "\n")
    with capsys.disabled():
        print("\n" + summary)
    assert max(times) < 15


def _try_create(bootstrap: str, name: str) -> bool:
    from confluent_kafka.admin import AdminClient, NewTopic
    from confluent_kafka import KafkaException
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        admin.create_topics([NewTopic(name, 1, 1)], operation_timeout=1, request_timeout=1.5)[name].result(timeout=2)
        return True
    except KafkaException as e:
        if "already exists" in str(e):
            return True
        return False


def test_dead_broker_partitions_have_no_leader_until_it_returns(cluster):
    """kill -9 a broker that is not the active controller: after broker.session.timeout.ms its
    partitions report no leader (LEADER_NOT_AVAILABLE) and it leaves the broker list; restarted, it
    is unfenced and its partitions come back with every record."""
    controller, _ = _until(lambda: _all_agree(cluster), 20, "a formed cluster")
    create_topic(cluster.bootstrap(controller), "fenced", 3)
    create_topic(cluster.bootstrap(controller), "doomed", 3)
    placement = _until(lambda: _all_agree(cluster, "fenced"), 10, "placement")[1]
    produce(cluster.bootstrap(controller), "fenced", 300)
    victim = next(n for n in (1, 2, 3) if n != controller)
    victim_partitions = [p for p, b in placement.items() if b == victim]
    assert victim_partitions
    before = {p: consume_partition(cluster.bootstrap(controller), "fenced", p) for p in range(3)}
    cluster.kill9(victim)

    def fenced_view():
        md = metadata(cluster.bootstrap(controller))
        t = next(t for t in md["topics"] if t["topic"] == "fenced")
        ids = sorted(b["id"] for b in md["brokers"])
        return victim not in ids and all(
            p["leader"] == -1 and "not available" in (p.get("error") or "").lower()
            for p in t["partitions"] if p["partition"] in victim_partitions)
    _until(fenced_view, 15, f"broker {victim} fenced and its partitions leaderless")
    # A topic deleted while the broker is down is deleted there when it returns and replays the
    # metadata log; a partition log no metadata places there (a stray) is removed once it is unfenced.
    victim_dir = cluster.dir / f"node-{victim}"
    assert list(victim_dir.glob("doomed-*"))
    ghost = victim_dir / "ghost-0"
    ghost.mkdir()
    (ghost / "partition.metadata").write_text("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA\n")
    (ghost / "00000000000000000000.log").write_bytes(b"")
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap(controller)})
    admin.delete_topics(["doomed"], operation_timeout=10)["doomed"].result(15)
    scrape = cluster.metrics(controller)
    assert scrape[("runnel_cluster_brokers", (("state", "fenced"),))] == 1
    assert scrape[("runnel_offline_partitions", ())] >= len(victim_partitions)
    cluster.restart(victim)
    _until(lambda: _all_agree(cluster, "fenced") and leaders(metadata(cluster.bootstrap(controller)), "fenced") == placement,
           20, "the restarted broker's partitions led again")
    after = {p: consume_partition(cluster.bootstrap(controller), "fenced", p) for p in range(3)}
    assert after == before and sum(len(v) for v in after.values()) == 300
    _until(lambda: not list(victim_dir.glob("doomed-*")) and not ghost.exists(), 10,
           "the deleted topic's and the stray partition's logs removed")
    assert re.search(r"dir=ghost-0 .*removed a stray partition log", cluster.log(victim))


def test_metadata_and_producer_ids_survive_a_full_restart(cluster):
    """Topics and configs survive stopping and restarting every node; producer ids handed out by
    different brokers, before and after the restart, are all distinct."""
    _until(lambda: _all_agree(cluster), 20, "a formed cluster")
    create_topic(cluster.bootstrap(1), "durable", 4)
    placement = _until(lambda: _all_agree(cluster, "durable"), 10, "placement")[1]
    produce(cluster.bootstrap(1), "durable", 200)
    ids = [init_producer_id(cluster.port(n)) for n in (1, 2, 3, 1, 2, 3)]
    cluster.stop()
    # The replicated metadata log is byte-identical on the three nodes (each entry keeps the
    # active controller's timestamp), up to the shortest one.
    logs = [(cluster.dir / f"node-{n}" / "__cluster_metadata-0" / "00000000000000000000.log").read_bytes() for n in (1, 2, 3)]
    shortest = min(len(b) for b in logs)
    assert shortest > 0 and len({b[:shortest] for b in logs}) == 1
    cluster.up = None
    cluster.start()
    _until(lambda: _all_agree(cluster, "durable"), 30, "the cluster back with its topic")
    assert leaders(metadata(cluster.bootstrap(2)), "durable") == placement
    total = sum(len(consume_partition(cluster.bootstrap(3), "durable", p)) for p in range(4))
    assert total == 200
    ids += [init_producer_id(cluster.port(n)) for n in (3, 2, 1)]
    assert len(set(ids)) == len(ids), ids


def test_sigterm_of_the_active_controller_hands_over_at_once(tmp_path):
    """SIGTERM on the active controller is a controlled shutdown: it fences its own broker
    (its partitions report no leader at once) and resigns with EndQuorumEpoch, so another voter
    leads long before the 5 s fetch timeout set here would have noticed."""
    c = Cluster(tmp_path / "cluster", extra=["controller.quorum.fetch.timeout.ms=5000"]).start()
    try:
        controller, _ = _until(lambda: _all_agree(c), 20, "a formed cluster")
        create_topic(c.bootstrap(controller), "handover", 3)
        placement = _until(lambda: _all_agree(c, "handover"), 10, "placement")[1]
        survivor = next(n for n in (1, 2, 3) if n != controller)
        os.kill(c.pids[controller], signal.SIGTERM)
        started = time.monotonic()
        def handed_over():
            m = metadata(c.bootstrap(survivor))
            done = m["controllerid"] not in (controller, -1) and controller not in [b["id"] for b in m["brokers"]]
            return m if done else None
        md = _until(handed_over, 10, "a new controller, and the old one's broker fenced")
        took = time.monotonic() - started
        assert took < 2.5, f"handed over after {took:.2f}s: no EndQuorumEpoch handover"
        led = [p for p, b in placement.items() if b == controller]
        assert all(leaders(md, "handover")[p] == -1 for p in led)
        _wait_gone(c.pids[controller], timeout=15)
        log = c.log(controller)
        assert "resigned metadata quorum leadership" in log and "controlled shutdown of the active controller's broker" in log
    finally:
        c.stop()


def test_separate_controllers_and_brokers(tmp_path, capsys):
    """`cluster up --controllers 3 --brokers 3`: controller-only nodes 1-3 form the quorum and
    broker-only nodes 4-6 register with it. Metadata from every broker lists brokers 4-6 only and
    never names a controller-only node (clients cannot reach them, as in KRaft: each broker names
    a live broker, which forwards admin requests); topics are created and spread over the brokers;
    kill -9 of the active controller elects another voter while an acks=all producer keeps being
    acknowledged; the killed controller restarts and follows the new leader."""
    import threading
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    # Broker-only nodes are quorum observers: after the active controller dies they find the new
    # one by asking voters in turn, which can take longer than the 1.5 s session the other tests
    # use; a session of 4 s keeps the new controller from fencing a broker still looking for it.
    c = Cluster(tmp_path / "cluster", controllers=3, extra=["broker.session.timeout.ms=4000"]).start()
    try:
        assert c.broker_ids == [4, 5, 6] and c.controller_ids == [1, 2, 3]
        # Only brokers are bootstrap servers; a controller-only node has no client listener.
        assert c.bootstrap() == ",".join(f"localhost:{c.port(n)}" for n in (4, 5, 6))
        assert not any(port_accepts(c.port(n)) for n in (1, 2, 3))
        assert all(port_accepts(c.controller_port(n)) for n in (1, 2, 3))
        assert not any(port_accepts(c.controller_port(n)) for n in (4, 5, 6))

        def formed():
            views = {n: metadata(c.bootstrap(n)) for n in c.broker_ids}
            for v in views.values():
                if sorted(b["id"] for b in v["brokers"]) != [4, 5, 6] or v["controllerid"] not in (4, 5, 6):
                    return None
            leaders_ = {int(c.metrics(n)[("runnel_quorum_leader", ())]) for n in range(1, 7)}
            return views if len(leaders_) == 1 and leaders_ <= {1, 2, 3} else None
        views = _until(formed, 20, "brokers 4-6 in every broker's metadata and one quorum leader among 1-3")
        for v in views.values():
            # Every advertised endpoint is a broker's client listener.
            assert {b["id"]: b["name"] for b in v["brokers"]} == {n: f"localhost:{c.port(n)}" for n in (4, 5, 6)}
        active = int(c.metrics(4)[("runnel_quorum_leader", ())])
        scrapes = {n: c.metrics(n) for n in range(1, 7)}
        assert [n for n in range(1, 7) if scrapes[n][("runnel_controller_active", ())] == 1] == [active]
        assert scrapes[active][("runnel_cluster_brokers", (("state", "unfenced"),))] == 3
        for n in (1, 2, 3):
            log = c.log(n)
            assert "controller listening" in log and "broker listening" not in log
            # Hosts no partition log, only the metadata log.
            assert [d.name for d in (c.dir / f"node-{n}").glob("*-[0-9]*")] == ["__cluster_metadata-0"]
        for n in (4, 5, 6):
            assert "registered with the active controller" in c.log(n)

        # Topics: created through a broker (forwarded to the active controller), spread over 4-6.
        admin = AdminClient({"bootstrap.servers": c.bootstrap(5)})
        admin.create_topics([NewTopic("split", 6, 3)], operation_timeout=10)["split"].result(timeout=15)
        placement = _until(lambda: (lambda l: l if sorted(l) == list(range(6)) and -1 not in l.values() else None)(
            leaders(metadata(c.bootstrap(6)), "split")), 10, "the new topic's leaders")
        assert {b: list(placement.values()).count(b) for b in (4, 5, 6)} == {4: 2, 5: 2, 6: 2}, placement
        assert not any(list((c.dir / f"node-{n}").glob("split-*")) for n in (1, 2, 3))

        # An acks=all producer runs while the active controller is killed.
        acks: list[tuple[float, bytes]] = []
        errors: list = []
        stop = threading.Event()
        unflushed: list[int] = []
        def run():
            p = Producer({"bootstrap.servers": c.bootstrap(), "enable.idempotence": True, "acks": "all",
                          "linger.ms": 2, "message.timeout.ms": 30000, "log_level": 0})
            i = 0
            while not stop.is_set():
                p.produce("split", value=f"s-{i}".encode(), partition=i % 6,
                          on_delivery=lambda e, m: errors.append(e) if e else acks.append((time.monotonic(), m.value())))
                i += 1
                p.poll(0)
                time.sleep(0.002)
            unflushed.append(p.flush(30))
        producer = threading.Thread(target=run, daemon=True)
        producer.start()
        _until(lambda: len(acks) > 200, 20, "acknowledgements before the kill")
        c.kill9(active)
        killed = time.monotonic()
        survivor = next(n for n in (1, 2, 3) if n != active)
        new = _until(lambda: (lambda l: l if l in (1, 2, 3) and l != active else None)(
            int(c.metrics(survivor)[("runnel_quorum_leader", ())])), 15, "a new quorum leader")
        elected = time.monotonic() - killed
        _until(lambda: all(int(c.metrics(n)[("runnel_quorum_leader", ())]) == new for n in (4, 5, 6)), 10,
               f"every broker following controller {new}")
        _until(lambda: _try_create(c.bootstrap(4), "after-controller-kill"), 15, "topic creation after the controller kill")
        created = time.monotonic() - killed
        _until(lambda: sum(1 for t, _ in list(acks) if t > killed + 1) > 200, 20, "acknowledgements after the kill")
        # Brokers stay registered and unfenced under the new controller (its view settles once
        # every broker's heartbeat has reached it).
        _until(lambda: c.metrics(new)[("runnel_cluster_brokers", (("state", "unfenced"),))] == 3, 10,
               "three unfenced brokers under the new controller")
        c.restart(active)
        _until(lambda: int(c.metrics(active)[("runnel_quorum_leader", ())]) == new, 15,
               f"controller {active} back, following {new}")
        stop.set()
        producer.join(40)
        assert not producer.is_alive() and unflushed == [0] and errors == [], (unflushed, errors[:5])
        values = [v for p in range(6) for v in consume_partition(c.bootstrap(4), "split", p)]
        assert len(values) == len(set(values)) and {v for _, v in acks} <= {v.encode() if isinstance(v, str) else v for v in values}
        with capsys.disabled():
            print(f"\nseparate controllers: active controller {active} killed; controller {new} elected after {elected:.2f}s, "
                  f"topic creation after {created:.2f}s; {len(acks)} acks=all records acknowledged, none failed")
    finally:
        c.stop()
