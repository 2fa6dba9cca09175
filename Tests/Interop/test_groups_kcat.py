"""kcat 1.7.1 (librdkafka 2.0.2) and consumer groups: two `kcat -G` instances split a
topic's partitions, commit on close; the group APIs enable librdkafka 2.0.2's
BrokerBalancedConsumer / BrokerGroupCoordinator / LZ4 features (LZ4 is gated on
FindCoordinator v0 being advertised), so `kcat -z lz4` now really writes lz4 batches."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
import uuid

from group_util import (
    ck_admin, committed_offsets_admin, create_topic, group_broker,
    produce_per_partition, unique_group, wait_until,
)
from interop_util import check_codec_on_wire, KCAT_FAST, kcat, kcat_path
from storage_util import disk_batches, partition_dir

PARTITIONS = 6
ASSIGN_RE = re.compile(r"rebalanced.*?:\s*(assigned|revoked):\s*(.*)$")


class KcatGroup:
    """One `kcat -G` process; stdout lines are '<partition> <offset>'."""

    def __init__(self, bootstrap: str, group: str, topic: str, name: str) -> None:
        self.name = name
        self.cmd = [kcat_path(), "-b", bootstrap, *KCAT_FAST,
                    "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500",
                    "-X", "auto.offset.reset=earliest", "-X", "auto.commit.interval.ms=500",
                    "-X", "fetch.wait.max.ms=100", "-X", f"client.id=kcat-{name}",
                    "-u", "-f", "%p %o\n", "-G", group, topic]
        self.records: list[tuple[int, int]] = []
        self.assigned: set[int] | None = None
        self.stderr: list[str] = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.threads = [threading.Thread(target=self._out, daemon=True),
                        threading.Thread(target=self._err, daemon=True)]
        for t in self.threads:
            t.start()

    def _out(self) -> None:
        for raw in self.proc.stdout:
            parts = raw.decode(errors="replace").split()
            if len(parts) == 2:
                with self.lock:
                    self.records.append((int(parts[0]), int(parts[1])))

    def _err(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            with self.lock:
                self.stderr.append(line)
                m = ASSIGN_RE.search(line)
                if m:
                    parts = {int(x) for x in re.findall(r"\[(\d+)\]", m.group(2))}
                    if m.group(1) == "assigned":
                        self.assigned = parts
                    else:
                        self.assigned = set()

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for t in self.threads:
            t.join(10)
        return self.proc.returncode

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def describe(self) -> str:
        with self.lock:
            return f"kcat {self.name}: assigned={self.assigned} stderr tail={self.stderr[-8:]}"


def test_two_kcat_instances_split_partitions(broker_factory, topic):
    b = group_broker(broker_factory)
    create_topic(b.bootstrap, topic, PARTITIONS)
    group = unique_group("kcat")
    ks: list[KcatGroup] = []
    try:
        ks.append(KcatGroup(b.bootstrap, group, topic, "one"))
        wait_until(lambda: ks[0].assigned == set(range(PARTITIONS)), 40,
                   "the first kcat to own every partition", detail=ks[0].describe)
        ks.append(KcatGroup(b.bootstrap, group, topic, "two"))

        def split():
            a, c = ks[0].assigned, ks[1].assigned
            return a and c and not (a & c) and (a | c) == set(range(PARTITIONS))

        wait_until(split, 40, "two kcat instances to split the partitions",
                   detail=lambda: "\n".join(k.describe() for k in ks))
        time.sleep(1.0)
        assert split(), "\n".join(k.describe() for k in ks)
        owned = [set(k.assigned) for k in ks]
        assert sorted(len(o) for o in owned) == [3, 3], owned

        produced = produce_per_partition(b.bootstrap, topic, PARTITIONS, 20, tag="kcat")
        want = {(p, o) for p, offs in produced.items() for o in offs}
        wait_until(lambda: want <= set(ks[0].records) | set(ks[1].records), 30,
                   "every record printed by one of the kcat instances",
                   detail=lambda: f"missing {sorted(want - set(ks[0].records) - set(ks[1].records))[:10]}")
        for k, o in zip(ks, owned):
            printed = {p for p, _ in k.records}
            assert printed <= o, f"kcat {k.name} printed partitions {sorted(printed)}, owns {sorted(o)}"
            assert sorted(r for r in k.records if r[0] in o) == sorted(r for r in want if r[0] in o), \
                f"kcat {k.name} did not print exactly its partitions' records once"

        # SIGTERM: kcat closes the consumer, which commits the consumed offsets and leaves
        for k in ks:
            assert k.stop() == 0, k.describe()
        admin = ck_admin(b.bootstrap)
        committed = committed_offsets_admin(admin, group)
        assert {p: off for (t, p), (off, _) in committed.items() if t == topic} == \
            {p: 20 for p in range(PARTITIONS)}, committed

        # a third instance resumes at the committed offsets: nothing to print
        produce_per_partition(b.bootstrap, topic, PARTITIONS, 1, tag="tail")
        k3 = KcatGroup(b.bootstrap, group, topic, "three")
        ks.append(k3)
        wait_until(lambda: len(k3.records) >= PARTITIONS, 40, "the third kcat to read the new records",
                   detail=k3.describe)
        time.sleep(0.5)
        assert sorted(k3.records) == [(p, 20) for p in range(PARTITIONS)], k3.records
    finally:
        for k in ks:
            k.cleanup()


def test_librdkafka_202_enables_group_and_lz4_features(broker_factory):
    b = group_broker(broker_factory)
    cp = kcat(b.bootstrap, "-L", "-X", "debug=feature", timeout=30)
    enabled = set()
    for ln in cp.stderr.decode(errors="replace").splitlines():
        if "Enabling feature " in ln:
            enabled.add(ln.rsplit("Enabling feature ", 1)[1].strip())
    for feature in ("BrokerGroupCoordinator", "BrokerBalancedConsumer", "LZ4"):
        assert feature in enabled, f"librdkafka 2.0.2 did not enable {feature}; enabled: {sorted(enabled)}"


def test_kcat_lz4_round_trip_is_stored_as_lz4(tapped_broker, topic):
    bootstrap = tapped_broker.bootstrap
    tag = uuid.uuid4().hex[:6]
    lines = [f"lz4-{i:05d}-{tag}-" + "abcd" * (i % 30) for i in range(2000)]
    kcat(bootstrap, "-P", "-t", topic, "-p", "0", "-z", "lz4", "-X", "linger.ms=50",
         input=("\n".join(lines) + "\n").encode(), timeout=60)

    sent = [batch for req in tapped_broker.requests(api_key=0) for t in req["body"]["topics"]
            for p in t["partitions"] for batch in p["batches"]]
    assert sum(b["record_count"] for b in sent) == len(lines)
    check_codec_on_wire(sent, "lz4")  # "LZ4 feature not enabled?" if no lz4 batch at all

    stored = disk_batches(partition_dir(tapped_broker.broker, topic))
    assert stored, "no batches on disk"
    assert [x["attributes"] & 0x7 for x in stored] == [3 if b["compression"] == "lz4" else 0 for b in sent], \
        f"stored codecs {[x['compression'] for x in stored]} differ from those sent"
    assert sum(x["record_count"] for x in stored) == len(lines)
    assert all(x.get("crc_ok") is not False for x in stored)

    cp = kcat(bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%o %s\n",
              timeout=60)
    got = cp.stdout.decode().splitlines()
    assert got == [f"{i} {v}" for i, v in enumerate(lines)]


def test_kcat_group_reads_lz4_topic(broker_factory, topic):
    """A `kcat -G` member reads lz4 batches written by `kcat -z lz4` and exits at the end (-e)."""
    b = group_broker(broker_factory)
    lines = [f"g-{i}" for i in range(300)]
    kcat(b.bootstrap, "-P", "-t", topic, "-p", "0", "-z", "lz4", input=("\n".join(lines) + "\n").encode())
    group = unique_group("kcat-lz4")
    cp = kcat(b.bootstrap, "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500",
              "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%s\n", "-G", group, topic, timeout=60)
    assert cp.stdout.decode().splitlines() == lines
    committed = committed_offsets_admin(ck_admin(b.bootstrap), group)
    assert committed.get((topic, 0), (None,))[0] == len(lines), committed
