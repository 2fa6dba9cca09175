#!/usr/bin/env python3
"""Regenerates the compression fixtures used by CompressionTests.swift.

Run once with a Python that has kafka-python, python-snappy, lz4 and zstandard:

    /tmp/venv/bin/python Tests/KafkaProtocolTests/Fixtures/compression/generate.py

The input is deterministic (a fixed LCG, not Python's `random`), so re-running this script
reproduces input.bin byte for byte; the compressed files may differ across library versions
but must always decompress to input.bin.
"""
import io
import os
import struct

import lz4.frame
import snappy
import zstandard
from kafka import codec

HERE = os.path.dirname(os.path.abspath(__file__))


def make_input(size=100 * 1024):
    """~100 KB mixing JSON-ish repeated records (compressible) and LCG noise (not)."""
    out = bytearray()
    state = 0x2545F491
    n = 0
    while len(out) < size:
        # A repeated record with a varying counter: compresses well.
        out += b'{"id":%d,"name":"runnel-record","tags":["alpha","beta","gamma"],"ok":true}\n' % n
        n += 1
        if n % 7 == 0:
            # 64 bytes of pseudo-random noise from a 32-bit LCG (Numerical Recipes constants).
            for _ in range(64):
                state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
                out.append(state >> 24)
    return bytes(out[:size])


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print("%-28s %7d bytes" % (name, len(data)))


def main():
    data = make_input()
    write("input.bin", data)

    # gzip: kafka-python's codec (RFC 1952, level 9).
    write("input.gzip", codec.gzip_encode(data))

    # snappy: xerial/snappy-java framing as kafka-python and aiokafka send it, and a raw block
    # as librdkafka sends it.
    write("input.snappy-xerial", codec.snappy_encode(data, xerial_compatible=True))
    write("input.snappy-raw", snappy.compress(data))

    # lz4: kafka-python's codec (lz4.frame, independent blocks), and a frame with every optional
    # flag set (content size, content checksum, block checksum) to check the reader tolerates them.
    write("input.lz4", codec.lz4_encode(data))
    write(
        "input.lz4-flags",
        lz4.frame.compress(
            data,
            block_size=lz4.frame.BLOCKSIZE_MAX64KB,
            block_linked=False,
            content_checksum=True,
            block_checksum=True,
            store_size=True,
        ),
    )

    # lz4 with linked (dependent) blocks: Kafka's Java reader rejects these, and so must we.
    write(
        "input.lz4-linked",
        lz4.frame.compress(data, block_size=lz4.frame.BLOCKSIZE_MAX64KB, block_linked=True),
    )

    # zstd: a streaming compressor that does not record the content size, like Java's zstd-jni
    # ZstdOutputStream; and kafka-python's one-shot codec (which does record it).
    cctx = zstandard.ZstdCompressor(level=3, write_content_size=False)
    buf = io.BytesIO()
    with cctx.stream_writer(buf, closefd=False) as w:
        for i in range(0, len(data), 8192):
            w.write(data[i : i + 8192])
    stream = buf.getvalue()
    params = zstandard.get_frame_parameters(stream)
    assert params.content_size == zstandard.CONTENTSIZE_UNKNOWN, params.content_size
    write("input.zstd", stream)
    write("input.zstd-kafka-python", codec.zstd_encode(data))

    # Sanity: every fixture decodes back with the Python libraries.
    assert codec.gzip_decode(open(os.path.join(HERE, "input.gzip"), "rb").read()) == data
    assert codec.snappy_decode(open(os.path.join(HERE, "input.snappy-xerial"), "rb").read()) == data
    assert snappy.decompress(open(os.path.join(HERE, "input.snappy-raw"), "rb").read()) == data
    assert codec.lz4_decode(open(os.path.join(HERE, "input.lz4"), "rb").read()) == data
    assert lz4.frame.decompress(open(os.path.join(HERE, "input.lz4-flags"), "rb").read()) == data
    assert codec.zstd_decode(stream) == data


if __name__ == "__main__":
    main()
