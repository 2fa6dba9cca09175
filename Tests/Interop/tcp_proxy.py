"""A tiny recording TCP proxy for Kafka traffic (loopback only).

Every accepted client connection is forwarded to 127.0.0.1:<target_port>.
Client->broker bytes are split into Kafka frames (int32 size + payload) and each
payload is recorded, in order, together with the connection number. Broker->client
bytes are forwarded untouched (and split/recorded too, for debugging).

Clients reconnect to the address the broker advertises in Metadata, so the broker
must advertise the PROXY's port (`advertised.listeners=PLAINTEXT://127.0.0.1:<proxy>`)
for all traffic to pass through the proxy.
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Frame:
    conn: int
    direction: str  # "request" (client->broker) or "response"
    payload: bytes


@dataclass
class RecordingProxy:
    target_port: int
    target_host: str = "127.0.0.1"
    listen_port: int = 0
    frames: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._conn_seq = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.listen_port))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._thread: Optional[threading.Thread] = None

    # ------------------------------------------------------------------------------
    def start(self) -> "RecordingProxy":
        self._thread = threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            socks = list(self._sockets)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self) -> "RecordingProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------------------
    def requests(self) -> list[Frame]:
        with self._lock:
            return [f for f in self.frames if f.direction == "request"]

    def clear(self) -> None:
        with self._lock:
            self.frames.clear()

    # ------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((self.target_host, self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conn_seq += 1
                conn = self._conn_seq
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(conn, client, upstream, "request"),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(conn, upstream, client, "response"),
                             daemon=True).start()

    def _pump(self, conn: int, src: socket.socket, dst: socket.socket, direction: str) -> None:
        buf = bytearray()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buf += data
                while len(buf) >= 4:
                    (size,) = struct.unpack(">i", buf[:4])
                    if size < 0 or len(buf) < 4 + size:
                        break
                    payload = bytes(buf[4:4 + size])
                    del buf[:4 + size]
                    with self._lock:
                        self.frames.append(Frame(conn, direction, payload))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
