"""Minimal, dependency-free Kafka wire-protocol helpers for the interop tests.

Only what the raw-socket tests and the fixture capture tool need:

* primitive encoders/decoders (big-endian ints, int16-length strings, compact
  strings/arrays, unsigned varints, zig-zag varints, tagged-field buffers);
* request header v1 / v2 encoding and request-header parsing;
* ApiVersions (v0-v4) and Metadata (v0-v12) request encoders and response decoders;
* request-body decoders for Produce (v3-v9), Fetch (v4-v12), ListOffsets (v1-v7)
  and Metadata (v0-v12),
  used to describe captured client requests;
* a decoder for (uncompressed) RecordBatch v2 payloads;
* socket helpers to send a size-prefixed frame and read one back, or to detect
  that the broker closed the connection.

Nothing here depends on the broker under test; it is written from the Kafka
message JSON schemas (`clients/src/main/resources/common/message/*.json`).
"""

from __future__ import annotations

import socket
import struct
import time
import uuid
from typing import Any, Optional

# --------------------------------------------------------------------------------------
# API tables
# --------------------------------------------------------------------------------------

API_NAMES: dict[int, str] = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 4: "LeaderAndIsr",
    5: "StopReplica", 6: "UpdateMetadata", 7: "ControlledShutdown", 8: "OffsetCommit",
    9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat",
    13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups", 16: "ListGroups",
    17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
    21: "DeleteRecords", 22: "InitProducerId", 23: "OffsetForLeaderEpoch",
    24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn", 27: "WriteTxnMarkers",
    28: "TxnOffsetCommit", 29: "DescribeAcls", 30: "CreateAcls", 31: "DeleteAcls",
    32: "DescribeConfigs", 33: "AlterConfigs", 34: "AlterReplicaLogDirs",
    35: "DescribeLogDirs", 36: "SaslAuthenticate", 37: "CreatePartitions",
    38: "CreateDelegationToken", 39: "RenewDelegationToken", 40: "ExpireDelegationToken",
    41: "DescribeDelegationToken", 42: "DeleteGroups", 43: "ElectLeaders",
    44: "IncrementalAlterConfigs", 45: "AlterPartitionReassignments",
    46: "ListPartitionReassignments", 47: "OffsetDelete", 48: "DescribeClientQuotas",
    49: "AlterClientQuotas", 50: "DescribeUserScramCredentials",
    51: "AlterUserScramCredentials", 57: "UpdateFeatures", 60: "DescribeCluster",
    61: "DescribeProducers", 65: "DescribeTransactions", 66: "ListTransactions",
    68: "ConsumerGroupHeartbeat", 69: "ConsumerGroupDescribe",
    71: "GetTelemetrySubscriptions", 72: "PushTelemetry", 75: "DescribeTopicPartitions",
}

# First flexible version of each request (KIP-482). None = never flexible.
FLEXIBLE_FROM: dict[int, Optional[int]] = {
    0: 9, 1: 12, 2: 6, 3: 9, 8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4, 15: 5,
    16: 3, 17: None, 18: 3, 19: 5, 20: 4, 21: 2, 22: 2, 23: 4, 24: 3, 25: 3, 26: 3,
    28: 3, 29: 2, 30: 2, 31: 2, 32: 4, 33: 2, 34: 2, 35: 2, 36: 2, 37: 2, 42: 2,
    43: 2, 44: 1, 45: 0, 46: 0, 47: None, 48: 1, 49: 1, 50: 0, 51: 0, 57: 0, 60: 0,
    61: 0, 65: 0, 66: 0, 68: 0, 69: 0, 71: 0, 72: 0, 75: 0,
}

# Error codes used by the tests.
NONE = 0
UNSUPPORTED_VERSION = 35


def api_name(api_key: int) -> str:
    return API_NAMES.get(api_key, f"Api{api_key}")


def is_flexible(api_key: int, api_version: int) -> bool:
    first = FLEXIBLE_FROM.get(api_key)
    return first is not None and api_version >= first


class WireError(Exception):
    """Raised when a buffer cannot be decoded (truncated or malformed)."""


# --------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------


