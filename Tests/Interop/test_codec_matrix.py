"""The client x codec interop matrix: every producer client x every codec it supports writes one
fixed record set into its own topic (one topic per cell), `runnel log dump` proves the stored
batches carry that codec, a timestamp lookup (ListOffsets for timestamp 0) finds offset 0, then
every consumer client reads every topic and must get the records back byte for byte (keys,
values, header names and values, order, offsets 0..n-1, and the producer's timestamps).

One broker serves the module. Producing is lazy and memoised per cell (test_produce runs first
and does it; a consume cell selected on its own with -k produces what it needs), and each
consumer client reads all topics once (one process per topic for kcat and the Go programs, one
consumer assigned to every topic for the Python clients), so a cell failure names the producer,
the codec and the consumer while the whole file stays well under two minutes.

Clients and what they can do (checked against their sources and against this broker):

  producer          none gzip snappy lz4 zstd   record limits (compared only where expressible)
  kcat 1.7.1        yes  yes  yes    yes yes    -H applies to every message of a run and comes
   (librdkafka                                  from argv: no null header value, no NUL byte in
    2.0.2)                                      a header value; -Z turns every empty key/value
                                                of a run into null (see RUNS below); no way to
                                                set a record's timestamp (noTs: not compared)
  confluent-kafka   yes  yes  yes    yes yes    none
   2.16.1
  kafka-python      yes  yes  yes    yes yes    no null header value (send() wants (str, bytes))
   3.0.12
  aiokafka 0.14.0   yes  yes  yes    yes yes    none
  sarama 1.22.1     yes  yes  yes    yes REFUSED  zstd goes out in Produce v3 (its newest); zstd
   (Debian)                                     needs Produce >= 7 (KIP-110), so the broker
                                                answers UNSUPPORTED_COMPRESSION_TYPE, as Kafka
  kafka-go 0.2.1    yes  yes  yes    yes -      message format v1 only (Produce v2 with magic 1
   (Debian)         (no zstd codec at all)      messages, Fetch v2): keys, values and timestamps
                                                but no headers (noHdrs). The broker up-converts
                                                its message sets into one magic-2 batch with
                                                kafka-go's codec, as Kafka 3.x did

  consumer          reads                          refused
  kcat -J           everything (null vs empty,     -
                    null header values, binary:
                    control bytes as \\u00XX, the
                    rest raw -> decoded as latin-1)
  confluent-kafka, kafka-python, aiokafka, sarama  everything
  sarama            zstd topics: Fetch v4 < v10 -> UNSUPPORTED_COMPRESSION_TYPE (as Kafka)
  kafka-go          Fetch v2: the broker down-converts to magic 1 messages, so keys, values and
                    timestamps but no headers; kafka-go 0.2.1 reads an empty key or value as
                    nil, so empty and null are compared as equal (consumer tag noHdrs-emptyIsNull).
                    zstd topics: Fetch v2 < v10 -> UNSUPPORTED_COMPRESSION_TYPE (as Kafka)

Refusals are asserted (error text, nothing stored), not skipped: their ids end in -REFUSED.
The only skip is kafka-go x zstd (no such codec in kafka-go 0.2.1), and the Go cells when `go`
is not installed. Ids carry the producer's record limits (e.g. `kcat-gzip-noNullHdr-noNulByteHdr-noTs`)
and, after `>`, the consumer's (e.g. `kafka-go-noHdrs-emptyIsNull`).

The timestamp lookup (test_timestamp_lookup, one per producer cell) asks confluent-kafka's
offsets_for_times for timestamp 0 and must get offset 0: sarama 1.22 writes batches whose max
timestamp is -1, which the broker recomputes from the records (AppendPolicy, as Kafka's
LogValidator does); kafka-go's batches are built by the broker's up-conversion.

Every client except sarama sends a batch uncompressed when compressing does not make it smaller,
so each producer run (one batch) holds a multi-KB compressible value; producers linger long enough
for their run to become one batch.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Optional

import pytest

from interop_util import CK_COMMON, KCAT_FAST, kcat_path, kp_consumer, kp_producer
from storage_util import ck_admin, ck_produce, ck_producer, partition_dir

GO_DIR = Path(__file__).resolve().parent / "go"
GO_PROGRAMS = {"sarama": "sarama_client", "kafka-go": "kafkago_client"}

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
PRODUCERS = ["kcat", "confluent-kafka", "kafka-python", "aiokafka", "sarama", "kafka-go"]
CONSUMERS = list(PRODUCERS)

CONSUME_TIMEOUT_S = 20.0


# ---------------------------------------------------------------------------------------
# The record set
# ---------------------------------------------------------------------------------------


class Rec(NamedTuple):
    key: Optional[bytes]
    value: Optional[bytes]
    headers: tuple  # ((name: str, value: bytes | None), ...)


def _text(size: int, seed: int) -> bytes:
    """Deterministic, compressible, not trivially repetitive text."""
    words = ["runnel", "kafka", "batch", "codec", "matrix", "interop", "record", "header",
             "offset", "segment", "leader", "fetch", "produce"]
    out, n, i = [], 0, 0
    while n < size:
        w = f"{words[(i * 7 + seed) % len(words)]}-{(i * 31 + seed) % 97}"
        out.append(w)
        n += len(w) + 1
        i += 1
    return " ".join(out).encode()[:size]


BIG1 = _text(16 * 1024, 1)
BIG3 = _text(8 * 1024, 3)
BINARY_KEY = bytes(range(256))
BINARY_VALUE = bytes(range(256)) * 16  # 4 KiB, every byte value, compressible

H1 = (
    ("trace-id", b"abc-123"),
    ("empty", b""),
    ("dup", b"first"),
    ("dup", b"second"),  # repeated names keep their order
    ("ключ-ü", "значение".encode()),  # UTF-8 name and value
    ("eq,comma", b"a=b,c=d"),
    ("bin", bytes(range(1, 256))),
    ("nul", b"a\x00b"),  # kcat: not expressible (argv)
    ("null", None),  # kcat, kafka-python: not expressible
)
H3 = (("tombstone", b"yes"),)

# The set is laid out in three runs because of kcat: `-H` applies to every message of one kcat
# invocation, and `-Z` (needed for a null value) turns every empty key or value of that
# invocation into null. Every other client produces the flattened list in one go. Each run holds
# a multi-KB value so that its batch compresses.
RUNS: list[tuple[bool, list[Rec]]] = [  # (kcat -Z, records)
    (False, [
        Rec(b"k-headers", b"value with headers", H1),
        Rec(b"big-1", BIG1, H1),
    ]),
    (False, [
        Rec(None, b"null key", ()),
        Rec(b"", b"empty key", ()),
        Rec(b"k-empty-value", b"", ()),
        Rec(BINARY_KEY, BINARY_VALUE, ()),
    ]),
    (True, [
        Rec(b"k-null-value", None, H3),
        Rec(b"big-3", BIG3, H3),
    ]),
]
RECORDS: list[Rec] = [r for _, recs in RUNS for r in recs]

# Each record's CreateTime (ms), given to every producer that can set one; not monotonic on
# purpose, and in the past (message.timestamp.after.max.ms allows at most 1 h ahead).
T0 = 1_700_000_000_000
TIMESTAMPS: list[int] = [T0 + d for d in (5000, 1000, 9000, 3000, 7000, 2000, 8000, 4000)]
assert len(TIMESTAMPS) == len(RECORDS)

# kcat's input framing: multi-byte delimiters that occur in no key or value.
KCAT_K = b"\xfe\x03K\x03\xfe"
KCAT_D = b"\xff\x01E\x02\xff"


def _check_record_set() -> None:
    for nulls, recs in RUNS:
        assert len({r.headers for r in recs}) == 1, "kcat: one header set per run"
        for r in recs:
            for part in (r.key, r.value):
                assert part is None or (KCAT_K not in part and KCAT_D not in part)
            if nulls:  # -Z: empty would become null
                assert r.key != b"" and r.value != b"", r
            else:  # without -Z kcat cannot send a null value
                assert r.value is not None, r
        assert any(len(r.value or b"") >= 4096 for r in recs), "each run needs a big value"
    # kafka-python and aiokafka refuse a record with neither key nor value
    assert all(r.key is not None or r.value is not None for r in RECORDS)


_check_record_set()


def _drop_headers(pred):
    def adapt(r: Rec) -> Rec:
        return r._replace(headers=tuple(h for h in r.headers if not pred(h)))
    return adapt


# producer -> (id tag, adaptation): what the client can express of the record set.
PRODUCER_LIMITS = {
    "kcat": ("noNullHdr-noNulByteHdr-noTs",
             _drop_headers(lambda h: h[1] is None or b"\x00" in h[1])),
    "kafka-python": ("noNullHdr", _drop_headers(lambda h: h[1] is None)),
    "kafka-go": ("noHdrs", _drop_headers(lambda h: True)),
}
# Producers that cannot give a record its timestamp (the client stamps the send time).
NO_TIMESTAMPS = {"kcat"}


def _empty_is_null(r: Rec) -> Rec:
    return r._replace(key=r.key or None, value=r.value or None)


# consumer -> (id tag, adaptation): what the client can tell apart of what it reads.
CONSUMER_LIMITS = {
    "kafka-go": ("noHdrs-emptyIsNull", lambda r: _empty_is_null(_drop_headers(lambda h: True)(r))),
}


def expressible_runs(producer: str) -> list[tuple[bool, list[Rec]]]:
    lim = PRODUCER_LIMITS.get(producer)
    if lim is None:
        return RUNS
    return [(nulls, [lim[1](r) for r in recs]) for nulls, recs in RUNS]


def expressible(producer: str) -> list[Rec]:
    return [r for _, recs in expressible_runs(producer) for r in recs]


# ---------------------------------------------------------------------------------------
# Expectations
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    pattern: str  # regex the client's error must match
    reason: str


@dataclass(frozen=True)
class NotSupported:
    reason: str


OK = "ok"

SARAMA_ZSTD_PRODUCE = Refused(
    r"does not support the compression type",
    "sarama 1.22.1 sends zstd in Produce v3 (its newest version); zstd needs Produce v7+ "
    "(KIP-110): UNSUPPORTED_COMPRESSION_TYPE, as Kafka answers")
SARAMA_ZSTD_FETCH = Refused(
    r"does not support the compression type",
    "sarama 1.22.1 fetches with Fetch v4; zstd batches need Fetch v10+ (KIP-110): "
    "UNSUPPORTED_COMPRESSION_TYPE, as Kafka answers")
KAFKA_GO_ZSTD_FETCH = Refused(
    r"\[76\]",
    "kafka-go 0.2.1 fetches with Fetch v2; zstd batches need Fetch v10+ (KIP-110) and cannot be "
    "down-converted: UNSUPPORTED_COMPRESSION_TYPE, as Kafka answers")
KAFKA_GO_NO_ZSTD = NotSupported("kafka-go 0.2.1 has no zstd codec (gzip, snappy, lz4 only)")


def produce_expectation(producer: str, codec: str):
    if producer == "sarama" and codec == "zstd":
        return SARAMA_ZSTD_PRODUCE
    if producer == "kafka-go" and codec == "zstd":
        return KAFKA_GO_NO_ZSTD
    return OK


def consume_expectation(consumer: str, codec: str):
    if consumer == "sarama" and codec == "zstd":
        return SARAMA_ZSTD_FETCH
    if consumer == "kafka-go" and codec == "zstd":
        return KAFKA_GO_ZSTD_FETCH
    return OK


# Broker bugs found by this matrix: cell id -> reason (xfail, strict). None so far.
BROKER_BUGS: dict[str, str] = {}


@dataclass(frozen=True)
class Cell:
    producer: str
    codec: str

    @property
    def topic(self) -> str:
        return f"matrix-{self.producer}-{self.codec}"

    @property
    def expect(self):
        return produce_expectation(self.producer, self.codec)

    @property
    def id(self) -> str:
        parts = [self.producer, self.codec]
        lim = PRODUCER_LIMITS.get(self.producer)
        if lim:
            parts.append(lim[0])
        if isinstance(self.expect, Refused):
            parts.append("REFUSED")
        return "-".join(parts)


ALL_CELLS = [Cell(p, c) for p in PRODUCERS for c in CODECS]
DATA_CELLS = [c for c in ALL_CELLS if c.expect == OK]


def _param(obj, ident: str):
    bug = BROKER_BUGS.get(ident)
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(obj, id=ident, marks=marks)


def _consume_id(consumer: str, cell: Cell) -> str:
    ident = f"{cell.id}>{consumer}"
    if consumer in CONSUMER_LIMITS:
        ident += "-" + CONSUMER_LIMITS[consumer][0]
    if isinstance(consume_expectation(consumer, cell.codec), Refused):
        ident += "-REFUSED"
    return ident


PRODUCE_PARAMS = [_param(c, c.id) for c in ALL_CELLS]
LOOKUP_PARAMS = [_param(c, c.id) for c in DATA_CELLS]
CONSUME_PARAMS = [_param((consumer, c), _consume_id(consumer, c))
                  for c in DATA_CELLS for consumer in CONSUMERS]


# ---------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------


def _short(b) -> str:
    if b is None:
        return "null"
    if isinstance(b, str):
        return repr(b)
    if len(b) > 48:
        return f"<{len(b)} B sha1:{hashlib.sha1(b).hexdigest()[:10]} {b[:16]!r}...>"
    return repr(b)


def _fmt(r: Rec) -> str:
    hs = ", ".join(f"{n!r}={_short(v)}" for n, v in r.headers)
    return f"key={_short(r.key)} value={_short(r.value)} headers=[{hs}]"


def _diff(expected: list[Rec], got: list[Rec]) -> str:
    lines = [f"expected {len(expected)} records, got {len(got)}"]
    for i in range(max(len(expected), len(got))):
        e = expected[i] if i < len(expected) else None
        g = got[i] if i < len(got) else None
        if e != g:
            lines.append(f"first difference at record {i}:")
            lines.append(f"  expected {_fmt(e) if e else '<none>'}")
            lines.append(f"  got      {_fmt(g) if g else '<none>'}")
            if e and g:
                for fld in ("key", "value", "headers"):
                    if getattr(e, fld) != getattr(g, fld):
                        lines.append(f"  ({fld} differs)")
            break
    return "\n".join(lines)


def _b64(b: Optional[bytes]):
    return None if b is None else base64.b64encode(b).decode()


def _unb64(s) -> Optional[bytes]:
    return None if s is None else base64.b64decode(s)


def _to_jsonl(recs: list[Rec], timestamps: list[int]) -> bytes:
    return "".join(json.dumps({"key": _b64(r.key), "value": _b64(r.value),
                               "headers": [[n, _b64(v)] for n, v in r.headers], "timestamp": ts}) + "\n"
                   for r, ts in zip(recs, timestamps)).encode()


def _from_jsonl(out: bytes) -> tuple[list[Rec], list[int]]:
    recs, timestamps = [], []
    for line in out.decode().splitlines():
        if line.strip():
            d = json.loads(line)
            recs.append(Rec(_unb64(d["key"]), _unb64(d["value"]),
                            tuple((n, _unb64(v)) for n, v in d["headers"] or [])))
            timestamps.append(d["timestamp"])
    return recs, timestamps


def _proc_err(cp: subprocess.CompletedProcess) -> str:
    return (f"exit {cp.returncode}: {' '.join(map(str, cp.args))[:300]}\n"
            f"stderr: {cp.stderr.decode(errors='replace')[-3000:]}")


# ---------------------------------------------------------------------------------------
# Go programs
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def go_clients(tmp_path_factory) -> dict[str, str]:
    """Builds Tests/Interop/go/{sarama_client,kafkago_client} offline (GOPATH mode against
    Debian's /usr/share/gocode). Skips only when `go` is missing; a failed build fails."""
    go = shutil.which("go")
    if not go:
        pytest.skip("go is not installed (scripts/test.sh installs golang-go, "
                    "golang-github-shopify-sarama-dev and golang-github-segmentio-kafka-go-dev)")
    out = tmp_path_factory.mktemp("go-clients")
    env = dict(os.environ)
    env.update(GO111MODULE="off", GOPATH="/usr/share/gocode", GOCACHE=str(out / "gocache"),
               GOFLAGS="", GOPROXY="off", GOENV="off", CGO_ENABLED="1")
    if not shutil.which(env.get("CC", "gcc")):  # cgo (sarama's zstd) needs a C compiler
        cc = shutil.which("cc") or shutil.which("clang")
        if cc:
            env["CC"] = cc
    bins = {}
    for client, prog in GO_PROGRAMS.items():
        dest = out / prog
        cp = subprocess.run([go, "build", "-o", str(dest), "."], cwd=GO_DIR / prog, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        if cp.returncode != 0:
            pytest.fail(f"go build of {prog} failed (exit {cp.returncode}):\n"
                        f"{cp.stderr.decode(errors='replace')[-4000:]}", pytrace=False)
        bins[client] = str(dest)
    return bins


# ---------------------------------------------------------------------------------------
# Producers
# ---------------------------------------------------------------------------------------


@dataclass
class Produced:
    records: list[Rec]
    error: Optional[str] = None
    offsets: Optional[list[int]] = None  # when the client reports them
    timestamps: Optional[list[int]] = None  # when the client set them (TIMESTAMPS)

    @property
    def ok(self) -> bool:
        return self.error is None


def _produce_kcat(bootstrap: str, cell: Cell, go) -> Produced:
    runs = expressible_runs("kcat")
    for nulls, recs in runs:
        data = b"".join((b"" if r.key is None else r.key + KCAT_K) + (r.value or b"") + KCAT_D
                        for r in recs)
        args: list = [kcat_path(), "-b", bootstrap, *KCAT_FAST, "-P", "-t", cell.topic, "-p", "0",
                      "-K", KCAT_K, "-D", KCAT_D, "-X", "acks=all", "-X", "linger.ms=100"]
        if cell.codec != "none":
            args += ["-z", cell.codec]
        if nulls:
            args.append("-Z")
        for name, value in recs[0].headers:
            args += ["-H", name.encode() + b"=" + value]
        cp = subprocess.run(args, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=60)
        if cp.returncode != 0 or b"ERROR" in cp.stderr:
            return Produced(expressible("kcat"), error=_proc_err(cp))
    return Produced(expressible("kcat"))  # kcat reports no offsets: the log dump counts


def _produce_confluent(bootstrap: str, cell: Cell, go) -> Produced:
    recs = expressible("confluent-kafka")
    p = ck_producer(bootstrap, **{"compression.type": cell.codec, "linger.ms": 100})
    msgs = []
    for r in recs:
        m = {"key": r.key, "value": r.value}
        if r.headers:
            m["headers"] = list(r.headers)
        msgs.append(m)
    for m, ts in zip(msgs, TIMESTAMPS):
        m["timestamp"] = ts
    res = ck_produce(p, cell.topic, msgs)
    return Produced(recs, offsets=[x[1] for x in res], timestamps=TIMESTAMPS)


def _produce_kafka_python(bootstrap: str, cell: Cell, go) -> Produced:
    recs = expressible("kafka-python")
    p = kp_producer(bootstrap, acks="all", linger_ms=100, batch_size=1 << 20,
                    compression_type=None if cell.codec == "none" else cell.codec)
    try:
        futs = [p.send(cell.topic, partition=0, key=r.key, value=r.value, headers=list(r.headers),
                       timestamp_ms=ts)
                for r, ts in zip(recs, TIMESTAMPS)]
        p.flush(30)
        return Produced(recs, offsets=[f.get(timeout=10).offset for f in futs], timestamps=TIMESTAMPS)
    finally:
        p.close(timeout=5)


def _produce_aiokafka(bootstrap: str, cell: Cell, go) -> Produced:
    from aiokafka import AIOKafkaProducer

    recs = expressible("aiokafka")

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=100,
                             max_batch_size=1 << 20, enable_idempotence=False,
                             compression_type=None if cell.codec == "none" else cell.codec,
                             request_timeout_ms=10000, retry_backoff_ms=100)
        await p.start()
        try:
            futs = [await p.send(cell.topic, partition=0, key=r.key, value=r.value,
                                 headers=list(r.headers), timestamp_ms=ts)
                    for r, ts in zip(recs, TIMESTAMPS)]
            return [(await f).offset for f in futs]
        finally:
            await p.stop()

    return Produced(recs, offsets=asyncio.run(asyncio.wait_for(run(), 60)), timestamps=TIMESTAMPS)


def _produce_go(client: str):
    def produce(bootstrap: str, cell: Cell, go) -> Produced:
        recs = expressible(client)
        cp = subprocess.run([go()[client], "produce", "--bootstrap", bootstrap,
                             "--topic", cell.topic, "--codec", cell.codec],
                            input=_to_jsonl(recs, TIMESTAMPS), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=60)
        if cp.returncode != 0:
            return Produced(recs, error=_proc_err(cp))
        offsets = [int(x) for x in cp.stdout.split()] or None  # kafka-go prints none
        return Produced(recs, offsets=offsets, timestamps=TIMESTAMPS)
    return produce


PRODUCE = {
    "kcat": _produce_kcat,
    "confluent-kafka": _produce_confluent,
    "kafka-python": _produce_kafka_python,
    "aiokafka": _produce_aiokafka,
    "sarama": _produce_go("sarama"),
    "kafka-go": _produce_go("kafka-go"),
}


# ---------------------------------------------------------------------------------------
# Consumers: each returns {topic: Consumed} for the topics asked for
# ---------------------------------------------------------------------------------------


@dataclass
class Consumed:
    records: list[Rec] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)
    error: Optional[str] = None


