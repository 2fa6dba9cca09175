"""Helpers for the consumer-group interop tests (test_groups_*.py).

* GROUP_OVERRIDES / group_broker(): broker settings that keep group tests fast;
* Member: a confluent-kafka group member in its own process (group_member.py) whose JSON
  event lines are collected by a reader thread;
* convergence checks (disjoint assignments covering every partition);
* GroupWire: raw group-protocol requests (FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
  LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups) over
  kafka_wire's framing, written from the Kafka message JSON schemas.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import kafka_wire
from kafka_wire import Reader, Writer

HERE = Path(__file__).resolve().parent
MEMBER_SCRIPT = HERE / "group_member.py"

# Broker settings (Kafka's names) for every group test: no initial rebalance delay, session
# timeouts from 1 s allowed, a small single-replica offsets topic.
GROUP_OVERRIDES: dict[str, object] = {
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    "offsets.topic.num.partitions": 5,
    "offsets.topic.replication.factor": 1,
}

# Client settings shared by the confluent-kafka consumers of these tests.
CK_GROUP_FAST: dict[str, object] = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 500,
    "max.poll.interval.ms": 15000,
    "fetch.wait.max.ms": 100,
}


def group_broker(broker_factory, **extra):
    overrides = dict(GROUP_OVERRIDES)
    overrides.update(extra)
    return broker_factory(overrides)


def unique_group(prefix: str = "grp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.1,
               detail: Optional[Callable[[], Any]] = None) -> Any:
    """Poll pred() until it returns a truthy value; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last_exc: Optional[BaseException] = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except AssertionError:
            raise
        except Exception as e:  # transient client errors
            last_exc = e
        if time.monotonic() >= deadline:
            extra = ""
            if detail is not None:
                try:
                    extra = f"\n{detail()}"
                except Exception as e:  # pragma: no cover
                    extra = f"\n(detail failed: {e!r})"
            if last_exc is not None:
                extra += f"\nlast exception: {last_exc!r}"
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------
# confluent-kafka helpers
# ---------------------------------------------------------------------------------------


def ck_admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    from interop_util import CK_COMMON

    cfg = dict(CK_COMMON)
    cfg["bootstrap.servers"] = bootstrap
    return AdminClient(cfg)


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    """CreateTopics and wait until every partition has a leader."""
    from confluent_kafka.admin import NewTopic

    admin = ck_admin(bootstrap)
    fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                             operation_timeout=10, request_timeout=10)
    fs[name].result(timeout=15)

    def ready():
        t = admin.list_topics(topic=name, timeout=10).topics.get(name)
        return (t is not None and t.error is None and len(t.partitions) == partitions
                and all(p.leader >= 0 for p in t.partitions.values()))

    wait_until(ready, 10, f"topic {name} with {partitions} led partitions")


def ck_producer(bootstrap: str, **extra):
    from confluent_kafka import Producer

    from interop_util import CK_COMMON

    cfg = dict(CK_COMMON)
    cfg.update({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                "message.timeout.ms": 20000, "request.timeout.ms": 10000})
    cfg.update(extra)
    return Producer(cfg)


def produce_per_partition(bootstrap: str, topic: str, partitions: int, per_partition: int,
                          tag: str = "") -> dict[int, list[int]]:
    """Produce `per_partition` records to each partition; returns {partition: [offsets]}."""
    p = ck_producer(bootstrap)
    got: dict[int, list[int]] = {i: [] for i in range(partitions)}
    errors: list = []

    def cb(err, msg):
        if err is not None:
            errors.append(err)
        else:
            got[msg.partition()].append(msg.offset())

    for i in range(per_partition):
        for part in range(partitions):
            p.produce(topic, value=f"{tag}-{part}-{i}".encode(), partition=part, on_delivery=cb)
        p.poll(0)
    assert p.flush(30) == 0, "records still queued after flush"
    assert not errors, errors[:3]
    for v in got.values():
        v.sort()
    return got


