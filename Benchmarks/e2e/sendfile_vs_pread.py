#!/usr/bin/env python3
"""Serving file bytes to a loopback socket: sendfile(2) (what NIO's FileRegion uses) against
pread(2) into one reused buffer and send(2) (what Runnel's Fetch path does: pread into a buffer,
then a gathering write). The file is in the page cache, as a consumer's recent data is; a separate
process reads and discards. Prints GB/s and the sender's CPU seconds per GB for each chunk size.

    python3 Benchmarks/e2e/sendfile_vs_pread.py [FILE_MIB=1024] [ROUNDS=3]
"""
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

SIZE = int(sys.argv[1]) * 1024 * 1024 if len(sys.argv) > 1 else 1 << 30
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
SINK = "import socket,sys\ns=socket.socket();s.connect(('127.0.0.1',int(sys.argv[1])));b=bytearray(1<<20)\nwhile s.recv_into(b):pass\n"


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def serve(fd, chunk, mode):
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(lst.getsockname()[1])])
    conn, _ = lst.accept()
    buf = bytearray(chunk)
    view = memoryview(buf)
    c0, t0 = cpu(), time.perf_counter()
    offset = 0
    while offset < SIZE:
        if mode == "sendfile":
            offset += os.sendfile(conn.fileno(), fd, offset, min(chunk, SIZE - offset))
        else:
            n = os.preadv(fd, [view[:min(chunk, SIZE - offset)]], offset)
            conn.sendall(view[:n])
            offset += n
    conn.close()
    sink.wait()
    secs, cpus = time.perf_counter() - t0, cpu() - c0
    lst.close()
    return SIZE / secs / 1e9, cpus / (SIZE / 1e9)


def main():
    with tempfile.NamedTemporaryFile(dir=os.environ.get("TMPDIR", "/tmp")) as f:
        block = os.urandom(1 << 20)
        for _ in range(SIZE >> 20):
            f.write(block)
        f.flush()
        fd = f.fileno()
        os.pread(fd, 1, 0)
        while os.read(fd, 1 << 24):  # into the page cache
            pass
        print(f"{SIZE >> 20} MiB from the page cache to a loopback socket, {ROUNDS} rounds (median)")
        print(f"{'chunk':>8} {'sendfile GB/s':>14} {'pread+send GB/s':>16} {'sendfile CPU s/GB':>18} {'pread CPU s/GB':>15}")
        for chunk in (64 << 10, 1 << 20, 8 << 20):
            res = {"sendfile": [], "pread": []}
            for r in range(ROUNDS):
                for mode in (("sendfile", "pread") if r % 2 == 0 else ("pread", "sendfile")):
                    res[mode].append(serve(fd, chunk, mode))
            med = {m: sorted(v)[len(v) // 2] for m, v in res.items()}
            print(f"{chunk >> 10:>6}Ki {med['sendfile'][0]:>14.2f} {med['pread'][0]:>16.2f} "
                  f"{med['sendfile'][1]:>18.3f} {med['pread'][1]:>15.3f}")


if __name__ == "__main__":
    main()
