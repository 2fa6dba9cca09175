#!/usr/bin/env python3
"""Measures how long a broker takes to load committed offsets from __consumer_offsets at start-up.

Commits GROUPS x PARTITIONS offsets (default 100 x 1000 = 100,000) with confluent-kafka, each
group committing every partition of one topic ROUNDS times (so compaction has something to do
when it runs), restarts the broker with SIGTERM and reads the coordinator's log line
"loaded consumer groups and offsets ... elapsed=...". Then checks a few groups' offsets survived.

    RUNNEL_BIN=.build/release/runnel .venv/bin/python scripts/bench-group-load.py [--groups 100] [--partitions 1000] [--rounds 1]
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Tests" / "Interop"))

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from harness import Broker  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=100)
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as work:
        broker = Broker(Path(work), overrides={"offsets.topic.num.partitions": 50}).start()
        try:
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            admin.create_topics([NewTopic("bench", num_partitions=args.partitions, replication_factor=1)])["bench"].result()
            started = time.monotonic()
            for g in range(args.groups):
                c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"bench-{g}", "enable.auto.commit": False})
                for r in range(args.rounds):
                    c.commit(offsets=[TopicPartition("bench", p, 1000 * r + p) for p in range(args.partitions)],
                             asynchronous=False)
                c.close()
            total = args.groups * args.partitions * args.rounds
            print(f"committed {total} offsets in {time.monotonic() - started:.1f} s")
            broker.restart()
            lines = broker.wait_for_log(r"loaded consumer groups and offsets", timeout=120)
            line = lines[-1]
            elapsed = re.search(r"elapsed=([0-9.]+) seconds", line)
            records = re.search(r"records=(\d+)", line)
            print(line.strip())
            if elapsed and records:
                secs = float(elapsed.group(1))
                n = int(records.group(1))
                print(f"loaded {n} records in {secs * 1000:.1f} ms ({n / secs:,.0f} records/s)")
            c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"bench-{args.groups - 1}"})
            got = c.committed([TopicPartition("bench", p) for p in (0, args.partitions - 1)], timeout=30)
            expect = [1000 * (args.rounds - 1) + p for p in (0, args.partitions - 1)]
            assert [tp.offset for tp in got] == expect, (got, expect)
            c.close()
            print("committed offsets survived the restart")
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