def _parallel(fn, topics: dict[str, int]) -> dict[str, Consumed]:
    with ThreadPoolExecutor(max_workers=3) as ex:
        futs = {t: ex.submit(fn, t, n) for t, n in topics.items()}
        return {t: f.result() for t, f in futs.items()}


def _latin1(s: Optional[str]) -> Optional[bytes]:
    return None if s is None else s.encode("latin-1")


def _consume_kcat(bootstrap: str, topics: dict[str, int], go) -> dict[str, Consumed]:
    """kcat -J: null is JSON null, control bytes are \\u00XX escapes and every other byte is
    written raw, so decoding the output as latin-1 gives the bytes back exactly (a \\u escape
    above 0xFF would fail the latin-1 encode instead of passing silently)."""
    def one(topic: str, n: int) -> Consumed:
        cmd = [kcat_path(), "-b", bootstrap, *KCAT_FAST, "-C", "-t", topic, "-p", "0",
               "-o", "beginning", "-e", "-q", "-J", "-c", str(n)]
        cp = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        out = Consumed()
        if cp.returncode != 0:
            out.error = _proc_err(cp)
            return out
        for line in cp.stdout.split(b"\n"):
            if not line:
                continue
            m = json.loads(line.decode("latin-1"))
            hs = m.get("headers") or []
            headers = tuple((_latin1(hs[i]).decode("utf-8"), _latin1(hs[i + 1]))
                            for i in range(0, len(hs), 2))
            out.records.append(Rec(_latin1(m["key"]), _latin1(m["payload"]), headers))
            out.offsets.append(m["offset"])
            out.timestamps.append(m["ts"])
        return out
    return _parallel(one, topics)


