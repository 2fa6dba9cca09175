#!/usr/bin/env python3
"""Capture real client request frames as test fixtures (a tool, not a test).

Starts a runnel broker with a recording TCP proxy in front of it (the broker
advertises the proxy's port, so clients that reconnect to the advertised address
still go through the proxy), then drives three real clients through it:

  kcat            client id "kcat-fixture":         -P one record to fixture-topic/0,
                                                     then -C -o beginning -e -c 1
  kafka-python    client_id "kafka-python-fixture":  KafkaProducer(acks=1, request_timeout_ms=30000,
                                                     enable_idempotence=False), one record;
                                                     KafkaConsumer with assign()
  confluent-kafka client.id "confluent-fixture":    Producer(acks=-1, message.timeout.ms=30000,
                                                     request.timeout.ms=30000), one record;
                                                     AdminClient.list_topics(); Consumer with assign()

Every request frame (the bytes after the 4-byte size prefix) is decoded with
kafka_wire.py; the first one per (client, api, version) is written to

  Tests/KafkaProtocolTests/Fixtures/requests/<client>-<api>-v<version>-0.bin

(Metadata: one file per topic-list shape -- all/none/named -- numbered -0, -1, ...)
plus index.json describing each file (header fields, and for Produce / Fetch /
Metadata the interesting body fields), cross-checked against the configured client
settings. Exit status 1 if any cross-check fails (the files are still written).

Usage:  RUNNEL_BIN=.build/debug/runnel .venv/bin/python Tests/Interop/capture_fixtures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import kafka_wire  # noqa: E402
from harness import Broker, free_port  # noqa: E402
from tcp_proxy import RecordingProxy  # noqa: E402

REPO = HERE.parents[1]
DEFAULT_OUT = REPO / "Tests" / "KafkaProtocolTests" / "Fixtures" / "requests"
TOPIC = "fixture-topic"
PARTITION = 0

# What each client is configured with, and what its requests must therefore say.
CLIENTS: dict[str, dict[str, Any]] = {
    "kcat": {"client_id": "kcat-fixture", "acks": -1, "timeout_ms": 30000,
             "max_wait_ms": 500, "min_bytes": 1,
             "key": b"kcat-key", "value": b"fixture message from kcat"},
    "kafka-python": {"client_id": "kafka-python-fixture", "acks": 1, "timeout_ms": 30000,
                     "max_wait_ms": 500, "min_bytes": 1,
                     "key": b"kafka-python-key", "value": b"fixture message from kafka-python"},
    "confluent-kafka": {"client_id": "confluent-fixture", "acks": -1, "timeout_ms": 30000,
                        "max_wait_ms": 500, "min_bytes": 1,
                        "key": b"confluent-key", "value": b"fixture message from confluent-kafka"},
}


# ------------------------------------------------------------------------------ drivers

def drive_kcat(bootstrap: str, cfg: dict) -> None:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if not kcat:
        raise RuntimeError("kcat not installed")
    common = [kcat, "-b", bootstrap, "-X", f"client.id={cfg['client_id']}"]
    line = cfg["key"] + b":" + cfg["value"] + b"\n"
    subprocess.run(common + ["-P", "-t", TOPIC, "-p", str(PARTITION), "-K:",
                             "-X", "acks=-1", "-X", f"request.timeout.ms={cfg['timeout_ms']}",
                             "-X", f"message.timeout.ms={cfg['timeout_ms']}"],
                   input=line, check=True, timeout=60)
    out = subprocess.run(common + ["-C", "-t", TOPIC, "-p", str(PARTITION), "-o", "beginning",
                                   "-e", "-c", "1", "-q", "-f", "%s\n",
                                   "-X", f"fetch.wait.max.ms={cfg['max_wait_ms']}",
                                   "-X", f"fetch.min.bytes={cfg['min_bytes']}"],
                         stdout=subprocess.PIPE, check=True, timeout=60)
    if out.stdout.strip() != cfg["value"]:
        raise RuntimeError(f"kcat consumed {out.stdout!r}")


def drive_kafka_python(bootstrap: str, cfg: dict) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    p = KafkaProducer(bootstrap_servers=bootstrap, client_id=cfg["client_id"], acks=cfg["acks"],
                      request_timeout_ms=cfg["timeout_ms"], enable_idempotence=False)
    try:
        md = p.send(TOPIC, key=cfg["key"], value=cfg["value"], partition=PARTITION).get(timeout=30)
    finally:
        p.close(timeout=10)
    c = KafkaConsumer(bootstrap_servers=bootstrap, client_id=cfg["client_id"], group_id=None,
                      enable_auto_commit=False, fetch_max_wait_ms=cfg["max_wait_ms"],
                      fetch_min_bytes=cfg["min_bytes"], request_timeout_ms=cfg["timeout_ms"])
    try:
        tp = TopicPartition(TOPIC, PARTITION)
        c.assign([tp])
        c.seek_to_beginning(tp)
        deadline = time.monotonic() + 30
        values = []
        while time.monotonic() < deadline and cfg["value"] not in values:
            for recs in c.poll(timeout_ms=500).values():
                values += [r.value for r in recs]
        if cfg["value"] not in values:
            raise RuntimeError(f"kafka-python did not read back its record (offset {md.offset})")
    finally:
        c.close()


def drive_confluent(bootstrap: str, cfg: dict) -> None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    p = Producer({"bootstrap.servers": bootstrap, "client.id": cfg["client_id"],
                  "acks": cfg["acks"], "message.timeout.ms": cfg["timeout_ms"],
                  "request.timeout.ms": cfg["timeout_ms"]})
    errs: list = []
    p.produce(TOPIC, key=cfg["key"], value=cfg["value"], partition=PARTITION,
              on_delivery=lambda err, msg: errs.append(err))
    if p.flush(30) != 0 or errs != [None]:
        raise RuntimeError(f"confluent produce failed: {errs}")
    # AdminClient.list_topics() asks for all topics (Metadata with a null topic list)
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": bootstrap, "client.id": cfg["client_id"]}).list_topics(timeout=10)
    except Exception as e:  # noqa: BLE001  (captured either way; the request is what matters)
        print(f"   note: AdminClient.list_topics() failed: {e}")
    c = Consumer({"bootstrap.servers": bootstrap, "client.id": cfg["client_id"],
                  "group.id": "confluent-fixture", "enable.auto.commit": False,
                  "fetch.wait.max.ms": cfg["max_wait_ms"], "fetch.min.bytes": cfg["min_bytes"]})
    try:
        c.assign([TopicPartition(TOPIC, PARTITION, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 30
        values = []
        while time.monotonic() < deadline and cfg["value"] not in values:
            m = c.poll(0.5)
            if m is not None and not m.error():
                values.append(m.value())
        if cfg["value"] not in values:
            raise RuntimeError("confluent consumer did not read back its record")
    finally:
        c.close()


DRIVERS = {"kcat": drive_kcat, "kafka-python": drive_kafka_python,
           "confluent-kafka": drive_confluent}


# ------------------------------------------------------------------------------ describe

def describe(client: str, payload: bytes) -> dict[str, Any]:
    req = kafka_wire.parse_request(payload)
    entry: dict[str, Any] = {
        "client": client,
        "api_key": req["api_key"],
        "api_name": req["api_name"],
        "api_version": req["api_version"],
        "correlation_id": req["correlation_id"],
        "client_id": req["client_id"],
        "flexible": req["flexible"],
        "size": len(payload),
    }
    body = req.get("body")
    if body is None:
        return entry
    entry["body_trailing_bytes"] = req["body_trailing"]
    k = req["api_key"]
    if k == 0 and body["topics"] and body["topics"][0]["partitions"]:
        t = body["topics"][0]
        p = t["partitions"][0]
        entry.update(acks=body["acks"], timeout_ms=body["timeout_ms"],
                     transactional_id=body["transactional_id"],
                     topic=t["topic"], partition=p["partition"],
                     records_size=p["records_size"])
        if p["batches"]:
            b = p["batches"][0]
            entry.update(batch_count=len(p["batches"]), record_count=b["record_count"],
                         compression=b["compression"], producer_id=b["producer_id"],
                         base_sequence=b["base_sequence"], crc_ok=b.get("crc_ok"))
            recs = b.get("records") or []
            if recs:
                entry.update(first_key=_text(recs[0]["key"]), first_value=_text(recs[0]["value"]),
                             first_timestamp=recs[0]["timestamp"])
    elif k == 1 and body["topics"] and body["topics"][0]["partitions"]:
        t = body["topics"][0]
        p = t["partitions"][0]
        entry.update(max_wait_ms=body["max_wait_ms"], min_bytes=body["min_bytes"],
                     max_bytes=body["max_bytes"], isolation_level=body["isolation_level"],
                     session_id=body.get("session_id"), session_epoch=body.get("session_epoch"),
                     topic=t["topic"], partition=p["partition"], fetch_offset=p["fetch_offset"],
                     partition_max_bytes=p["partition_max_bytes"])
    elif k == 2 and body["topics"] and body["topics"][0]["partitions"]:
        t = body["topics"][0]
        p = t["partitions"][0]
        entry.update(isolation_level=body.get("isolation_level"), topic=t["topic"],
                     partition=p["partition"], timestamp=p["timestamp"])
    elif k == 3:
        entry["topics"] = body["topics"]
        if "allow_auto_topic_creation" in body:
            entry["allow_auto_topic_creation"] = body["allow_auto_topic_creation"]
    elif k == 18:
        entry.update(body)
    return entry


def _topics_shape(topics) -> str:
    if topics is None:
        return "all"
    return "none" if topics == [] else "named"


def _text(b):
    return None if b is None else b.decode("utf-8", errors="replace")


def cross_check(entry: dict[str, Any], cfg: dict) -> list[str]:
    problems = []

    def want(field, expected):
        if entry.get(field) != expected:
            problems.append(f"{field}={entry.get(field)!r}, expected {expected!r}")

    want("client_id", cfg["client_id"])
    # Trailing bytes after the schema'd body are reported in index.json
    # (body_trailing_bytes) but are not a failure: librdkafka >= 2.x sends 3 extra
    # bytes in its "all topics" Metadata v12 request and Kafka ignores them.
    if entry["api_key"] == 0:
        want("acks", cfg["acks"])
        want("timeout_ms", cfg["timeout_ms"])
        want("topic", TOPIC)
        want("partition", PARTITION)
        want("first_value", cfg["value"].decode())
        want("first_key", cfg["key"].decode())
        if entry.get("crc_ok") is False:
            problems.append("record batch CRC-32C mismatch")
    elif entry["api_key"] == 2:
        want("topic", TOPIC)
        want("partition", PARTITION)
        want("timestamp", -2)  # every driver starts from the beginning (EARLIEST)
    elif entry["api_key"] == 1:
        want("max_wait_ms", cfg["max_wait_ms"])
        want("min_bytes", cfg["min_bytes"])
        want("topic", TOPIC)
        want("partition", PARTITION)
        want("fetch_offset", 0)
    return problems


# ------------------------------------------------------------------------------ main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--clients", default=",".join(CLIENTS),
                    help="comma-separated subset of: " + ", ".join(CLIENTS))
    ap.add_argument("--keep", action="store_true", help="keep the broker's temp dir")
    args = ap.parse_args()

    clients = [c for c in args.clients.split(",") if c]
    work = Path(tempfile.mkdtemp(prefix="runnel-capture-"))
    bport = free_port()
    proxy = RecordingProxy(target_port=bport).start()
    broker = Broker(work, port=bport, advertised_port=proxy.port, name="capture-broker")
    captured: list[tuple[str, bytes]] = []
    failures: list[str] = []
    try:
        broker.start()
        print(f"broker on 127.0.0.1:{bport}, proxy (advertised) on 127.0.0.1:{proxy.port}")
        for client in clients:
            proxy.clear()
            print(f"-- driving {client}")
            try:
                DRIVERS[client](f"127.0.0.1:{proxy.port}", CLIENTS[client])
            except Exception as e:  # noqa: BLE001
                failures.append(f"{client}: driver failed: {e!r}")
            time.sleep(0.3)  # let the last frames pass through the proxy
            reqs = proxy.requests()
            print(f"   {len(reqs)} request frames")
            captured += [(client, f.payload) for f in reqs]
    finally:
        proxy.stop()
        broker.stop()
        if failures:
            print("---- broker stderr tail ----")
            print(broker.tail(60))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    args.out.mkdir(parents=True, exist_ok=True)
    for old in list(args.out.glob("*.bin")) + [args.out / "index.json"]:
        if old.exists():
            old.unlink()

    seen: set[tuple] = set()
    counters: dict[tuple[str, int, int], int] = {}
    index = []
    for client, payload in captured:
        try:
            entry = describe(client, payload)
        except Exception as e:  # noqa: BLE001
            failures.append(f"{client}: cannot decode a frame ({e!r}): {payload[:32].hex()}")
            continue
        base = (client, entry["api_key"], entry["api_version"])
        # Metadata: keep one frame per topic-list shape (null = all, [] = none, names)
        shape = _topics_shape(entry.get("topics", "-")) if entry["api_key"] == 3 else None
        if base + (shape,) in seen:
            continue
        seen.add(base + (shape,))
        n = counters.get(base, 0)
        counters[base] = n + 1
        name = f"{client}-{entry['api_name'].lower()}-v{entry['api_version']}-{n}.bin"
        (args.out / name).write_bytes(payload)
        entry = {"file": name, **entry}
        problems = cross_check(entry, CLIENTS[client])
        entry["cross_check"] = "ok" if not problems else problems
        failures += [f"{name}: {p}" for p in problems]
        index.append(entry)

    for client in clients:
        for api, label in ((0, "Produce"), (1, "Fetch"), (3, "Metadata"), (18, "ApiVersions")):
            if not any(e["client"] == client and e["api_key"] == api for e in index):
                failures.append(f"{client}: no {label} request captured")

    (args.out / "index.json").write_text(json.dumps(
        {"generated_by": "Tests/Interop/capture_fixtures.py",
         "description": "First request frame (bytes after the int32 size prefix) per "
                        "(client, api, version), captured from real clients talking to runnel.",
         "topic": TOPIC,
         "clients": {c: {k: (v.decode() if isinstance(v, bytes) else v)
                         for k, v in CLIENTS[c].items()} for c in clients},
         "files": index}, indent=2, sort_keys=False) + "\n")

    for e in index:
        extra = {k: e[k] for k in ("acks", "timeout_ms", "max_wait_ms", "min_bytes", "fetch_offset", "timestamp",
                                   "topics", "compression", "record_count") if k in e}
        print(f"{e['file']:<48} corr={e['correlation_id']:<4} {extra} {'' if e['cross_check'] == 'ok' else e['cross_check']}")
    print(f"wrote {len(index)} fixtures + index.json to {args.out}")
    if failures:
        print("CROSS-CHECK FAILURES:")
        for f in failures:
            print("  " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
