#!/usr/bin/env python3
"""A confluent-kafka group member run as a separate process by the group interop tests
(group_util.Member starts it; it is not a test module).

Usage: group_member.py '<json config>'

Config keys
    bootstrap, topics (list), group, name      required (name only labels the output)
    conf          extra librdkafka settings (session.timeout.ms, group.instance.id, ...)
    commit_every  seconds between synchronous commit() calls of the consumed positions;
                  0 = never commit (default 0)
    records       print every consumed (partition, offset) (default true)

Every event is one JSON line on stdout, flushed at once (so a kill -9 loses nothing that
was printed):
    {"ev": "start"}                             consumer created and subscribed
    {"ev": "assign", "parts": [..], "current": [..], "proto": "EAGER"|"COOPERATIVE", "member": id}
                                                (proto: from partition.assignment.strategy)
    {"ev": "revoke", "parts": [..], "current": [..], ...}
    {"ev": "lost",   "parts": [..], "current": [..], ...}
    {"ev": "recs",   "r": [[partition, offset], ...]}       (before they can be committed)
    {"ev": "commit", "offsets": [[partition, next offset], ...]}
    {"ev": "commit_error", "error": "..."}
    {"ev": "error",  "error": "...", "code": n}             (error_cb, or an error message from consume())
    {"ev": "closed"}                            after close() on SIGTERM/SIGINT
Partitions are [topic, partition] pairs when several topics are subscribed, plain ints
otherwise. "current" is the member's assignment after the callback (for the cooperative
protocol the callbacks carry only the increment).
"""

from __future__ import annotations

import json
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException


def main() -> int:
    cfg = json.loads(sys.argv[1])
    topics = cfg["topics"]
    multi = len(topics) > 1
    commit_every = float(cfg.get("commit_every", 0))
    print_records = bool(cfg.get("records", True))

    def out(obj) -> None:
        obj.setdefault("t", time.time())
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def key(tp):
        return [tp.topic, tp.partition] if multi else tp.partition

    running = True

    def stop(signum, frame):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    conf = {
        "bootstrap.servers": cfg["bootstrap"],
        "group.id": cfg["group"],
        "client.id": cfg.get("client_id", cfg.get("name", "runnel-group-member")),
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "socket.timeout.ms": 10000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "retry.backoff.ms": 100,
        "topic.metadata.refresh.interval.ms": 2000,
        "fetch.wait.max.ms": 100,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "max.poll.interval.ms": 15000,
        "error_cb": lambda err: out({"ev": "error", "error": str(err), "code": err.code()}),
    }
    conf.update(cfg.get("conf", {}))
    c = Consumer(conf)
    current: set = set()
    # confluent-kafka-python has no rebalance_protocol(): the protocol follows the strategy
    cooperative = "cooperative" in str(conf.get("partition.assignment.strategy", ""))
    proto = "COOPERATIVE" if cooperative else "EAGER"

    def member_id():
        try:
            return c.memberid()
        except Exception:  # not in a group yet
            return None

    def report(ev, parts):
        out({"ev": ev, "parts": sorted(key(p) for p in parts), "current": sorted(current),
             "proto": proto, "member": member_id()})

    def on_assign(consumer, parts):
        if cooperative:
            current.update(key(p) for p in parts)
        else:
            current.clear()
            current.update(key(p) for p in parts)
        report("assign", parts)

    def on_revoke(consumer, parts):
        current.difference_update(key(p) for p in parts)
        report("revoke", parts)

    def on_lost(consumer, parts):
        current.difference_update(key(p) for p in parts)
        report("lost", parts)

    c.subscribe(topics, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    out({"ev": "start", "name": cfg.get("name")})
    last_commit = time.monotonic()
    dirty = False
    try:
        while running:
            msgs = c.consume(num_messages=500, timeout=0.2)
            recs = []
            for m in msgs:
                if m.error():
                    # fatal errors (e.g. a fenced static member) arrive as message errors
                    out({"ev": "error", "error": str(m.error()), "code": m.error().code(),
                         "fatal": m.error().fatal()})
                    continue
                recs.append([m.topic(), m.partition(), m.offset()] if multi else [m.partition(), m.offset()])
            if recs and print_records:
                out({"ev": "recs", "r": recs})
            dirty = dirty or bool(recs)
            if commit_every and dirty and time.monotonic() - last_commit >= commit_every:
                last_commit = time.monotonic()
                dirty = False
                try:
                    res = c.commit(asynchronous=False)
                    out({"ev": "commit", "offsets": sorted(
                        ([tp.topic, tp.partition, tp.offset] if multi else [tp.partition, tp.offset])
                        for tp in (res or []) if tp.offset >= 0 and tp.error is None)})
                except KafkaException as e:
                    out({"ev": "commit_error", "error": str(e)})
        if commit_every and dirty:
            try:
                res = c.commit(asynchronous=False)
                out({"ev": "commit", "offsets": sorted(
                    ([tp.topic, tp.partition, tp.offset] if multi else [tp.partition, tp.offset])
                    for tp in (res or []) if tp.offset >= 0 and tp.error is None)})
            except KafkaException as e:
                out({"ev": "commit_error", "error": str(e)})
    finally:
        c.close()
        out({"ev": "closed"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