def committed_offsets_admin(admin, group: str, timeout: float = 10.0) -> dict[tuple[str, int], tuple[int, Any]]:
    """{(topic, partition): (offset, metadata)} via AdminClient.list_consumer_group_offsets
    (OffsetFetch with all partitions)."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    fs = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)],
                                           request_timeout=timeout)
    res = fs[group].result(timeout=timeout + 5)
    out = {}
    for tp in res.topic_partitions:
        if tp.error is not None:
            raise AssertionError(f"list_consumer_group_offsets error on {tp}: {tp.error}")
        out[(tp.topic, tp.partition)] = (tp.offset, tp.metadata)
    return out


# ---------------------------------------------------------------------------------------
# Group members in subprocesses
# ---------------------------------------------------------------------------------------


class Member:
    """One group_member.py process. Events (dicts) are appended to `events` by a reader
    thread, each with `rt` = time.monotonic() in this process when the line was read."""

    def __init__(self, bootstrap: str, topics: list[str] | str, group: str, name: str,
                 conf: Optional[dict] = None, commit_every: float = 0.0, records: bool = True,
                 log_dir: Optional[Path] = None, client_id: Optional[str] = None) -> None:
        self.name = name
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        cfg = {"bootstrap": bootstrap, "topics": self.topics, "group": group, "name": name,
               "conf": dict(CK_GROUP_FAST, **(conf or {})), "commit_every": commit_every,
               "records": records}
        if client_id:
            cfg["client_id"] = client_id
        self.cfg = cfg
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.stderr_path = (Path(log_dir) if log_dir else Path("/tmp")) / f"member-{name}-{uuid.uuid4().hex[:6]}.stderr"
        self.proc: Optional[subprocess.Popen] = None
        self.reader: Optional[threading.Thread] = None
        self.exit_code: Optional[int] = None
        self.killed = False

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> "Member":
        err = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-u", str(MEMBER_SCRIPT), json.dumps(self.cfg)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                cwd=str(HERE), start_new_session=True)
        finally:
            err.close()
        self.reader = threading.Thread(target=self._read, name=f"member-{self.name}", daemon=True)
        self.reader.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"ev": "garbage", "line": line}
            ev["rt"] = time.monotonic()
            with self.lock:
                self.events.append(ev)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> Optional[int]:
        """SIGTERM (the member commits if configured, closes and leaves), wait; SIGKILL
        if it does not exit within `timeout`."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._join_reader()
        self.exit_code = self.proc.returncode
        return self.exit_code

    def kill9(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.killed = True
        self._join_reader()
        self.exit_code = self.proc.returncode

    def _join_reader(self) -> None:
        if self.reader is not None:
            self.reader.join(10)

    def cleanup(self) -> None:
        """For `finally`: make sure the process is gone (SIGKILL)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self._join_reader()

    # ---- views -----------------------------------------------------------------------
    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.events)

    def of(self, *kinds: str) -> list[dict]:
        return [e for e in self.snapshot() if e["ev"] in kinds]

    @property
    def assignment(self) -> Optional[set]:
        """Current assignment per the last assign/revoke/lost event (None before any)."""
        evs = self.of("assign", "revoke", "lost")
        if not evs:
            return None
        return {tuple(x) if isinstance(x, list) else x for x in evs[-1]["current"]}

    @property
    def assigned_once(self) -> bool:
        return bool(self.of("assign"))

    def records(self) -> list[tuple]:
        out = []
        for e in self.of("recs"):
            out.extend(tuple(r) for r in e["r"])
        return out

    def commits(self) -> list[dict]:
        return self.of("commit")

    def member_id(self) -> Optional[str]:
        ids = [e.get("member") for e in self.of("assign") if e.get("member")]
        return ids[-1] if ids else None

    def stderr_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""

    def describe(self) -> str:
        evs = [{k: v for k, v in e.items() if k not in ("rt", "r")} for e in self.snapshot()
               if e["ev"] != "recs"]
        return (f"member {self.name} alive={self.alive()} assignment={self.assignment} "
                f"events={evs[-12:]} stderr={self.stderr_tail(10)!r}")

    def __repr__(self) -> str:
        return f"Member({self.name}, pid={self.proc.pid if self.proc else None})"


def converged(members: Iterable[Member], partitions: Iterable, require_all_nonempty: bool = True) -> bool:
    """Every member has an assignment, they are pairwise disjoint and cover `partitions`
    exactly; with require_all_nonempty each member holds at least one partition."""
    members = list(members)
    want = set(partitions)
    seen: set = set()
    for m in members:
        a = m.assignment
        if a is None:
            return False
        if require_all_nonempty and not a:
            return False
        if seen & a:
            return False
        seen |= a
    return seen == want


def describe_members(members: Iterable[Member]) -> str:
    return "\n".join(m.describe() for m in members)


def wait_converged(members: list[Member], partitions: Iterable, timeout: float, what: str = "",
                   settle: float = 1.0) -> dict[str, set]:
    """Wait until converged() holds and still holds `settle` seconds later."""
    parts = list(partitions)

    def ok():
        dead = [m for m in members if not m.alive()]
        if dead:
            raise AssertionError(f"member process exited while waiting for {what or 'convergence'}:\n"
                                 + describe_members(dead))
        if not converged(members, parts):
            return False
        time.sleep(settle)
        return converged(members, parts)

    wait_until(ok, timeout, what or f"{len(members)} members to split {len(parts)} partitions",
               interval=0.2, detail=lambda: describe_members(members))
    return {m.name: set(m.assignment or ()) for m in members}


# ---------------------------------------------------------------------------------------
# Raw group protocol (kafka_wire framing)
# ---------------------------------------------------------------------------------------

# Error codes
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82

FIND_COORDINATOR, JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 10, 11, 12, 13, 14
OFFSET_COMMIT, OFFSET_FETCH, DESCRIBE_GROUPS, LIST_GROUPS, DELETE_GROUPS = 8, 9, 15, 16, 42


def consumer_subscription(topics: list[str], version: int = 0) -> bytes:
    """ConsumerProtocolSubscription v0 bytes (version, topics, user_data null)."""
    w = Writer().int16(version).int32(len(topics))
    for t in topics:
        w.string(t)
    w.int32(-1)  # user_data null
    return w.bytes()


def consumer_assignment(assignment: dict[str, list[int]]) -> bytes:
    """ConsumerProtocolAssignment v0 bytes."""
    w = Writer().int16(0).int32(len(assignment))
    for t, parts in assignment.items():
        w.string(t).int32(len(parts))
        for p in parts:
            w.int32(p)
    w.int32(-1)
    return w.bytes()


def _bytes(w: Writer, b: Optional[bytes], flex: bool) -> None:
    if flex:
        if b is None:
            w.uvarint(0)
        else:
            w.uvarint(len(b) + 1).raw(b)
    else:
        if b is None:
            w.int32(-1)
        else:
            w.int32(len(b)).raw(b)


class GroupWire:
    """One connection to the broker with auto-incremented correlation ids."""

    def __init__(self, broker, client_id: str = "runnel-wire", timeout: float = 10.0) -> None:
        self.sock = kafka_wire.connect(broker.host, broker.port)
        self.client_id = client_id
        self.timeout = timeout
        self.corr = 0

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "GroupWire":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, api_key: int, version: int, body: bytes, timeout: Optional[float] = None) -> Reader:
        """Send one request; returns a Reader positioned after the response header."""
        self.corr += 1
        flex = kafka_wire.is_flexible(api_key, version)
        payload = kafka_wire.request_header(api_key, version, self.corr, self.client_id, flexible=flex) + body
        resp = kafka_wire.request(self.sock, payload, timeout or self.timeout)
        r = Reader(resp)
        corr = r.int32()
        assert corr == self.corr, f"correlation id {corr}, expected {self.corr}"
        if flex:
            r.tags()
        return r

    # ---- FindCoordinator -------------------------------------------------------------
    def find_coordinator(self, keys: list[str] | str, version: int = 2, key_type: int = 0) -> list[dict]:
        """Returns one dict per key: key, node_id, host, port, error_code, error_message."""
        flex = version >= 3
        w = Writer()
        if version >= 4:
            w.int8(key_type)
            keys = [keys] if isinstance(keys, str) else keys
            w.array_len(len(keys), True)
            for k in keys:
                w.compact_string(k)
        else:
            assert isinstance(keys, str)
            w.str_(keys, flex)
            if version >= 1:
                w.int8(key_type)
        if flex:
            w.tags()
        r = self.call(FIND_COORDINATOR, version, w.bytes())
        if version >= 1:
            r.int32()  # throttle
        if version >= 4:
            def coord():
                c = {"key": r.compact_string(), "node_id": r.int32(), "host": r.compact_string(),
                     "port": r.int32(), "error_code": r.int16(), "error_message": r.compact_string()}
                r.tags()
                return c
            out = r.array(True, coord) or []
            r.tags()
        else:
            c: dict[str, Any] = {"key": keys, "error_code": r.int16()}
            if version >= 1:
                c["error_message"] = r.str_(flex)
            c["node_id"] = r.int32()
            c["host"] = r.str_(flex)
            c["port"] = r.int32()
            if flex:
                r.tags()
            out = [c]
        assert r.at_end(), f"{r.remaining()} trailing bytes in FindCoordinator v{version} response"
        return out

    def wait_coordinator(self, group: str, timeout: float = 20.0) -> dict:
        """FindCoordinator v2 until it answers NONE (the offsets topic may still be loading)."""
        def ok():
            (c,) = self.find_coordinator(group, version=2)
            return c if c["error_code"] == 0 else None
        return wait_until(ok, timeout, f"coordinator for {group}", interval=0.2)

    # ---- JoinGroup -------------------------------------------------------------------
    def join_group(self, group: str, member_id: str = "", version: int = 5, session_timeout: int = 6000,
                   rebalance_timeout: int = 6000, instance_id: Optional[str] = None,
                   protocol_type: str = "consumer",
                   protocols: Optional[list[tuple[str, bytes]]] = None, topics: Optional[list[str]] = None,
                   reason: Optional[str] = None, timeout: Optional[float] = None) -> dict:
        flex = version >= 6
        if protocols is None:
            protocols = [("range", consumer_subscription(topics or ["t"]))]
        w = Writer().str_(group, flex).int32(session_timeout)
        if version >= 1:
            w.int32(rebalance_timeout)
        w.str_(member_id, flex)
        if version >= 5:
            w.str_(instance_id, flex)
        w.str_(protocol_type, flex)
        w.array_len(len(protocols), flex)
        for name, meta in protocols:
            w.str_(name, flex)
            _bytes(w, meta, flex)
            if flex:
                w.tags()
        if version >= 8:
            w.str_(reason, flex)
        if flex:
            w.tags()
        r = self.call(JOIN_GROUP, version, w.bytes(), timeout=timeout)
        out: dict[str, Any] = {}
        if version >= 2:
            out["throttle_time_ms"] = r.int32()
        out["error_code"] = r.int16()
        out["generation_id"] = r.int32()
        if version >= 7:
            out["protocol_type"] = r.str_(flex)
        out["protocol_name"] = r.str_(flex)
        out["leader"] = r.str_(flex)
        if version >= 9:
            out["skip_assignment"] = r.bool()
        out["member_id"] = r.str_(flex)

        def member():
            m = {"member_id": r.str_(flex)}
            if version >= 5:
                m["group_instance_id"] = r.str_(flex)
            m["metadata"] = r.bytes_(flex)
            if flex:
                r.tags()
            return m
        out["members"] = r.array(flex, member) or []
        if flex:
            r.tags()
        assert r.at_end(), f"{r.remaining()} trailing bytes in JoinGroup v{version} response"
        return out

    # ---- SyncGroup -------------------------------------------------------------------
    def sync_group(self, group: str, generation: int, member_id: str, version: int = 3,
                   assignments: Optional[dict[str, bytes]] = None, instance_id: Optional[str] = None,
                   protocol_type: Optional[str] = "consumer", protocol_name: Optional[str] = "range",
                   timeout: Optional[float] = None) -> dict:
        flex = version >= 4
        w = Writer().str_(group, flex).int32(generation).str_(member_id, flex)
        if version >= 3:
            w.str_(instance_id, flex)
        if version >= 5:
            w.str_(protocol_type, flex).str_(protocol_name, flex)
        assignments = assignments or {}
        w.array_len(len(assignments), flex)
        for mid, a in assignments.items():
            w.str_(mid, flex)
            _bytes(w, a, flex)
            if flex:
                w.tags()
        if flex:
            w.tags()
        r = self.call(SYNC_GROUP, version, w.bytes(), timeout=timeout)
        out: dict[str, Any] = {}
        if version >= 1:
            out["throttle_time_ms"] = r.int32()
        out["error_code"] = r.int16()
        if version >= 5:
            out["protocol_type"] = r.str_(flex)
            out["protocol_name"] = r.str_(flex)
        out["assignment"] = r.bytes_(flex)
        if flex:
            r.tags()
        assert r.at_end(), f"{r.remaining()} trailing bytes in SyncGroup v{version} response"
        return out

    # ---- Heartbeat -------------------------------------------------------------------
    def heartbeat(self, group: str, generation: int, member_id: str, version: int = 3,
                  instance_id: Optional[str] = None) -> int:
        flex = version >= 4
        w = Writer().str_(group, flex).int32(generation).str_(member_id, flex)
        if version >= 3:
            w.str_(instance_id, flex)
        if flex:
            w.tags()
        r = self.call(HEARTBEAT, version, w.bytes())
        if version >= 1:
            r.int32()
        code = r.int16()
        if flex:
            r.tags()
        assert r.at_end()
        return code

    # ---- LeaveGroup ------------------------------------------------------------------
    def leave_group(self, group: str, member_id: str = "", version: int = 3,
                    members: Optional[list[tuple[str, Optional[str]]]] = None) -> dict:
        flex = version >= 4
        w = Writer().str_(group, flex)
        if version <= 2:
            w.str_(member_id, flex)
        else:
            members = members if members is not None else [(member_id, None)]
            w.array_len(len(members), flex)
            for mid, iid in members:
                w.str_(mid, flex).str_(iid, flex)
                if version >= 5:
                    w.str_(None, flex)
                if flex:
                    w.tags()
        if flex:
            w.tags()
        r = self.call(LEAVE_GROUP, version, w.bytes())
        out: dict[str, Any] = {}
        if version >= 1:
            out["throttle_time_ms"] = r.int32()
        out["error_code"] = r.int16()
        if version >= 3:
            def member():
                m = {"member_id": r.str_(flex), "group_instance_id": r.str_(flex), "error_code": r.int16()}
                if flex:
                    r.tags()
                return m
            out["members"] = r.array(flex, member) or []
        if flex:
            r.tags()
        assert r.at_end()
        return out

    # ---- OffsetCommit ----------------------------------------------------------------
    def offset_commit(self, group: str, offsets: dict[tuple[str, int], tuple[int, Optional[str]]],
                      version: int = 7, generation: int = -1, member_id: str = "",
                      instance_id: Optional[str] = None, leader_epoch: int = -1) -> dict[tuple[str, int], int]:
        flex = version >= 8
        w = Writer().str_(group, flex)
        if version >= 1:
            w.int32(generation).str_(member_id, flex)
        if version >= 7:
            w.str_(instance_id, flex)
        if 2 <= version <= 4:
            w.int64(-1)  # retention_time_ms
        by_topic: dict[str, list] = {}
        for (t, p), (off, meta) in offsets.items():
            by_topic.setdefault(t, []).append((p, off, meta))
        w.array_len(len(by_topic), flex)
        for t, parts in by_topic.items():
            w.str_(t, flex)
            w.array_len(len(parts), flex)
            for p, off, meta in parts:
                w.int32(p).int64(off)
                if version >= 6:
                    w.int32(leader_epoch)
                if version == 1:
                    w.int64(-1)
                w.str_(meta, flex)
                if flex:
                    w.tags()
            if flex:
                w.tags()
        if flex:
            w.tags()
        r = self.call(OFFSET_COMMIT, version, w.bytes())
        if version >= 3:
            r.int32()
        out = {}

        def topic():
            name = r.str_(flex)

            def part():
                p, code = r.int32(), r.int16()
                if flex:
                    r.tags()
                out[(name, p)] = code
            r.array(flex, part)
            if flex:
                r.tags()
        r.array(flex, topic)
        if flex:
            r.tags()
        assert r.at_end()
        return out

    # ---- OffsetFetch -----------------------------------------------------------------
    def offset_fetch(self, group: str, partitions: Optional[dict[str, list[int]]], version: int = 5,
                     require_stable: bool = False) -> dict:
        """v1-7: {"error_code", "partitions": {(topic, p): {...}}}; v8: same for the one group
        (plus "groups" with every group's raw result when several are asked via offset_fetch_v8)."""
        if version >= 8:
            res = self.offset_fetch_groups({group: partitions}, version=version, require_stable=require_stable)
            return res[group]
        flex = version >= 6
        w = Writer().str_(group, flex)
        if partitions is None:
            w.array_len(None, flex)
        else:
            w.array_len(len(partitions), flex)
            for t, parts in partitions.items():
                w.str_(t, flex)
                w.array_len(len(parts), flex)
                for p in parts:
                    w.int32(p)
                if flex:
                    w.tags()
        if version >= 7:
            w.bool(require_stable)
        if flex:
            w.tags()
        r = self.call(OFFSET_FETCH, version, w.bytes())
        out: dict[str, Any] = {}
        if version >= 3:
            out["throttle_time_ms"] = r.int32()
        out["partitions"] = self._offset_fetch_topics(r, version, flex)
        if version >= 2:
            out["error_code"] = r.int16()
        if flex:
            r.tags()
        assert r.at_end(), f"{r.remaining()} trailing bytes in OffsetFetch v{version} response"
        return out

    @staticmethod
    def _offset_fetch_topics(r: Reader, version: int, flex: bool) -> dict:
        parts: dict[tuple[str, int], dict] = {}

        def topic():
            name = r.str_(flex)

            def part():
                p = {"partition": r.int32(), "offset": r.int64()}
                if version >= 5:
                    p["leader_epoch"] = r.int32()
                p["metadata"] = r.str_(flex)
                p["error_code"] = r.int16()
                if flex:
                    r.tags()
                parts[(name, p["partition"])] = p
            r.array(flex, part)
            if flex:
                r.tags()
        r.array(flex, topic)
        return parts

    def offset_fetch_groups(self, groups: dict[str, Optional[dict[str, list[int]]]], version: int = 8,
                            require_stable: bool = False) -> dict[str, dict]:
        assert version >= 8
        w = Writer()
        w.array_len(len(groups), True)
        for g, partitions in groups.items():
            w.compact_string(g)
            if partitions is None:
                w.array_len(None, True)
            else:
                w.array_len(len(partitions), True)
                for t, parts in partitions.items():
                    w.compact_string(t)
                    w.array_len(len(parts), True)
                    for p in parts:
                        w.int32(p)
                    w.tags()
            w.tags()
        w.bool(require_stable)
        w.tags()
        r = self.call(OFFSET_FETCH, version, w.bytes())
        r.int32()
        out: dict[str, dict] = {}

        def group():
            gid = r.compact_string()
            parts = self._offset_fetch_topics(r, version, True)
            code = r.int16()
            r.tags()
            out[gid] = {"partitions": parts, "error_code": code}
        r.array(True, group)
        r.tags()
        assert r.at_end(), f"{r.remaining()} trailing bytes in OffsetFetch v{version} response"
        return out

    def offset_fetch_loaded(self, group: str, partitions: Optional[dict[str, list[int]]], version: int = 7,
                            timeout: float = 20.0) -> dict:
        """offset_fetch, retried while the coordinator answers COORDINATOR_LOAD_IN_PROGRESS
        (a restarted broker reads `__consumer_offsets` back first); returns the last answer
        plus "load_retries" and "load_wait_s"."""
        t0 = time.monotonic()
        retries = 0
        while True:
            out = self.offset_fetch(group, partitions, version=version)
            if out.get("error_code", 0) != COORDINATOR_LOAD_IN_PROGRESS or time.monotonic() - t0 > timeout:
                out["load_retries"] = retries
                out["load_wait_s"] = time.monotonic() - t0
                return out
            retries += 1
            time.sleep(0.1)

    # ---- DescribeGroups / ListGroups / DeleteGroups ------------------------------------
    def describe_groups(self, groups: list[str], version: int = 4) -> list[dict]:
        flex = version >= 5
        w = Writer()
        w.array_len(len(groups), flex)
        for g in groups:
            w.str_(g, flex)
        if version >= 3:
            w.bool(False)
        if flex:
            w.tags()
        r = self.call(DESCRIBE_GROUPS, version, w.bytes())
        if version >= 1:
            r.int32()

        def member():
            m = {"member_id": r.str_(flex)}
            if version >= 4:
                m["group_instance_id"] = r.str_(flex)
            m["client_id"] = r.str_(flex)
            m["client_host"] = r.str_(flex)
            m["metadata"] = r.bytes_(flex)
            m["assignment"] = r.bytes_(flex)
            if flex:
                r.tags()
            return m

        def group():
            g = {"error_code": r.int16(), "group_id": r.str_(flex), "state": r.str_(flex),
                 "protocol_type": r.str_(flex), "protocol_data": r.str_(flex),
                 "members": r.array(flex, member) or []}
            if version >= 3:
                g["authorized_operations"] = r.int32()
            if flex:
                r.tags()
            return g
        out = r.array(flex, group) or []
        if flex:
            r.tags()
        assert r.at_end(), f"{r.remaining()} trailing bytes in DescribeGroups v{version} response"
        return out

    def list_groups(self, version: int = 4, states: Optional[list[str]] = None) -> dict:
        flex = version >= 3
        w = Writer()
        if version >= 4:
            states = states or []
            w.array_len(len(states), True)
            for s in states:
                w.compact_string(s)
        if flex:
            w.tags()
        r = self.call(LIST_GROUPS, version, w.bytes())
        out: dict[str, Any] = {}
        if version >= 1:
            out["throttle_time_ms"] = r.int32()
        out["error_code"] = r.int16()

        def group():
            g = {"group_id": r.str_(flex), "protocol_type": r.str_(flex)}
            if version >= 4:
                g["state"] = r.str_(flex)
            if flex:
                r.tags()
            return g
        out["groups"] = r.array(flex, group) or []
        if flex:
            r.tags()
        assert r.at_end()
        return out

    def delete_groups(self, groups: list[str], version: int = 1) -> dict[str, int]:
        flex = version >= 2
        w = Writer()
        w.array_len(len(groups), flex)
        for g in groups:
            w.str_(g, flex)
        if flex:
            w.tags()
        r = self.call(DELETE_GROUPS, version, w.bytes())
        r.int32()
        out = {}

        def res():
            g, code = r.str_(flex), r.int16()
            if flex:
                r.tags()
            out[g] = code
        r.array(flex, res)
        if flex:
            r.tags()
        assert r.at_end()
        return out


def decode_assignment(b: Optional[bytes]) -> dict[str, list[int]]:
    """ConsumerProtocolAssignment (any version) -> {topic: [partitions]}."""
    if not b:
        return {}
    r = Reader(b)
    r.int16()
    out = {}
    for _ in range(r.int32()):
        t = r.string()
        out[t] = [r.int32() for _ in range(r.int32())]
    return out

