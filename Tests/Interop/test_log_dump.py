"""`runnel log dump PATH`: an offline reader of segment files, in the spirit of Kafka's
kafka-dump-log.sh (DumpLogSegments).

The output format is not pinned down; the parsing here is deliberately loose. One line per
batch must carry its base offset, record count, codec and CRC verdict, e.g. Kafka's

    baseOffset: 0 lastOffset: 19 count: 20 ... position: 0 CreateTime: ... compresscodec: none crcValid: true

(`base offset 0`, `records=20`, `codec: gzip`, `crc: ok` etc. are accepted too). Dumping a
`.log` also checks its offset index and prints a line saying the index is consistent (e.g.
`index 00000000000000000000.index: 12 entries, consistent`). Dumping a `.index` /
`.timeindex` lists entries as `offset: N position: P` / `timestamp: T offset: N`.
Bytes that are not a valid batch are reported with their file position and the word
"corrupt" or "invalid"."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import kafka_wire
from interop_util import kp_producer
from storage_util import create_topic, partition_dir, segment_bases

SEGMENT_BYTES = 16384

BASE_RE = re.compile(r"base\s*_?offset\s*[:=]?\s*(\d+)", re.I)
COUNT_RE = re.compile(r"\b(?:record_?count|records|count)\s*[:=]?\s*(\d+)", re.I)
CODEC_RE = re.compile(r"(?:compress(?:ion)?_?codec|compression(?:_?type)?|codec)\s*[:=]?\s*([A-Za-z0-9]+)", re.I)
CRC_RE = re.compile(r"crc.{0,40}", re.I)
BAD_WORDS = re.compile(r"false|invalid|mismatch|bad|fail|corrupt|wrong", re.I)
GOOD_WORDS = re.compile(r"true|\bok\b|valid|good|pass|match", re.I)


def _dump(runnel_path: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([runnel_path, "log", "dump", str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, text=True)


def _crc_verdict(line: str):
    m = CRC_RE.search(line)
    if not m:
        return None
    s = m.group(0)
    if BAD_WORDS.search(s):
        return False
    if GOOD_WORDS.search(s):
        return True
    return None


def _batch_lines(out: str) -> list[dict]:
    rows = []
    for line in out.splitlines():
        m = BASE_RE.search(line)
        if not m:
            continue
        cnt = COUNT_RE.search(line)
        codec = CODEC_RE.search(line)
        rows.append({
            "base_offset": int(m.group(1)),
            "count": int(cnt.group(1)) if cnt else None,
            "codec": codec.group(1).lower() if codec else None,
            "crc": _crc_verdict(line),
            "line": line,
        })
    return rows


@pytest.fixture
def dumped_topic(broker_factory, topic):
    """A stopped broker whose topic's first segment holds batches of every codec.
    Returns (broker, partition dir, [(base offset, count, codec)] produced in order)."""
    b = broker_factory()
    create_topic(b.bootstrap, topic, {"segment.bytes": SEGMENT_BYTES, "index.interval.bytes": 1024})
    plan = ([("none", 20)] * 3 + [("gzip", 10)] * 2 + [("lz4", 10)] * 2 + [("zstd", 10)] * 2
            + [("snappy", 10)] * 2 + [("none", 1)] + [("none", 20)] * 20)
    produced = []
    producers = {}
    try:
        for i, (codec, count) in enumerate(plan):
            p = producers.get(codec)
            if p is None:
                p = producers[codec] = kp_producer(
                    b.bootstrap, acks="all", linger_ms=1000, batch_size=1 << 20,
                    compression_type=None if codec == "none" else codec)
            futs = [p.send(topic, partition=0, key=f"k{j}".encode(),
                           value=f"batch-{i}-rec-{j}-{codec}-".encode().ljust(60, b"d"))
                    for j in range(count)]
            p.flush(30)
            offs = [f.get(timeout=10).offset for f in futs]
            assert offs == list(range(offs[0], offs[0] + count))
            produced.append((offs[0], count, codec))
    finally:
        for p in producers.values():
            p.close(timeout=5)
    assert b.stop() == 0
    d = partition_dir(b, topic)
    bases = segment_bases(d)
    assert len(bases) >= 2, f"expected the first segment to roll: {bases}"
    return b, d, produced


def _first_segment_expectation(d: Path, produced):
    bases = segment_bases(d)
    first = [t for t in produced if t[0] < bases[1]]
    data = (d / f"{bases[0]:020d}.log").read_bytes()
    disk = kafka_wire.decode_record_batches(data)
    # precondition: the broker stored the batches as produced
    assert [(x["base_offset"], x["record_count"], x["compression"]) for x in disk] == first
    assert all(x.get("crc_ok") is not False for x in disk)
    return first, data, disk


def test_dump_lists_every_batch(runnel_path, dumped_topic):
    b, d, produced = dumped_topic
    first, data, _ = _first_segment_expectation(d, produced)
    seg = d / "00000000000000000000.log"
    cp = _dump(runnel_path, seg)
    out = cp.stdout + cp.stderr
    assert cp.returncode == 0, f"exit {cp.returncode}\n{out[-3000:]}"
    rows = _batch_lines(cp.stdout)
    got = [(r["base_offset"], r["count"], r["codec"]) for r in rows]
    assert got == first, f"dump batches differ from the produced ones\n{cp.stdout[:3000]}"
    assert all(r["crc"] is True for r in rows), [r["line"] for r in rows if r["crc"] is not True][:3]
    assert not re.search(r"corrupt|invalid", out, re.I), out[-2000:]

    index_lines = [ln for ln in out.splitlines() if re.search(r"index", ln, re.I)
                   and re.search(r"consistent|\bok\b|passed|valid|sane", ln, re.I)
                   and not re.search(r"inconsistent|invalid|mismatch|corrupt|fail", ln, re.I)]
    assert index_lines, f"no line saying the index is consistent\n{out[-2000:]}"


def test_dump_index_files(runnel_path, dumped_topic):
    b, d, produced = dumped_topic
    first, data, disk = _first_segment_expectation(d, produced)
    bases = segment_bases(d)
    positions = {}
    pos = 0
    for x in disk:
        positions[pos] = x
        pos += 12 + x["batch_length"]

    cp = _dump(runnel_path, d / "00000000000000000000.index")
    assert cp.returncode == 0, cp.stdout[-2000:] + cp.stderr[-2000:]
    entries = [(int(m.group(1)), int(m.group(2))) for m in
               re.finditer(r"offset\s*[:=]?\s*(\d+)\D{0,20}?position\s*[:=]?\s*(\d+)", cp.stdout, re.I)]
    # index.interval.bytes=1024 over ~16 KiB: several entries
    assert len(entries) >= 5, f"too few offset index entries:\n{cp.stdout[:2000]}"
    assert [e[0] for e in entries] == sorted({e[0] for e in entries}), "offsets not strictly increasing"
    assert [e[1] for e in entries] == sorted({e[1] for e in entries}), "positions not strictly increasing"
    for off, p in entries:
        assert p in positions, f"index entry ({off}, {p}) does not point at a batch start"
        x = positions[p]
        assert x["base_offset"] <= off <= x["base_offset"] + x["last_offset_delta"], (off, p, x["base_offset"])
        assert off < bases[1]

    cp = _dump(runnel_path, d / "00000000000000000000.timeindex")
    assert cp.returncode == 0, cp.stdout[-2000:] + cp.stderr[-2000:]
    tentries = [(int(m.group(1)), int(m.group(2))) for m in
                re.finditer(r"timestamp\s*[:=]?\s*(\d+)\D{0,20}?offset\s*[:=]?\s*(\d+)", cp.stdout, re.I)]
    assert tentries, f"no time index entries:\n{cp.stdout[:2000]}"
    assert [t for t, _ in tentries] == sorted(t for t, _ in tentries)
    max_ts = max(x["max_timestamp"] for x in disk)
    for t, off in tentries:
        assert 0 <= off < bases[1] and t <= max_ts, (t, off)


def _copy_segment(d: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for suffix in (".log", ".index", ".timeindex"):
        src = d / f"00000000000000000000{suffix}"
        if src.exists():
            shutil.copy(src, dest / src.name)
    return dest / "00000000000000000000.log"


def test_dump_reports_garbage_after_the_last_batch(runnel_path, dumped_topic, tmp_path):
    b, d, produced = dumped_topic
    first, data, _ = _first_segment_expectation(d, produced)
    seg = _copy_segment(d, tmp_path / "garbage")
    good_size = seg.stat().st_size
    with open(seg, "ab") as f:
        # a plausible batch header (base offset, length) whose body is garbage
        f.write((first[-1][0] + first[-1][1]).to_bytes(8, "big") + (120).to_bytes(4, "big") + b"\xa5" * 120)
    cp = _dump(runnel_path, seg)
    out = cp.stdout + cp.stderr
    assert re.search(r"corrupt|invalid|unreadable", out, re.I), \
        f"garbage tail not reported (exit {cp.returncode}):\n{out[-2000:]}"
    assert re.search(rf"\b{good_size}\b", out), f"bad position {good_size} not reported:\n{out[-2000:]}"
    # the whole batches before it are still listed
    rows = _batch_lines(cp.stdout)
    assert [(r["base_offset"], r["count"]) for r in rows][:len(first)] == [(o, c) for o, c, _ in first]


def test_dump_reports_a_crc_mismatch(runnel_path, dumped_topic, tmp_path):
    b, d, produced = dumped_topic
    first, data, disk = _first_segment_expectation(d, produced)
    seg = _copy_segment(d, tmp_path / "crc")
    # flip a byte inside the last record's value of the second (uncompressed) batch
    pos = 12 + disk[0]["batch_length"]
    victim = pos + 12 + disk[1]["batch_length"] - 10
    assert disk[1]["compression"] == "none"
    buf = bytearray(seg.read_bytes())
    assert buf[victim] == ord("d")
    buf[victim] = ord("e")
    seg.write_bytes(bytes(buf))

    cp = _dump(runnel_path, seg)
    rows = _batch_lines(cp.stdout)
    verdicts = {r["base_offset"]: r["crc"] for r in rows}
    assert verdicts.get(disk[1]["base_offset"]) is False, \
        f"corrupted batch {disk[1]['base_offset']} not reported with a bad CRC:\n{cp.stdout[:2000]}{cp.stderr[-1000:]}"
    assert verdicts.get(disk[0]["base_offset"]) is True and verdicts.get(disk[2]["base_offset"]) is True, verdicts
