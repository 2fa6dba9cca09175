"""SASL over the raw Kafka wire protocol, for tests that need exact control.

SaslHandshake v1 (key 17, never flexible) and SaslAuthenticate v0-2 (key 36,
flexible from v2), written from Kafka's message JSON; PLAIN (RFC 4616) and a
SCRAM client (RFC 5802) built on hashlib/hmac, independent of the broker's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
from typing import Optional

import kafka_wire as kw

UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34
SASL_AUTHENTICATION_FAILED = 58


def handshake(sock: socket.socket, mechanism: str, correlation_id: int = 1) -> dict:
    """SaslHandshake v1 -> {'error_code', 'mechanisms'}."""
    payload = kw.request_header(17, 1, correlation_id) + kw.Writer().string(mechanism).bytes()
    resp = kw.request(sock, payload)
    r = kw.Reader(resp)
    assert r.int32() == correlation_id
    code = r.int16()
    n = r.int32()
    mechanisms = [r.string() for _ in range(n)]
    return {"error_code": code, "mechanisms": mechanisms}


def authenticate_request(token: bytes, version: int = 2, correlation_id: int = 2) -> bytes:
    flexible = version >= 2
    w = kw.Writer()
    if flexible:
        w.uvarint(len(token) + 1).raw(token).tags()
    else:
        w.int32(len(token)).raw(token)
    return kw.request_header(36, version, correlation_id) + w.bytes()


def decode_authenticate_response(resp: bytes, version: int = 2, correlation_id: int = 2) -> dict:
    flexible = version >= 2
    r = kw.Reader(resp)
    assert r.int32() == correlation_id
    if flexible:
        r.tags()
    code = r.int16()
    message = r.compact_string() if flexible else r.string()
    auth = r.bytes_(flexible)
    lifetime = r.int64() if version >= 1 else None
    return {"error_code": code, "error_message": message, "auth_bytes": auth, "session_lifetime_ms": lifetime}


def authenticate(sock: socket.socket, token: bytes, version: int = 2, correlation_id: int = 2) -> dict:
    return decode_authenticate_response(kw.request(sock, authenticate_request(token, version, correlation_id)),
                                        version, correlation_id)


def plain_token(user: str, password: str, authzid: str = "") -> bytes:
    return f"{authzid}\0{user}\0{password}".encode()


def plain_login(host: str, port: int, user: str, password: str, version: int = 2) -> tuple[socket.socket, dict]:
    sock = kw.connect(host, port)
    hs = handshake(sock, "PLAIN")
    assert hs["error_code"] == 0, hs
    return sock, authenticate(sock, plain_token(user, password), version)


class ScramClient:
    """RFC 5802 client side, for SCRAM-SHA-256 / SCRAM-SHA-512."""

    def __init__(self, mechanism: str, user: str, password: str) -> None:
        self.hash = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
        self.user = user
        self.password = password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.bare = f"n={user.replace('=', '=3D').replace(',', '=2C')},r={self.nonce}"
        self.server_signature: Optional[bytes] = None

    def first(self) -> bytes:
        return ("n,," + self.bare).encode()

    def final(self, server_first: bytes) -> bytes:
        text = server_first.decode()
        attrs = dict(part.split("=", 1) for part in text.split(","))
        assert attrs["r"].startswith(self.nonce), text
        salted = hashlib.pbkdf2_hmac(self.hash, self.password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", self.hash).digest()
        stored_key = hashlib.new(self.hash, client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{self.bare},{text},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, self.hash).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", self.hash).digest()
        self.server_signature = hmac.new(server_key, auth_message, self.hash).digest()
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> bool:
        text = server_final.decode()
        return text.startswith("v=") and base64.b64decode(text[2:]) == self.server_signature
