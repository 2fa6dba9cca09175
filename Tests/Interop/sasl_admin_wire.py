"""AlterUserScramCredentials v0 / DescribeUserScramCredentials v0 (keys 51 / 50, flexible) on
the raw wire, for the validation cases client libraries refuse to send."""

from __future__ import annotations

import os
import socket

import kafka_wire as kw


def alter(sock: socket.socket, upsertions: list[tuple[str, int, int]], deletions: list[tuple[str, int]],
          correlation_id: int = 20) -> dict[str, int]:
    """Upsertions are (user, mechanism id, iterations) with a random salt and salted password;
    returns user -> error code."""
    w = kw.Writer()
    w.uvarint(len(deletions) + 1)
    for name, mechanism in deletions:
        w.compact_string(name).int8(mechanism).tags()
    w.uvarint(len(upsertions) + 1)
    for name, mechanism, iterations in upsertions:
        salt, salted = os.urandom(16), os.urandom(64)
        w.compact_string(name).int8(mechanism).int32(iterations)
        w.uvarint(len(salt) + 1).raw(salt).uvarint(len(salted) + 1).raw(salted).tags()
    w.tags()
    r = kw.Reader(kw.request(sock, kw.request_header(51, 0, correlation_id) + w.bytes()))
    assert r.int32() == correlation_id
    r.tags()
    r.int32()  # throttle
    out = {}
    for _ in range(r.uvarint() - 1):
        user, code = r.compact_string(), r.int16()
        r.compact_string()
        r.tags()
        out[user] = code
    return out


def describe(sock: socket.socket, users: list[str] | None, correlation_id: int = 21) -> dict[str, int]:
    """Returns user -> error code."""
    w = kw.Writer()
    if users is None:
        w.uvarint(0)
    else:
        w.uvarint(len(users) + 1)
        for name in users:
            w.compact_string(name).tags()
    w.tags()
    r = kw.Reader(kw.request(sock, kw.request_header(50, 0, correlation_id) + w.bytes()))
    assert r.int32() == correlation_id
    r.tags()
    r.int32()
    assert r.int16() == 0
    r.compact_string()
    out = {}
    for _ in range(r.uvarint() - 1):
        user, code = r.compact_string(), r.int16()
        r.compact_string()
        for _ in range(r.uvarint() - 1):
            r.int8(), r.int32(), r.tags()
        r.tags()
        out[user] = code
    return out
