"""Load generators: each runs one measurement and returns a dict of figures (or raises)."""
import json
import os
import re

from procs import run

# "% 1200 messages produced (122880 bytes), 1100 delivered (offset 0, 0 failed) in 1000ms: ..."
_PRODUCED = re.compile(r"% (\d+) messages produced \((\d+) bytes\), (\d+) delivered .*? in (\d+)ms")
# "% 1000 messages (1024000 bytes) consumed in 900ms: 1111 msgs/s (1.14 MB/s)"
_CONSUMED = re.compile(r"% (\d+) messages \((\d+) bytes\) consumed in (\d+)ms")


class Tools:
    def __init__(self, rdperf, rdlib, runnel):
        self.rdperf, self.rdlib, self.runnel = rdperf, rdlib, runnel

    def _rd_env(self):
        if not self.rdperf:
            raise RuntimeError("rdkafka_performance is not built (run.sh printed why)")
        # rdkafka_performance on the confluent-kafka wheel's librdkafka, against every broker alike.
        return {**os.environ, "LD_LIBRARY_PATH": self.rdlib}

    def rd_produce(self, bootstrap, topic, size, secs, acks="1", linger_ms=5):
        """Produces as fast as possible for secs seconds (then SIGINT). The rate is taken between
        the first and the last of the once-a-second progress lines, so connection set-up and the
        records still queued at the stop do not count; bytes are payload bytes delivered."""
        cmd = ["stdbuf", "-oL", self.rdperf, "-P", "-t", topic, "-b", bootstrap, "-s", size,
               "-c", 1_000_000_000, "-i", 1000, "-X", f"linger.ms={linger_ms}", "-X", f"acks={acks}",
               "-X", "enable.idempotence=false", "-X", "compression.codec=none"]
        rc, out, err = run(cmd, timeout=secs + 90, env=self._rd_env(), stop_after=secs)
        points = [(int(ms), int(dl)) for _p, _b, dl, ms in _PRODUCED.findall(out)]
        failed = re.findall(r"delivered \(offset -?\d+, (\d+) failed\)", out)
        if len(points) < 2 or points[-1][1] == 0:
            raise RuntimeError(f"rdkafka_performance produce gave no rate (rc {rc}): {(out + err)[-600:]}")
        (t0, d0), (t1, d1) = points[0], points[-1]
        if t1 - t0 < 1000:
            t0, d0 = 0, 0
        rate = (d1 - d0) * 1000.0 / (t1 - t0)
        return {"records_s": rate, "mb_s": rate * size / 1e6, "delivered": d1,
                "failed": int(failed[-1]) if failed else 0, "seconds": t1 / 1000.0}

    def rd_consume(self, bootstrap, topic, partitions, count, timeout):
        """Reads count records from the beginning of partitions 0..partitions-1 (simple consumer,
        no group) and returns the rate over the whole read, start-up included."""
        cmd = [self.rdperf, "-C", "-t", topic, "-b", bootstrap, "-o", "beginning", "-e", "-c", count,
               "-X", "queued.min.messages=1000000", "-X", "fetch.queue.backoff.ms=0"]
        for p in range(partitions):
            cmd += ["-p", p]
        rc, out, err = run(cmd, timeout=timeout, env=self._rd_env())
        m = _CONSUMED.findall(out)
        if not m:
            raise RuntimeError(f"rdkafka_performance consume gave no summary (rc {rc}): {(out + err)[-600:]}")
        msgs, nbytes, ms = (int(x) for x in m[-1])
        if msgs < count:
            raise RuntimeError(f"consumer read {msgs} of {count} records")
        return {"records_s": msgs * 1000.0 / ms, "mb_s": nbytes / 1000.0 / ms, "records": msgs, "seconds": ms / 1000.0}

    def runnel_e2e(self, bootstrap, topic, size, rate, secs, acks="1", linger_ms=1):
        """`runnel perf e2e` at a fixed rate: end-to-end (send to receive) latency percentiles in ms.
        linger.ms=1 as OpenMessaging Benchmark's Kafka driver sets it (5 ms would put up to 5 ms of
        batching delay into every percentile)."""
        cmd = [self.runnel, "perf", "e2e", "--bootstrap-server", bootstrap, "--topic", topic,
               "--num-records", int(rate * secs), "--record-size", size, "--throughput", int(rate),
               "--acks", acks, "--linger-ms", linger_ms, "--output", "json"]
        rc, out, err = run(cmd, timeout=secs * 4 + 60)
        if rc != 0:
            raise RuntimeError(f"runnel perf e2e failed (rc {rc}): {(out + err)[-600:]}")
        d = json.loads(out.strip().splitlines()[-1])
        return {k: d[k] for k in d if k.startswith("endToEndLatency") or k in ("publishRate", "consumeRate")}


def natspub(binary, url, size, secs):
    rc, out, err = run([binary, "-url", url, "-size", size, "-secs", secs], timeout=secs + 90)
    if rc != 0:
        raise RuntimeError(f"natspub failed (rc {rc}): {err[-600:]}")
    d = json.loads(out.strip().splitlines()[-1])
    return {"records_s": d["rate"], "mb_s": d["mbs"], "delivered": d["messages"], "seconds": d["seconds"]}


def redis_xadd(port, size, count):
    """redis-benchmark: 50 connections, 64 commands pipelined on each, count XADDs of one field
    holding size bytes. (redis-benchmark stops by count, not by time.)"""
    value = "v" * size
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", port, "-c", 50, "-P", 64, "-n", count, "--csv",
           "XADD", "bench", "*", "f", value]
    rc, out, err = run(cmd, timeout=600)
    rows = [line for line in out.splitlines() if line.startswith('"XADD')]
    if rc != 0 or not rows:
        raise RuntimeError(f"redis-benchmark failed (rc {rc}): {(out + err)[-600:]}")
    rps = float(rows[-1].split(",")[1].strip('"'))
    return {"records_s": rps, "mb_s": rps * size / 1e6, "delivered": count}


def iperf3(port, secs):
    """One TCP stream over loopback; received bytes/s as MB/s (10^6)."""
    rc, out, err = run(["iperf3", "-c", "127.0.0.1", "-p", port, "-t", secs, "-P", 1, "-J"], timeout=secs + 60)
    if rc != 0:
        raise RuntimeError(f"iperf3 failed (rc {rc}): {(out + err)[-600:]}")
    bps = json.loads(out)["end"]["sum_received"]["bits_per_second"]
    return {"mb_s": bps / 8 / 1e6}