class Writer:
    def __init__(self) -> None:
        self.buf = bytearray()

    def bytes(self) -> bytes:
        return bytes(self.buf)

    def raw(self, b: bytes) -> "Writer":
        self.buf += b
        return self

    def int8(self, v: int) -> "Writer":
        self.buf += struct.pack(">b", v)
        return self

    def bool(self, v: bool) -> "Writer":
        return self.int8(1 if v else 0)

    def int16(self, v: int) -> "Writer":
        self.buf += struct.pack(">h", v)
        return self

    def int32(self, v: int) -> "Writer":
        self.buf += struct.pack(">i", v)
        return self

    def int64(self, v: int) -> "Writer":
        self.buf += struct.pack(">q", v)
        return self

    def uuid(self, v: Optional[uuid.UUID]) -> "Writer":
        self.buf += (v.bytes if v is not None else b"\x00" * 16)
        return self

    def uvarint(self, v: int) -> "Writer":
        if v < 0:
            raise ValueError("uvarint must be >= 0")
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                self.buf.append(b | 0x80)
            else:
                self.buf.append(b)
                return self

    def varint(self, v: int) -> "Writer":
        return self.uvarint((v << 1) ^ (v >> 63))

    def string(self, s: Optional[str]) -> "Writer":
        if s is None:
            return self.int16(-1)
        b = s.encode()
        return self.int16(len(b)).raw(b)

    def compact_string(self, s: Optional[str]) -> "Writer":
        if s is None:
            return self.uvarint(0)
        b = s.encode()
        return self.uvarint(len(b) + 1).raw(b)

    def array_len(self, n: Optional[int], flexible: bool) -> "Writer":
        if flexible:
            return self.uvarint(0 if n is None else n + 1)
        return self.int32(-1 if n is None else n)

    def str_(self, s: Optional[str], flexible: bool) -> "Writer":
        return self.compact_string(s) if flexible else self.string(s)

    def tags(self, tagged: Optional[dict[int, bytes]] = None) -> "Writer":
        tagged = tagged or {}
        self.uvarint(len(tagged))
        for tag in sorted(tagged):
            self.uvarint(tag).uvarint(len(tagged[tag])).raw(tagged[tag])
        return self


def request_header(api_key: int, api_version: int, correlation_id: int,
                   client_id: Optional[str] = "runnel-interop",
                   flexible: Optional[bool] = None) -> bytes:
    """Request header v1 (non-flexible) or v2 (flexible: v1 + empty tag buffer).

    client_id is always an int16-length string, even in v2."""
    if flexible is None:
        flexible = is_flexible(api_key, api_version)
    w = Writer().int16(api_key).int16(api_version).int32(correlation_id).string(client_id)
    if flexible:
        w.tags()
    return w.bytes()


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def encode_api_versions_request(version: int, correlation_id: int,
                                client_id: Optional[str] = "runnel-interop",
                                software_name: str = "runnel-interop",
                                software_version: str = "1.0") -> bytes:
    """Payload (without size prefix) of an ApiVersions request of any version.

    v0-v2 have an empty body; v3+ (and any unknown higher version) carry the
    v3 body: compact client_software_name, compact client_software_version, tags."""
    hdr = request_header(18, version, correlation_id, client_id, flexible=version >= 3)
    if version < 3:
        return hdr
    body = Writer().compact_string(software_name).compact_string(software_version).tags()
    return hdr + body.bytes()


def encode_metadata_request(version: int, correlation_id: int, topics: Optional[list[str]],
                            client_id: Optional[str] = "runnel-interop",
                            allow_auto_topic_creation: bool = False) -> bytes:
    flex = version >= 9
    w = Writer()
    if topics is None:
        if version == 0:
            w.array_len(0, flex)  # v0: empty list means "all topics"
        else:
            w.array_len(None, flex)
    else:
        w.array_len(len(topics), flex)
        for t in topics:
            if version >= 10:
                w.uuid(None)
            w.str_(t, flex)
            if flex:
                w.tags()
    if version >= 4:
        w.bool(allow_auto_topic_creation)
    if 8 <= version <= 10:
        w.bool(False)  # include_cluster_authorized_operations
    if version >= 8:
        w.bool(False)  # include_topic_authorized_operations
    if flex:
        w.tags()
    return request_header(3, version, correlation_id, client_id, flexible=flex) + w.bytes()


