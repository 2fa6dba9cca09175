"""RunnelClient's producer (driven through `runnel produce`) read back by kcat and
confluent-kafka: keys, values and headers byte-equal for every codec, null keys included."""

from __future__ import annotations

import pytest

from interop_util import ck_consume, kcat
from runnel_cli import create_topic, produce_lines

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def _lines(n: int) -> list[tuple[str | None, str]]:
    """(key, value) pairs: every third record has a null key; values include UTF-8 and an empty one."""
    out = []
    for i in range(n):
        key = None if i % 3 == 0 else f"key-{i}"
        value = "" if i == 7 else f"value {i} ünïcødé ✓ " + "x" * (i % 50)
        out.append((key, value))
    return out


@pytest.mark.parametrize("codec", CODECS)
def test_swift_producer_to_confluent_and_kcat(module_broker, topic, codec):
    bootstrap = module_broker.bootstrap
    create_topic(bootstrap, topic, 1)
    pairs = _lines(200)
    lines = [v if k is None else f"{k}\t{v}" for k, v in pairs]
    produce_lines(bootstrap, topic, lines, "--key-separator", "\t", "--compression", codec,
                  "--header", "source=swift", "--header", "codec=" + codec, "--partition", "0")

    msgs = ck_consume(bootstrap, topic, 0, len(pairs))
    assert len(msgs) == len(pairs)
    for m, (k, v) in zip(msgs, pairs):
        assert m.key() == (None if k is None else k.encode())
        assert m.value() == v.encode()
        assert m.headers() == [("source", b"swift"), ("codec", codec.encode())]
    assert [m.offset() for m in msgs] == list(range(len(pairs)))

    # kcat: -Z prints NULL for null keys, so null and empty keys stay apart (kcat prints an empty
    # value as NULL too; confluent-kafka above already told empty from null).
    out = kcat(bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-Z",
               "-f", "%k|%s|%h\n").stdout.decode()
    expected = "".join(f"{'NULL' if k is None else k}|{v or 'NULL'}|source=swift,codec={codec}\n" for k, v in pairs)
    assert out == expected


def test_keyed_records_spread_by_murmur2_and_unkeyed_stick(module_broker, topic):
    """Keyed records of one key share a partition; a burst of unkeyed records that fits one
    batch goes to one sticky partition (KIP-480) instead of spreading record by record."""
    bootstrap = module_broker.bootstrap
    create_topic(bootstrap, topic, 8)
    produce_lines(bootstrap, topic, [f"k{i % 20}:v{i}" for i in range(400)], "--key-separator", ":")
    out = kcat(bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%k %p\n").stdout.decode()
    seen: dict[str, set[str]] = {}
    for line in out.splitlines():
        key, partition = line.split()
        seen.setdefault(key, set()).add(partition)
    assert len(seen) == 20
    assert all(len(parts) == 1 for parts in seen.values())
    assert len({p for parts in seen.values() for p in parts}) > 1

    unkeyed = topic + "-unkeyed"
    create_topic(bootstrap, unkeyed, 8)
    produce_lines(bootstrap, unkeyed, [f"u{i}" for i in range(100)])
    out = kcat(bootstrap, "-C", "-t", unkeyed, "-o", "beginning", "-e", "-f", "%p\n").stdout.decode()
    assert len(out.splitlines()) == 100
    assert len(set(out.splitlines())) == 1


@pytest.mark.parametrize("acks", ["0", "1"])
def test_acks_0_and_1_without_idempotence(module_broker, topic, acks):
    """acks=0 (no response, offsets unknown) and acks=1 turn idempotence off and still deliver."""
    bootstrap = module_broker.bootstrap
    create_topic(bootstrap, topic, 1)
    cp = produce_lines(bootstrap, topic, [f"a{i}" for i in range(500)], "--acks", acks, "--verbose")
    offsets = [line.split(" @ ")[1] for line in cp.stderr.decode().splitlines() if " @ " in line]
    assert offsets == (["-1"] * 500 if acks == "0" else [str(i) for i in range(500)])
    msgs = ck_consume(bootstrap, topic, 0, 500)
    assert [m.value() for m in msgs] == [f"a{i}".encode() for i in range(500)]
    assert all(m.headers() is None for m in msgs)


def test_batch_too_large_for_topic_is_split(module_broker, topic):
    """The topic's max.message.bytes (1500) is far below batch.size (64 KiB): the broker refuses
    the full batches with MESSAGE_TOO_LARGE and the idempotent producer splits them until they fit,
    keeping sequence order, so every record is stored once, in order."""
    import subprocess

    from harness import runnel_bin
    from runnel_cli import FAST

    bootstrap = module_broker.bootstrap
    create_topic(bootstrap, topic, 1, "max.message.bytes=1500")
    values = [f"record-{i:05d}-" + "y" * 80 for i in range(2000)]
    cp = subprocess.run([runnel_bin(), "produce", topic, "--bootstrap-server", bootstrap, *FAST,
                         "-X", "batch.size=65536", "--linger-ms", "50"],
                        input="".join(v + "\n" for v in values).encode(), stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=120)
    assert cp.returncode == 0, cp.stderr.decode()[-2000:]
    out = kcat(bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%s\n").stdout.decode()
    assert out.splitlines() == values