def _consume_confluent(bootstrap: str, topics: dict[str, int], go) -> dict[str, Consumed]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    cfg = dict(CK_COMMON)
    cfg.update({"bootstrap.servers": bootstrap, "group.id": "runnel-interop-matrix",
                "enable.auto.commit": False, "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100})
    c = Consumer(cfg)
    out = {t: Consumed() for t in topics}
    try:
        c.assign([TopicPartition(t, 0, OFFSET_BEGINNING) for t in topics])
        pending = set(topics)
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        while pending and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            t = m.topic()
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF and t in out:
                    out[t].error = f"consumer error: {m.error()!r}"
                    pending.discard(t)
                continue
            if t not in pending:
                continue
            out[t].records.append(Rec(m.key(), m.value(), tuple(m.headers() or ())))
            out[t].offsets.append(m.offset())
            out[t].timestamps.append(m.timestamp()[1])
            if len(out[t].records) >= topics[t]:
                pending.discard(t)
    finally:
        c.close()
    return out


def _consume_kafka_python(bootstrap: str, topics: dict[str, int], go) -> dict[str, Consumed]:
    from kafka import TopicPartition

    c = kp_consumer(bootstrap, fetch_max_wait_ms=100)
    out = {t: Consumed() for t in topics}
    try:
        tps = [TopicPartition(t, 0) for t in topics]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        while (any(len(out[t].records) < n for t, n in topics.items())
               and time.monotonic() < deadline):
            for tp, recs in c.poll(timeout_ms=500).items():
                for r in recs:
                    out[tp.topic].records.append(Rec(r.key, r.value, tuple(r.headers)))
                    out[tp.topic].offsets.append(r.offset)
                    out[tp.topic].timestamps.append(r.timestamp)
    finally:
        c.close()
    return out


def _consume_aiokafka(bootstrap: str, topics: dict[str, int], go) -> dict[str, Consumed]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    out = {t: Consumed() for t in topics}

    async def run():
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", fetch_max_wait_ms=100,
                             request_timeout_ms=10000, retry_backoff_ms=100)
        await c.start()
        try:
            tps = [TopicPartition(t, 0) for t in topics]
            c.assign(tps)
            await c.seek_to_beginning(*tps)
            deadline = time.monotonic() + CONSUME_TIMEOUT_S
            while (any(len(out[t].records) < n for t, n in topics.items())
                   and time.monotonic() < deadline):
                for tp, recs in (await c.getmany(timeout_ms=500)).items():
                    for r in recs:
                        out[tp.topic].records.append(Rec(r.key, r.value, tuple(r.headers)))
                        out[tp.topic].offsets.append(r.offset)
                        out[tp.topic].timestamps.append(r.timestamp)
        finally:
            await c.stop()

    asyncio.run(asyncio.wait_for(run(), CONSUME_TIMEOUT_S + 30))
    return out


def _consume_go(client: str):
    def consume(bootstrap: str, topics: dict[str, int], go) -> dict[str, Consumed]:
        binary = go()[client]

        def one(topic: str, n: int) -> Consumed:
            cp = subprocess.run([binary, "consume", "--bootstrap", bootstrap, "--topic", topic,
                                 "--count", str(n), "--timeout-ms", str(int(CONSUME_TIMEOUT_S * 1000))],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                timeout=CONSUME_TIMEOUT_S + 30)
            if cp.returncode != 0:
                return Consumed(error=_proc_err(cp))
            recs, timestamps = _from_jsonl(cp.stdout)
            return Consumed(recs, list(range(len(recs))), timestamps)  # the programs check offsets
        return _parallel(one, topics)
    return consume


CONSUME = {
    "kcat": _consume_kcat,
    "confluent-kafka": _consume_confluent,
    "kafka-python": _consume_kafka_python,
    "aiokafka": _consume_aiokafka,
    "sarama": _consume_go("sarama"),
    "kafka-go": _consume_go("kafka-go"),
}


# ---------------------------------------------------------------------------------------
# The module's matrix
# ---------------------------------------------------------------------------------------


class _Memo:
    """Result or exception (including pytest's skip/fail outcomes) of one computation."""

    def __init__(self, fn):
        try:
            self.value, self.exc = fn(), None
        except BaseException as e:  # noqa: B902 - re-raised in every test that needs it
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            self.value, self.exc = None, e

    def get(self):
        if self.exc is not None:
            raise self.exc
        return self.value


class Matrix:
    def __init__(self, broker, request) -> None:
        self.broker = broker
        self.request = request
        self._produced: dict[Cell, _Memo] = {}
        self._consumed: dict[str, _Memo] = {}

    def go(self) -> dict[str, str]:
        return self.request.getfixturevalue("go_clients")

    def produce(self, cell: Cell) -> Produced:
        if cell not in self._produced:
            def run() -> Produced:
                try:
                    return PRODUCE[cell.producer](self.broker.bootstrap, cell, self.go)
                except (pytest.skip.Exception, pytest.fail.Exception):
                    raise
                except Exception as e:  # a client exception is a failed produce, not a crash
                    return Produced(expressible(cell.producer), error=f"{type(e).__name__}: {e}")
            self._produced[cell] = _Memo(run)
        return self._produced[cell].get()

    def consume(self, consumer: str, cell: Cell) -> Consumed:
        if consumer not in self._consumed:
            def run() -> dict[str, Consumed]:
                topics = {}
                for c in DATA_CELLS:  # every topic that has data, produced first
                    try:
                        p = self.produce(c)
                    except (pytest.skip.Exception, pytest.fail.Exception):
                        continue
                    if p.ok:
                        topics[c.topic] = len(p.records)
                return CONSUME[consumer](self.broker.bootstrap, topics, self.go)
            self._consumed[consumer] = _Memo(run)
        got = self._consumed[consumer].get()
        assert cell.topic in got, f"{cell.topic} was not consumed"
        return got[cell.topic]


@pytest.fixture(scope="module")
def matrix(module_broker, request) -> Matrix:
    """One broker; every cell's topic created up front (1 partition) in one CreateTopics."""
    from confluent_kafka.admin import NewTopic

    admin = ck_admin(module_broker.bootstrap)
    names = [c.topic for c in ALL_CELLS]
    fs = admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1) for t in names],
                             operation_timeout=10, request_timeout=10)
    for t, f in fs.items():
        f.result(timeout=15)
    deadline = time.monotonic() + 15
    while True:
        md = admin.list_topics(timeout=10)
        missing = [t for t in names if t not in md.topics or md.topics[t].error is not None
                   or 0 not in md.topics[t].partitions or md.topics[t].partitions[0].leader < 0]
        if not missing:
            break
        assert time.monotonic() < deadline, f"topics without a leader: {missing}"
        time.sleep(0.1)
    return Matrix(module_broker, request)