# --------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------


class Reader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = bytes(data)
        self.pos = pos

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise WireError(f"need {n} bytes at offset {self.pos}, have {self.remaining()}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def _unpack(self, fmt: str, n: int) -> int:
        return struct.unpack(fmt, self.take(n))[0]

    def int8(self) -> int:
        return self._unpack(">b", 1)

    def bool(self) -> bool:
        return self.int8() != 0

    def int16(self) -> int:
        return self._unpack(">h", 2)

    def int32(self) -> int:
        return self._unpack(">i", 4)

    def uint32(self) -> int:
        return self._unpack(">I", 4)

    def int64(self) -> int:
        return self._unpack(">q", 8)

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.take(16))

    def uvarint(self) -> int:
        shift = 0
        result = 0
        for _ in range(10):
            b = self.take(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
        raise WireError("varint too long")

    def varint(self) -> int:
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)

    def string(self) -> Optional[str]:
        n = self.int16()
        if n == -1:
            return None
        if n < -1:
            raise WireError(f"bad string length {n}")
        return self.take(n).decode("utf-8", errors="replace")

    def compact_string(self) -> Optional[str]:
        n = self.uvarint()
        if n == 0:
            return None
        return self.take(n - 1).decode("utf-8", errors="replace")

    def str_(self, flexible: bool) -> Optional[str]:
        return self.compact_string() if flexible else self.string()

    def bytes_(self, flexible: bool) -> Optional[bytes]:
        if flexible:
            n = self.uvarint()
            return None if n == 0 else self.take(n - 1)
        n = self.int32()
        if n == -1:
            return None
        if n < -1:
            raise WireError(f"bad bytes length {n}")
        return self.take(n)

    def array_len(self, flexible: bool) -> Optional[int]:
        if flexible:
            n = self.uvarint()
            return None if n == 0 else n - 1
        n = self.int32()
        if n == -1:
            return None
        if n < -1:
            raise WireError(f"bad array length {n}")
        return n

    def array(self, flexible: bool, item) -> Optional[list]:
        n = self.array_len(flexible)
        if n is None:
            return None
        if n > self.remaining():
            # every element takes at least one byte: a count beyond that is truncation
            raise WireError(f"array count {n} exceeds remaining {self.remaining()} bytes")
        return [item() for _ in range(n)]

    def tags(self) -> dict[int, bytes]:
        out: dict[int, bytes] = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            size = self.uvarint()
            out[tag] = self.take(size)
        return out


def parse_request_header(payload: bytes) -> tuple[dict[str, Any], Reader]:
    """Parse a request header (v1 or v2 depending on api key/version).

    Returns the header fields and a Reader positioned at the start of the body."""
    r = Reader(payload)
    api_key = r.int16()
    api_version = r.int16()
    correlation_id = r.int32()
    client_id = r.string()
    flex = is_flexible(api_key, api_version)
    header_tags = r.tags() if flex else {}
    return ({
        "api_key": api_key,
        "api_name": api_name(api_key),
        "api_version": api_version,
        "correlation_id": correlation_id,
        "client_id": client_id,
        "flexible": flex,
        "header_tags": sorted(header_tags),
    }, r)


def decode_api_versions_response(payload: bytes, version: int) -> dict[str, Any]:
    """Decode an ApiVersions response (header v0 + body of `version`).

    Use version=0 to decode an error reply for an unsupported request version
    (Kafka sends the v0 body layout then). The result carries `trailing` =
    number of unconsumed bytes (0 for a correctly shaped response)."""
    r = Reader(payload)
    out: dict[str, Any] = {"correlation_id": r.int32()}
    flex = version >= 3
    out["error_code"] = r.int16()

    def entry():
        k, lo, hi = r.int16(), r.int16(), r.int16()
        if flex:
            r.tags()
        return (k, lo, hi)

    entries = r.array(flex, entry) or []
    out["entries"] = entries
    out["api_keys"] = {k: (lo, hi) for k, lo, hi in entries}
    if version >= 1:
        out["throttle_time_ms"] = r.int32()
    if flex:
        out["tagged_fields"] = sorted(r.tags())
    out["trailing"] = r.remaining()
    return out


