"""A consumer group of two RunnelClient consumers (`runnel consume --group`) and one
confluent-kafka consumer: the standard consumer protocol lets them share the group, and the
partitions are split with no overlap, for the range and cooperative-sticky assignors."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewPartitions

from harness import runnel_bin
from interop_util import CK_COMMON
from runnel_cli import FAST, create_topic

PARTITIONS = 6
PER_PARTITION = 50



def whole_json_lines(path) -> list[dict]:
    """The JSON records of a file a running consumer is still writing: a last line without its
    newline is not whole yet and is left for the next read."""
    text = path.read_text()
    return [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines() if line.strip()]

def _wait_stable(bootstrap: str, group: str, members: int, timeout: float = 60.0) -> list:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        description = admin.describe_consumer_groups([group])[group].result(10)
        assigned = [a for m in description.members for a in (m.assignment.topic_partitions if m.assignment else [])]
        if (len(description.members) == members and str(description.state).endswith("STABLE")
                and len(assigned) == PARTITIONS):
            return description.members
        time.sleep(0.5)
    raise AssertionError(f"group {group} did not become stable with {members} members")


@pytest.mark.parametrize("assignor", ["range", "cooperative-sticky"])
def test_mixed_group_splits_partitions(broker_factory, topic, tmp_path: Path, assignor):
    broker = broker_factory({"group.initial.rebalance.delay.ms": 0})
    bootstrap = broker.bootstrap
    create_topic(bootstrap, topic, PARTITIONS)
    group = f"mixed-{assignor}-{time.monotonic_ns() % 100000}"

    # confluent-kafka member, polling in a thread.
    confluent_records: list[tuple[int, int]] = []
    stop = threading.Event()
    ck = Consumer({**CK_COMMON, "bootstrap.servers": bootstrap, "group.id": group,
                   "auto.offset.reset": "earliest", "partition.assignment.strategy": assignor,
                   "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
    ck.subscribe([topic])

    def poll_loop():
        while not stop.is_set():
            m = ck.poll(0.2)
            if m is not None and m.error() is None:
                confluent_records.append((m.partition(), m.offset()))

    thread = threading.Thread(target=poll_loop, daemon=True)
    thread.start()

    # Two RunnelClient members.
    outputs = [tmp_path / f"swift{i}.jsonl" for i in range(2)]
    procs = []
    for out in outputs:
        procs.append(subprocess.Popen(
            [runnel_bin(), "consume", topic, "--group", group, "--from-beginning", "--output", "json",
             "--bootstrap-server", bootstrap, *FAST, "-X", f"partition.assignment.strategy={assignor}",
             "-X", "heartbeat.interval.ms=500", "-X", "session.timeout.ms=10000"],
            stdout=out.open("wb"), stderr=(tmp_path / (out.name + ".err")).open("wb")))
    try:
        members = _wait_stable(bootstrap, group, 3)
        by_member = {m.member_id: sorted(tp.partition for tp in m.assignment.topic_partitions) for m in members}
        all_assigned = [p for parts in by_member.values() for p in parts]
        assert sorted(all_assigned) == list(range(PARTITIONS)), by_member
        assert all(len(parts) == PARTITIONS // 3 for parts in by_member.values()), by_member

        producer = Producer({**CK_COMMON, "bootstrap.servers": bootstrap})
        for p in range(PARTITIONS):
            for i in range(PER_PARTITION):
                producer.produce(topic, value=f"{p}-{i}".encode(), partition=p)
        assert producer.flush(30) == 0

        def swift_records() -> list[list[tuple[int, int]]]:
            out = []
            for path in outputs:
                lines = whole_json_lines(path)
                out.append([(r["partition"], r["offset"]) for r in lines])
            return out

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sum(len(r) for r in swift_records()) + len(confluent_records) >= PARTITIONS * PER_PARTITION:
                break
            time.sleep(0.3)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(30)
        stop.set()
        thread.join(5)
        ck.close()

    per_consumer = swift_records() + [list(confluent_records)]
    partitions_of = [{p for p, _ in records} for records in per_consumer]
    for i in range(3):
        for j in range(i + 1, 3):
            assert not (partitions_of[i] & partitions_of[j]), partitions_of
    assert all(len(parts) == PARTITIONS // 3 for parts in partitions_of), partitions_of
    every = sorted(r for records in per_consumer for r in records)
    assert every == sorted((p, o) for p in range(PARTITIONS) for o in range(PER_PARTITION))
    assert all(proc.returncode == 0 for proc in procs)


def test_group_leader_picks_up_added_partitions(broker_factory, topic, tmp_path: Path):
    """A Swift group member (the leader) sees the topic grow from 1 to 3 partitions within
    metadata.max.age.ms, rebalances, and reads the new partitions."""
    broker = broker_factory({"group.initial.rebalance.delay.ms": 0})
    bootstrap = broker.bootstrap
    create_topic(bootstrap, topic, 1)
    out = tmp_path / "grow.jsonl"
    proc = subprocess.Popen(
        [runnel_bin(), "consume", topic, "--group", "grow", "--from-beginning", "--output", "json",
         "--max-messages", "3", "--bootstrap-server", bootstrap, *FAST, "-X", "metadata.max.age.ms=1000"],
        stdout=out.open("wb"), stderr=(tmp_path / "grow.err").open("wb"))
    try:
        _wait_stable_partitions(bootstrap, "grow", 1)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_partitions([NewPartitions(topic, 3)])[topic].result(30)
        # A fresh producer sees all three partitions.
        producer = Producer({**CK_COMMON, "bootstrap.servers": bootstrap})
        for p in range(3):
            producer.produce(topic, value=f"p{p}".encode(), partition=p)
        assert producer.flush(30) == 0
        assert proc.wait(60) == 0, (tmp_path / "grow.err").read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    got = sorted((r["partition"], r["value"]) for r in map(json.loads, out.read_text().splitlines()))
    assert got == [(0, "p0"), (1, "p1"), (2, "p2")]


def _wait_stable_partitions(bootstrap: str, group: str, partitions: int, timeout: float = 60.0) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        description = admin.describe_consumer_groups([group])[group].result(10)
        assigned = [a for m in description.members for a in (m.assignment.topic_partitions if m.assignment else [])]
        if str(description.state).endswith("STABLE") and len(assigned) == partitions:
            return
        time.sleep(0.3)
    raise AssertionError(f"group {group} never had {partitions} partitions assigned")


def test_cooperative_sticky_rebalances_incrementally(broker_factory, topic, tmp_path: Path):
    """KIP-429 with a Swift member and a confluent-kafka member, both cooperative-sticky: when the
    confluent-kafka member joins, the Swift member keeps three of its six partitions (never
    revoked) and gives up only the three that move, which the next rebalance assigns; every
    record is read once across both members."""
    import os
    import re

    broker = broker_factory({"group.initial.rebalance.delay.ms": 0})
    bootstrap = broker.bootstrap
    create_topic(bootstrap, topic, PARTITIONS)
    group = f"coop-{time.monotonic_ns() % 100000}"
    producer = Producer({**CK_COMMON, "bootstrap.servers": bootstrap})

    def produce(round_: int) -> None:
        for p in range(PARTITIONS):
            for i in range(PER_PARTITION):
                producer.produce(topic, value=f"{round_}-{p}-{i}".encode(), partition=p)
        assert producer.flush(30) == 0

    produce(0)
    out = tmp_path / "swift.jsonl"
    err = tmp_path / "swift.err"
    swift = subprocess.Popen(
        [runnel_bin(), "consume", topic, "--group", group, "--from-beginning", "--output", "json",
         "--bootstrap-server", bootstrap, *FAST, "-X", "partition.assignment.strategy=cooperative-sticky",
         "-X", "heartbeat.interval.ms=300", "-X", "session.timeout.ms=10000", "-X", "auto.commit.interval.ms=200"],
        stdout=out.open("wb"), stderr=err.open("wb"), env={**os.environ, "RUNNEL_LOG_LEVEL": "info"})

    def swift_records() -> list[tuple[int, int]]:
        return [(r["partition"], r["offset"]) for r in whole_json_lines(out)]

    ck = None
    confluent_records: list[tuple[int, int]] = []
    stop = threading.Event()
    thread = None
    try:
        _wait_stable(bootstrap, group, 1)
        deadline = time.monotonic() + 30
        while len(swift_records()) < PARTITIONS * PER_PARTITION and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(swift_records()) == PARTITIONS * PER_PARTITION

        ck = Consumer({**CK_COMMON, "bootstrap.servers": bootstrap, "group.id": group,
                       "auto.offset.reset": "earliest", "partition.assignment.strategy": "cooperative-sticky",
                       "session.timeout.ms": 10000, "heartbeat.interval.ms": 300})
        ck.subscribe([topic])

        def poll_loop():
            while not stop.is_set():
                m = ck.poll(0.2)
                if m is not None and m.error() is None:
                    confluent_records.append((m.partition(), m.offset()))

        thread = threading.Thread(target=poll_loop, daemon=True)
        thread.start()
        members = _wait_stable(bootstrap, group, 2)
        by_member = {m.member_id: sorted(tp.partition for tp in m.assignment.topic_partitions) for m in members}
        assert sorted(len(parts) for parts in by_member.values()) == [3, 3], by_member

        produce(1)
        deadline = time.monotonic() + 60
        while (len(swift_records()) + len(confluent_records) < 2 * PARTITIONS * PER_PARTITION
               and time.monotonic() < deadline):
            time.sleep(0.3)
    finally:
        swift.send_signal(signal.SIGTERM)
        try:
            swift.wait(30)
        finally:
            if swift.poll() is None:
                swift.kill()
            stop.set()
            if thread is not None:
                thread.join(5)
            if ck is not None:
                ck.close()

    assert swift.returncode == 0, err.read_text()[-2000:]
    joins = [line for line in err.read_text().splitlines() if "joined group" in line]
    revoked = [m.group(1) for line in joins for m in [re.search(r"revoked=(\S*)", line)] if m]
    assert len(revoked) == len(joins) >= 2, joins
    moved = {int(tp.rsplit("-", 1)[1]) for r in revoked for tp in r.split(",") if tp}
    confluent_partitions = {p for p, _ in confluent_records}
    # Only the partitions that moved were ever revoked from the Swift member, and they moved to
    # confluent-kafka; the Swift member kept reading the other three.
    assert moved == confluent_partitions and len(moved) == 3, (joins, confluent_partitions)
    swift_round1 = {p for p, o in swift_records() if o >= PER_PARTITION}
    assert swift_round1 == set(range(PARTITIONS)) - moved
    every = sorted(swift_records() + confluent_records)
    assert every == sorted((p, o) for p in range(PARTITIONS) for o in range(2 * PER_PARTITION))