# ---------------------------------------------------------------------------------------
# runnel log dump
# ---------------------------------------------------------------------------------------

BASE_RE = re.compile(r"base\s*_?offset\s*[:=]?\s*(\d+)", re.I)
COUNT_RE = re.compile(r"\b(?:record_?count|records|count)\s*[:=]?\s*(\d+)", re.I)
CODEC_RE = re.compile(r"(?:compress(?:ion)?_?codec|compression(?:_?type)?|codec)\s*[:=]?\s*([A-Za-z0-9]+)", re.I)
CRC_BAD = re.compile(r"crc.{0,40}?(false|invalid|mismatch|bad|fail|corrupt|wrong)", re.I)


def _dump_batches(runnel_path: str, d: Path) -> tuple[list[tuple[int, int, str]], str]:
    """[(base offset, count, codec)] of every batch in the partition's .log segments.
    --skip-index-check: only the batches matter here, and checking the preallocated 10 MiB
    index files costs seconds per call (test_log_dump.py covers the index check)."""
    rows, text = [], ""
    for seg in sorted(d.glob("*.log")):
        cp = subprocess.run([runnel_path, "log", "dump", "--skip-index-check", str(seg)],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=60, text=True)
        text += cp.stdout + cp.stderr
        assert cp.returncode == 0, f"runnel log dump {seg} exited {cp.returncode}:\n{text[-3000:]}"
        assert not re.search(r"corrupt|invalid batch|unreadable", text, re.I), text[-3000:]
        for line in cp.stdout.splitlines():
            m = BASE_RE.search(line)
            if not m:
                continue
            cnt, codec = COUNT_RE.search(line), CODEC_RE.search(line)
            assert cnt and codec, f"batch line without count/codec: {line}"
            assert not CRC_BAD.search(line), f"bad CRC: {line}"
            rows.append((int(m.group(1)), int(cnt.group(1)), codec.group(1).lower()))
    return rows, text