def decode_metadata_response(payload: bytes, version: int) -> dict[str, Any]:
    """Decode a Metadata response v0-v12 (response header v0, or v1 from v9)."""
    flex = version >= 9
    r = Reader(payload)
    out: dict[str, Any] = {"correlation_id": r.int32()}
    if flex:
        r.tags()
    if version >= 3:
        out["throttle_time_ms"] = r.int32()

    def broker():
        b = {"node_id": r.int32(), "host": r.str_(flex), "port": r.int32()}
        if version >= 1:
            b["rack"] = r.str_(flex)
        if flex:
            r.tags()
        return b

    out["brokers"] = r.array(flex, broker) or []
    if version >= 2:
        out["cluster_id"] = r.str_(flex)
    if version >= 1:
        out["controller_id"] = r.int32()

    def int32_array():
        return r.array(flex, r.int32) or []

    def partition():
        p = {"error_code": r.int16(), "partition_index": r.int32(), "leader_id": r.int32()}
        if version >= 7:
            p["leader_epoch"] = r.int32()
        p["replica_nodes"] = int32_array()
        p["isr_nodes"] = int32_array()
        if version >= 5:
            p["offline_replicas"] = int32_array()
        if flex:
            r.tags()
        return p

    def topic():
        t: dict[str, Any] = {"error_code": r.int16(), "name": r.str_(flex)}
        if version >= 10:
            t["topic_id"] = r.uuid()
        if version >= 1:
            t["is_internal"] = r.bool()
        t["partitions"] = r.array(flex, partition) or []
        if version >= 8:
            t["topic_authorized_operations"] = r.int32()
        if flex:
            r.tags()
        return t

    out["topics"] = r.array(flex, topic) or []
    if 8 <= version <= 10:
        out["cluster_authorized_operations"] = r.int32()
    if flex:
        r.tags()
    out["trailing"] = r.remaining()
    return out


# --------------------------------------------------------------------------------------
# Record batches (magic 2)
# --------------------------------------------------------------------------------------

COMPRESSION_NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def decode_record_batches(data: bytes) -> list[dict[str, Any]]:
    """Split a records blob into batches and decode each batch header.

    Records are decoded only for uncompressed batches (compression 0)."""
    batches = []
    r = Reader(data)
    while r.remaining() >= 61:
        start = r.pos
        base_offset = r.int64()
        batch_length = r.int32()
        end = r.pos + batch_length
        if end > len(data):
            break  # partial trailing batch (allowed in Fetch responses)
        b: dict[str, Any] = {
            "base_offset": base_offset,
            "batch_length": batch_length,
            "partition_leader_epoch": r.int32(),
            "magic": r.int8(),
        }
        if b["magic"] != 2:
            b["error"] = "not magic 2"
            r.pos = end
            batches.append(b)
            continue
        b["crc"] = r.uint32()
        attrs = r.int16()
        b["attributes"] = attrs
        b["compression"] = COMPRESSION_NAMES.get(attrs & 0x7, f"codec{attrs & 7}")
        b["timestamp_type"] = "log_append" if attrs & 0x8 else "create"
        b["is_transactional"] = bool(attrs & 0x10)
        b["is_control"] = bool(attrs & 0x20)
        b["last_offset_delta"] = r.int32()
        b["base_timestamp"] = r.int64()
        b["max_timestamp"] = r.int64()
        b["producer_id"] = r.int64()
        b["producer_epoch"] = r.int16()
        b["base_sequence"] = r.int32()
        count = r.int32()
        b["record_count"] = count
        body = data[r.pos:end]
        if attrs & 0x7 == 0:
            b["records"] = _decode_records(body, count, base_offset, b["base_timestamp"])
        b["crc_ok"] = _crc_ok(data[start + 21:end], b["crc"])
        batches.append(b)
        r.pos = end
    return batches


def _crc_ok(covered: bytes, crc: int) -> Optional[bool]:
    try:
        import crc32c  # type: ignore
    except ImportError:
        return None
    return crc32c.crc32c(covered) == crc


