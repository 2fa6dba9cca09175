"""A hostile client for test_attacker.py, run as its own process (python attacker.py HOST PORT
SECONDS): from 127.0.0.2 it opens about 2,000 connections, waits until the broker has accepted them
all (an ApiVersions round trip on one more connection, accepted after every other), prints "ready",
and for SECONDS

* keeps 1,500 of them half-way through a request (a size prefix promising 1,000 bytes, then 10),
* reconnects in a loop sending Metadata requests whose topic array claims 2^31-1 entries,
* pipelines ApiVersions requests on 200 connections (4 KiB receive buffers) without ever reading
  the answers.

Then it prints one JSON line of what it did and exits, closing everything.
"""

from __future__ import annotations

import json
import resource
import select
import socket
import struct
import sys
import time

import kafka_wire as kw

SOURCE = ("127.0.0.2", 0)
PARTIAL = 1500
FLOODERS = 200
FLOOD_REQUESTS = 500


def connect(host: str, port: int, rcvbuf: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        # A small receive window: the broker's responses back up after a few kilobytes.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(SOURCE)
    s.settimeout(5)
    s.connect((host, port))
    s.setblocking(False)
    return s


def main() -> None:
    host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    done = {"partial": 0, "flooders": 0, "flood_bytes_sent": 0, "giant_counts": 0, "giant_closed": 0}
    held = []
    for _ in range(PARTIAL):
        s = connect(host, port)
        s.send(struct.pack(">i", 1000) + b"\x00" * 10)
        held.append(s)
        done["partial"] += 1
    flood = kw.frame(kw.encode_api_versions_request(3, 1, client_id="flooder"))
    flooders = []
    for _ in range(FLOODERS):
        s = connect(host, port, rcvbuf=4096)
        flooders.append([s, flood * FLOOD_REQUESTS])
        done["flooders"] += 1
    # The broker accepts connections in order: an answer on one opened after all the others means
    # it has taken them all in, so the measured attack is the flood, not the tail of the accept queue.
    probe = connect(host, port)
    probe.setblocking(True)
    kw.request(probe, kw.encode_api_versions_request(3, 1, client_id="probe"), timeout=60)
    probe.close()
    print("ready", flush=True)
    # Metadata v1 whose topic array count is 2^31-1 with no topics after it.
    giant = kw.frame(kw.request_header(3, 1, 7, "giant") + struct.pack(">i", 0x7FFFFFFF))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for entry in flooders:
            s, pending = entry
            if pending:
                try:
                    n = s.send(pending)
                    entry[1] = pending[n:]
                    done["flood_bytes_sent"] += n
                except (BlockingIOError, ConnectionError):
                    pass
        try:
            g = connect(host, port)
            g.send(giant)
            done["giant_counts"] += 1
            poller = select.poll()     # select() cannot watch descriptors above 1023
            poller.register(g, select.POLLIN)
            if poller.poll(1000):
                try:
                    if g.recv(1) == b"":
                        done["giant_closed"] += 1
                except ConnectionError:
                    done["giant_closed"] += 1
            g.close()
        except OSError:
            pass
        time.sleep(0.01)
    print(json.dumps(done), flush=True)
    for s in held + [f[0] for f in flooders]:
        s.close()


if __name__ == "__main__":
    main()