# ---------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", PRODUCE_PARAMS)
def test_produce(matrix, runnel_path, cell: Cell):
    exp = cell.expect
    if isinstance(exp, NotSupported):
        pytest.skip(exp.reason)
    res = matrix.produce(cell)
    d = partition_dir(matrix.broker, cell.topic)
    if isinstance(exp, Refused):
        assert not res.ok, f"{cell.id}: expected a refusal ({exp.reason}), but it was acknowledged"
        assert re.search(exp.pattern, res.error), \
            f"{cell.id}: expected /{exp.pattern}/ ({exp.reason}), got:\n{res.error}"
        batches, text = _dump_batches(runnel_path, d)
        assert batches == [], f"{cell.id}: a refused produce stored batches:\n{text[-2000:]}"
        return

    assert res.ok, f"{cell.id}: produce failed:\n{res.error}"
    n = len(res.records)
    if res.offsets is not None:
        assert res.offsets == list(range(n)), f"{cell.id}: acknowledged offsets {res.offsets}"
    batches, text = _dump_batches(runnel_path, d)
    assert sum(c for _, c, _ in batches) == n, f"{cell.id}: stored batches {batches}\n{text[-2000:]}"
    expected_base = 0
    for base, count, _ in batches:
        assert base == expected_base, f"{cell.id}: batches not contiguous: {batches}"
        expected_base += count
    codecs = [codec for _, _, codec in batches]
    assert set(codecs) == {cell.codec}, \
        f"{cell.id}: stored batch codecs {codecs}, producer was asked for {cell.codec}\n{text[-2000:]}"