def _decode_records(body: bytes, count: int, base_offset: int, base_ts: int) -> list[dict[str, Any]]:
    r = Reader(body)
    records = []
    for _ in range(count):
        length = r.varint()
        end = r.pos + length
        r.int8()  # attributes (unused)
        ts_delta = r.varint()
        off_delta = r.varint()
        klen = r.varint()
        key = None if klen < 0 else r.take(klen)
        vlen = r.varint()
        value = None if vlen < 0 else r.take(vlen)
        headers = []
        for _ in range(r.varint()):
            hk = r.take(r.varint()).decode("utf-8", errors="replace")
            hvl = r.varint()
            hv = None if hvl < 0 else r.take(hvl)
            headers.append((hk, hv))
        r.pos = end
        records.append({"offset": base_offset + off_delta, "timestamp": base_ts + ts_delta,
                        "key": key, "value": value, "headers": headers})
    return records


# --------------------------------------------------------------------------------------
# Request body decoders (for captured client requests)
# --------------------------------------------------------------------------------------


def decode_produce_request_body(r: Reader, version: int) -> dict[str, Any]:
    if version < 3:
        raise WireError("Produce < v3 not supported by this decoder")
    flex = version >= 9
    out: dict[str, Any] = {
        "transactional_id": r.str_(flex),
        "acks": r.int16(),
        "timeout_ms": r.int32(),
    }

    def partition():
        p = {"partition": r.int32()}
        records = r.bytes_(flex)
        p["records_size"] = None if records is None else len(records)
        p["batches"] = decode_record_batches(records) if records else []
        if flex:
            r.tags()
        return p

    def topic():
        t = {"topic": r.str_(flex), "partitions": r.array(flex, partition) or []}
        if flex:
            r.tags()
        return t

    out["topics"] = r.array(flex, topic) or []
    if flex:
        r.tags()
    return out


def decode_fetch_request_body(r: Reader, version: int) -> dict[str, Any]:
    if version < 4 or version > 12:
        raise WireError("Fetch decoder supports v4-v12")
    flex = version >= 12
    out: dict[str, Any] = {
        "replica_id": r.int32(),
        "max_wait_ms": r.int32(),
        "min_bytes": r.int32(),
        "max_bytes": r.int32(),
        "isolation_level": r.int8(),
    }
    if version >= 7:
        out["session_id"] = r.int32()
        out["session_epoch"] = r.int32()

    def partition():
        p: dict[str, Any] = {"partition": r.int32()}
        if version >= 9:
            p["current_leader_epoch"] = r.int32()
        p["fetch_offset"] = r.int64()
        if version >= 12:
            p["last_fetched_epoch"] = r.int32()
        if version >= 5:
            p["log_start_offset"] = r.int64()
        p["partition_max_bytes"] = r.int32()
        if flex:
            r.tags()
        return p

    def topic():
        t = {"topic": r.str_(flex), "partitions": r.array(flex, partition) or []}
        if flex:
            r.tags()
        return t

    out["topics"] = r.array(flex, topic) or []
    if version >= 7:
        def forgotten():
            f = {"topic": r.str_(flex), "partitions": r.array(flex, r.int32) or []}
            if flex:
                r.tags()
            return f
        out["forgotten_topics"] = r.array(flex, forgotten) or []
    if version >= 11:
        out["rack_id"] = r.str_(flex)
    if flex:
        r.tags()
    return out


def decode_metadata_request_body(r: Reader, version: int) -> dict[str, Any]:
    flex = version >= 9

    def topic():
        t: dict[str, Any] = {}
        if version >= 10:
            t["topic_id"] = str(r.uuid())
        t["name"] = r.str_(flex)
        if flex:
            r.tags()
        return t

    topics = r.array(flex, topic)
    out: dict[str, Any] = {"topics": None if topics is None else [t["name"] for t in topics]}
    if version >= 4:
        out["allow_auto_topic_creation"] = r.bool()
    if 8 <= version <= 10:
        out["include_cluster_authorized_operations"] = r.bool()
    if version >= 8:
        out["include_topic_authorized_operations"] = r.bool()
    if flex:
        r.tags()
    return out


