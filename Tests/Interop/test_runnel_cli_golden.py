"""Golden output of every `runnel` client subcommand, errors included.

Each case runs one command against a fresh broker and compares its normalised stdout, stderr
and exit status with golden/cli/<case>.txt. Addresses, cluster ids, member ids, timestamps and
measured numbers are replaced by placeholders. Regenerate with RUNNEL_UPDATE_GOLDEN=1 after an
intended change, and review the diff."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from interop_util import CK_COMMON
from runnel_cli import runnel

GOLDEN = Path(__file__).parent / "golden" / "cli"
FAST = ["-X", "request.timeout.ms=5000"]

# (case name, arguments, stdin). Run in this order against one broker: later cases see the
# topics and groups earlier ones made.
CASES: list[tuple[str, list[str], bytes | None]] = [
    ("topic-create", ["topic", "create", "orders", "--partitions", "3", "--config", "retention.ms=86400000"], None),
    ("topic-create-exists", ["topic", "create", "orders"], None),
    ("topic-create-if-not-exists", ["topic", "create", "orders", "--if-not-exists"], None),
    ("topic-create-bad-config", ["topic", "create", "bad", "--config", "cleanup.policy=nope"], None),
    ("topic-list", ["topic", "list"], None),
    ("topic-describe", ["topic", "describe", "orders"], None),
    ("topic-describe-unknown", ["topic", "describe", "nosuch"], None),
    ("topic-alter", ["topic", "alter", "orders", "--partitions", "4", "--config", "retention.ms=3600000"], None),
    ("topic-alter-shrink", ["topic", "alter", "orders", "--partitions", "2"], None),
    ("topic-alter-nothing", ["topic", "alter", "orders"], None),
    ("produce", ["produce", "orders", "--key-separator", ":", "--header", "source=golden", "--partition", "0"],
     b"k1:first\nk2:second\nno key here\n"),
    ("produce-verbose", ["produce", "orders", "--partition", "1", "--verbose", "--compression", "zstd"], b"a\nb\n"),
    ("produce-unknown-topic", ["produce", "nosuch"], b"x\n"),
    ("produce-bad-compression", ["produce", "orders", "--compression", "brotli"], b""),
    ("produce-bad-property", ["produce", "orders", "-X", "linger.msec=5"], b""),
    ("consume", ["consume", "orders", "--partition", "0", "--from-beginning", "-e"], None),
    ("consume-format", ["consume", "orders", "--from-beginning", "-e", "--format", "%t/%p/%o key=%k value=%s headers=%h\\n"], None),
    ("consume-json", ["consume", "orders", "--partition", "0", "--offset", "1", "--max-messages", "1", "--output", "json"], None),
    ("consume-bad-offset", ["consume", "orders", "--offset", "soon"], None),
    ("consume-bad-format", ["consume", "orders", "-e", "--format", "%q"], None),
    ("consume-unknown-partition", ["consume", "orders", "--partition", "9", "-e"], None),
    ("consume-group", ["consume", "orders", "--group", "golden", "--from-beginning", "-e", "--format", "%p:%o\\n"], None),
    ("group-list", ["group", "list"], None),
    ("group-describe", ["group", "describe", "golden"], None),
    ("group-describe-unknown", ["group", "describe", "nosuch"], None),
    ("group-reset-dry-run", ["group", "reset-offsets", "golden", "--topic", "orders", "--to-earliest"], None),
    ("group-reset-execute", ["group", "reset-offsets", "golden", "--topic", "orders", "--to-offset", "1", "--execute"], None),
    ("group-reset-no-target", ["group", "reset-offsets", "golden", "--topic", "orders"], None),
    ("group-describe-after-reset", ["group", "describe", "golden"], None),
    ("group-delete-active", ["group", "delete", "held"], None),
    ("group-delete", ["group", "delete", "golden"], None),
    ("group-delete-unknown", ["group", "delete", "golden"], None),
    ("cluster-describe", ["cluster", "describe"], None),
    ("perf-produce", ["perf", "produce", "--topic", "orders", "--num-records", "2000", "--record-size", "64"], None),
    ("perf-produce-json", ["perf", "produce", "--topic", "orders", "--num-records", "500", "--output", "json"], None),
    ("perf-consume", ["perf", "consume", "--topic", "orders", "--num-records", "2000"], None),
    ("perf-e2e", ["perf", "e2e", "--topic", "orders", "--num-records", "500", "--throughput", "1000"], None),
    ("topic-delete-records", ["topic", "delete-records", "orders", "--partition", "0", "--before", "1"], None),
    ("consume-after-delete-records", ["consume", "orders", "--partition", "0", "--from-beginning", "--max-messages", "1",
                                      "--format", "%p@%o %s\\n"], None),
    ("topic-delete-records-past-end", ["topic", "delete-records", "orders", "--partition", "0", "--before", "999999999"], None),
    ("topic-delete-records-no-target", ["topic", "delete-records", "orders"], None),
    ("topic-delete", ["topic", "delete", "orders"], None),
    ("topic-delete-unknown", ["topic", "delete", "orders"], None),
    ("user-set-password", ["user", "set-password", "carol", "--mechanism", "SCRAM-SHA-512", "--iterations", "8192"],
     b"carol-secret\n"),
    ("user-set-password-256", ["user", "set-password", "carol", "--mechanism", "SCRAM-SHA-256", "--password", "pw"], None),
    ("user-set-password-bad-iterations", ["user", "set-password", "carol", "--iterations", "100"], b"x\n"),
    ("user-set-password-plain", ["user", "set-password", "carol", "--mechanism", "PLAIN"], b"x\n"),
    ("user-describe", ["user", "describe"], None),
    ("user-describe-unknown", ["user", "describe", "ghost"], None),
    ("user-delete", ["user", "delete", "carol", "--mechanism", "SCRAM-SHA-256"], None),
    ("user-delete-unknown", ["user", "delete", "carol", "--mechanism", "SCRAM-SHA-256"], None),
    ("user-describe-after-delete", ["user", "describe", "carol"], None),
    ("unreachable", ["topic", "list", "--bootstrap-server", "127.0.0.1:1"], None),
]


def normalise(text: str, bootstrap: str, perf: bool) -> str:
    text = text.replace(bootstrap, "<BOOTSTRAP>")
    text = re.sub(r"Cluster ID: \S+", "Cluster ID: <CLUSTER-ID>", text)
    text = re.sub(r'"timestamp":\d+', '"timestamp":<TS>', text)
    if perf:  # measured numbers vary; field names and the line shapes do not
        text = re.sub(r"^(\w+): [-\d.]+$", r"\1: <N>", text, flags=re.M)
        text = re.sub(r'":[-\d.]+', '":<N>', text)
        # How many progress lines there are depends on the speed; test_perf_progress_line checks them.
        text = re.sub(r"^\d+ records (sent|received), .*\n", "", text, flags=re.M)
    return text


@pytest.fixture(scope="module")
def golden_broker(module_broker_factory):
    return module_broker_factory({"group.initial.rebalance.delay.ms": 0})


@pytest.fixture(scope="module")
def held_group(golden_broker):
    """A group with an active confluent-kafka member, for the NON_EMPTY_GROUP error."""
    from confluent_kafka.admin import AdminClient

    c = Consumer({**CK_COMMON, "bootstrap.servers": golden_broker.bootstrap, "group.id": "held",
                  "session.timeout.ms": 30000})
    c.subscribe(["orders"])
    admin = AdminClient({"bootstrap.servers": golden_broker.bootstrap})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        c.poll(0.2)  # the member joins while it polls
        if admin.describe_consumer_groups(["held"])["held"].result(10).members:
            break
    yield c
    c.close()


@pytest.mark.parametrize("name,args,stdin", CASES, ids=[c[0] for c in CASES])
def test_golden(golden_broker, name, args, stdin, request):
    if name == "group-delete-active":
        request.getfixturevalue("held_group")
    bootstrap = golden_broker.bootstrap
    explicit = "--bootstrap-server" in args
    cp = runnel(None if explicit else bootstrap, *args, *(FAST if args[0] not in ("perf",) else []),
                input=stdin, check=False, timeout=120)
    shown = "runnel " + " ".join(args)
    actual = normalise(f"$ {shown}\n[stdout]\n{cp.stdout.decode()}[stderr]\n{cp.stderr.decode()}[exit {cp.returncode}]\n",
                       bootstrap, perf=args[0] == "perf")
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("RUNNEL_UPDATE_GOLDEN"):
        path.write_text(actual)
    assert path.exists(), f"no golden file {path}; run with RUNNEL_UPDATE_GOLDEN=1 and review it"
    assert actual == path.read_text()


def test_perf_progress_line(golden_broker):
    """A paced run of 2.5 s prints a progress line each second to stderr."""
    runnel(golden_broker.bootstrap, "topic", "create", "paced", "--if-not-exists")
    cp = runnel(golden_broker.bootstrap, "perf", "produce", "--topic", "paced", "--num-records", "2500",
                "--throughput", "1000")
    lines = cp.stderr.decode().splitlines()
    assert len(lines) >= 2
    pattern = re.compile(r"^\d+ records sent, [\d.]+ records/s \([\d.]+ MB/s\), latency p50 [\d.]+ ms, "
                         r"p99 [\d.]+ ms, max [\d.]+ ms$")
    assert all(pattern.match(line) for line in lines), lines