@pytest.mark.parametrize("pair", CONSUME_PARAMS)
def test_consume(matrix, pair):
    consumer, cell = pair
    prod = matrix.produce(cell)  # skips with the Go cells when go is missing
    if not prod.ok:
        pytest.skip(f"nothing to read: test_produce[{cell.id}] failed")
    got = matrix.consume(consumer, cell)
    exp = consume_expectation(consumer, cell.codec)
    where = f"{consumer} reading {cell.topic} (written by {cell.producer}, {cell.codec})"
    if isinstance(exp, Refused):
        assert got.error is not None, \
            f"{where}: expected a refusal ({exp.reason}) but read {len(got.records)} records"
        assert re.search(exp.pattern, got.error), \
            f"{where}: expected /{exp.pattern}/ ({exp.reason}), got:\n{got.error}"
        return

    assert got.error is None, f"{where}: {got.error}"
    expected = prod.records
    if consumer in CONSUMER_LIMITS:
        expected = [CONSUMER_LIMITS[consumer][1](r) for r in expected]
    assert got.records == expected, f"{where}:\n{_diff(expected, got.records)}"
    assert got.offsets == list(range(len(expected))), f"{where}: offsets {got.offsets}"
    if prod.timestamps is not None:
        assert got.timestamps == prod.timestamps, \
            f"{where}: timestamps {got.timestamps}, produced with {prod.timestamps}"