def decode_list_offsets_request_body(r: Reader, version: int) -> dict[str, Any]:
    if version < 1 or version > 7:
        raise WireError("ListOffsets decoder supports v1-v7")
    flex = version >= 6
    out: dict[str, Any] = {"replica_id": r.int32()}
    if version >= 2:
        out["isolation_level"] = r.int8()

    def partition():
        p: dict[str, Any] = {"partition": r.int32()}
        if version >= 4:
            p["current_leader_epoch"] = r.int32()
        p["timestamp"] = r.int64()
        if flex:
            r.tags()
        return p

    def topic():
        t = {"topic": r.str_(flex), "partitions": r.array(flex, partition) or []}
        if flex:
            r.tags()
        return t

    out["topics"] = r.array(flex, topic) or []
    if flex:
        r.tags()
    return out


def decode_api_versions_request_body(r: Reader, version: int) -> dict[str, Any]:
    if version < 3:
        return {}
    out = {"client_software_name": r.compact_string(),
           "client_software_version": r.compact_string()}
    r.tags()
    return out


BODY_DECODERS = {
    0: decode_produce_request_body,
    1: decode_fetch_request_body,
    2: decode_list_offsets_request_body,
    3: decode_metadata_request_body,
    18: decode_api_versions_request_body,
}


def parse_request(payload: bytes) -> dict[str, Any]:
    """Parse a whole request frame payload (without the size prefix).

    The result has the header fields plus `body` (a dict, for the APIs in
    BODY_DECODERS) and `body_trailing` (bytes left over after decoding; 0 when
    the decoder consumed the request exactly)."""
    header, r = parse_request_header(payload)
    dec = BODY_DECODERS.get(header["api_key"])
    if dec is not None:
        header["body"] = dec(r, header["api_version"])
        header["body_trailing"] = r.remaining()
    return header


# --------------------------------------------------------------------------------------
# Sockets
# --------------------------------------------------------------------------------------


def connect(host: str, port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _recv_exact(sock: socket.socket, n: int, deadline: float) -> Optional[bytes]:
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out after reading {len(buf)}/{n} bytes")
        sock.settimeout(left)
        try:
            chunk = sock.recv(n - len(buf))
        except socket.timeout as e:
            raise TimeoutError(f"timed out after reading {len(buf)}/{n} bytes") from e
        if not chunk:
            if buf:
                raise WireError(f"connection closed after {len(buf)}/{n} bytes")
            return None
        buf += chunk
    return bytes(buf)


def recv_frame(sock: socket.socket, timeout: float = 5.0) -> Optional[bytes]:
    """Read one size-prefixed response; returns its payload, or None on clean EOF.

    Raises TimeoutError if nothing complete arrives within `timeout`."""
    deadline = time.monotonic() + timeout
    head = _recv_exact(sock, 4, deadline)
    if head is None:
        return None
    (size,) = struct.unpack(">i", head)
    if size < 0:
        raise WireError(f"negative response size {size}")
    body = _recv_exact(sock, size, deadline)
    if body is None:
        raise WireError("connection closed inside a frame")
    return body


def request(sock: socket.socket, payload: bytes, timeout: float = 5.0) -> bytes:
    sock.sendall(frame(payload))
    resp = recv_frame(sock, timeout)
    if resp is None:
        raise WireError("broker closed the connection instead of answering")
    return resp


def wait_closed(sock: socket.socket, timeout: float = 5.0) -> tuple[str, bytes]:
    """Read until the peer closes the connection or `timeout` passes.

    Returns (outcome, data) where outcome is 'closed' (EOF or reset seen) or
    'timeout' (connection still open at the deadline) and data is whatever
    bytes arrived before that."""
    deadline = time.monotonic() + timeout
    data = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout", bytes(data)
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return "timeout", bytes(data)
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return "closed", bytes(data)
        if not chunk:
            return "closed", bytes(data)
        data += chunk


def send_ignoring_reset(sock: socket.socket, data: bytes) -> None:
    """sendall that tolerates the broker having already closed/reset the socket."""
    try:
        sock.sendall(data)
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        pass