@pytest.mark.parametrize("cell", LOOKUP_PARAMS)
def test_timestamp_lookup(matrix, cell: Cell):
    """ListOffsets by timestamp 0 (confluent-kafka offsets_for_times) finds offset 0: every
    batch's max timestamp is right in the log, whoever wrote it (sarama 1.22 leaves it at -1 and
    the broker recomputes it; kafka-go's batch is the broker's up-conversion)."""
    from confluent_kafka import Consumer, TopicPartition

    prod = matrix.produce(cell)
    if not prod.ok:
        pytest.skip(f"nothing to look up: test_produce[{cell.id}] failed")
    cfg = dict(CK_COMMON)
    cfg.update({"bootstrap.servers": matrix.broker.bootstrap, "group.id": "runnel-interop-matrix-lookup",
                "enable.auto.commit": False})
    c = Consumer(cfg)
    try:
        (tp,) = c.offsets_for_times([TopicPartition(cell.topic, 0, 0)], timeout=10)
    finally:
        c.close()
    assert tp.error is None, f"{cell.topic}: {tp.error}"
    assert tp.offset == 0, f"{cell.topic}: offsets_for_times(0) gave offset {tp.offset}"
    if prod.timestamps is not None:
        # And the latest timestamp is found too: the first record at or after max(TIMESTAMPS).
        c = Consumer(cfg)
        try:
            (tp,) = c.offsets_for_times([TopicPartition(cell.topic, 0, max(prod.timestamps))], timeout=10)
        finally:
            c.close()
        assert tp.offset == prod.timestamps.index(max(prod.timestamps)), \
            f"{cell.topic}: offsets_for_times({max(prod.timestamps)}) gave offset {tp.offset}"
