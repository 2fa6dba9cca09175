"""What the broker tells an operator: start-up checks that stop with a message naming the fix,
warnings about low resource limits, rate-limited logs under a flood of bad requests, and
shutdown on SIGTERM (a second one forces the exit) with nothing acknowledged lost."""
from __future__ import annotations

import re
import resource
import signal
import socket
import subprocess
import threading
import time

import pytest

import kafka_wire as kw
from harness import free_port
from storage_util import ck_admin, ck_producer, create_topic, watermarks


def run_broker(runnel_path: str, log_dir, *overrides: str, preexec=None, timeout: float = 60) -> subprocess.CompletedProcess:
    args = [runnel_path, "broker", "--override", f"listeners=PLAINTEXT://127.0.0.1:{free_port()}",
            "--override", f"log.dirs={log_dir}", "--override", "offsets.topic.replication.factor=1",
            "--override", f"runnel.metrics.listener=http://127.0.0.1:{free_port()}/metrics"]
    for o in overrides:
        args += ["--override", o]
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                          preexec_fn=preexec)


def test_log_dirs_locked_by_another_broker(broker, runnel_path):
    cp = run_broker(runnel_path, broker.log_dir)
    assert cp.returncode != 0
    assert f"is locked by another running broker (pid {broker.pid})" in cp.stderr, cp.stderr[-2000:]
    assert "--override log.dirs=PATH" in cp.stderr
    # The running broker is unaffected.
    assert ck_admin(broker.bootstrap).list_topics(timeout=10) is not None


def test_log_dirs_not_writable(runnel_path, tmp_path):
    regular = tmp_path / "a-file"
    regular.write_text("not a directory")
    for bad in (regular / "logs", "/proc/runnel-cannot-create-here"):
        cp = run_broker(runnel_path, bad)
        assert cp.returncode != 0
        assert "is not a writable directory" in cp.stderr and "--override log.dirs=PATH" in cp.stderr, cp.stderr[-2000:]


def test_log_dirs_without_enough_free_space(runnel_path, tmp_path):
    cp = run_broker(runnel_path, tmp_path / "logs", "runnel.log.dirs.min.free.bytes=9223372036854775807")
    assert cp.returncode != 0
    assert re.search(r"has \d+ bytes free, below runnel.log.dirs.min.free.bytes \(9223372036854775807\)", cp.stderr), cp.stderr[-2000:]


def test_low_open_file_limit_is_warned_about_with_numbers(broker_factory, runnel_path, tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = min(4096, hard) if hard != resource.RLIM_INFINITY else 4096

    def lower():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))

    port = free_port()
    proc = subprocess.Popen([runnel_path, "broker", "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}",
                             "--override", f"log.dirs={tmp_path / 'logs'}", "--override", "runnel.metrics.listener="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=lower)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    line = next(l for l in err.splitlines() if "low open-file limit" in l)
    assert f"nofile.soft={limit}" in line and "recommended=100000" in line and "ulimit -n" in line


def _bad_config_request(correlation_id: int, topic: str) -> bytes:
    # IncrementalAlterConfigs v0: SET retention.ms to a value that is not a number.
    body = (kw.Writer().int32(1).int8(2).string(topic).int32(1).string("retention.ms").int8(0).string("soon").int8(0)).bytes()
    return kw.request_header(44, 0, correlation_id, flexible=False) + body


def test_a_flood_of_bad_requests_logs_a_bounded_number_of_lines(broker, topic):
    create_topic(broker.bootstrap, topic)
    before = broker.log_text().count("config change refused")
    sock = kw.connect(broker.host, broker.port)
    try:
        # 10,000 refused requests, pipelined in chunks of 500, on one connection.
        sent = 0
        while sent < 10_000:
            sock.sendall(b"".join(kw.frame(_bad_config_request(sent + i, topic)) for i in range(500)))
            for i in range(500):
                r = kw.Reader(kw.recv_frame(sock, timeout=30))
                assert r.int32() == sent + i
                r.int32()  # throttle
                assert r.int32() == 1 and r.int16() == 40  # INVALID_CONFIG
            sent += 500
    finally:
        sock.close()
    # 1,000 connections that each send an unparsable frame and get closed.
    for _ in range(1_000):
        s = kw.connect(broker.host, broker.port)
        s.sendall(kw.frame(b"\x00\x63\x00\x00garbage"))
        kw.wait_closed(s)
        s.close()
    time.sleep(0.5)
    text = broker.log_text()
    refused = text.count("config change refused") - before
    closed = text.count("closing connection")
    # A burst of 10 lines per 10 s window per key; the run takes at most a few windows.
    assert 1 <= refused <= 60, refused
    assert 1 <= closed <= 60, closed
    assert re.search(r"suppressed=\d+", text) or refused <= 10


def test_sigterm_during_load_loses_nothing_acknowledged(broker, topic):
    create_topic(broker.bootstrap, topic)
    delivered: list[bytes] = []
    errors: list[str] = []
    stop = threading.Event()

    def produce():
        p = ck_producer(broker.bootstrap, **{"enable.idempotence": True, "linger.ms": 2, "message.timeout.ms": 60000})

        def cb(err, msg):
            if err is None:
                delivered.append(msg.value())
            elif not err.retriable():
                errors.append(str(err))

        i = 0
        while not stop.is_set():
            try:
                p.produce(topic, value=b"m-%06d" % i, partition=0, on_delivery=cb)
                i += 1
            except BufferError:
                pass
            p.poll(0.001)
        assert p.flush(60) == 0

    t = threading.Thread(target=produce)
    t.start()
    time.sleep(1.0)
    assert broker.stop() == 0
    broker.start()
    time.sleep(1.0)
    stop.set()
    t.join(90)
    assert not errors, errors[:5]
    assert len(delivered) >= 100, len(delivered)
    assert "clean shutdown marker found" in broker.log_text().split("[interop] start #2")[-1]
    low, high = watermarks(broker.bootstrap, topic)
    assert (low, high) == (0, len(delivered)), "every acknowledged record is stored exactly once"
    from interop_util import ck_consume

    stored = [m.value() for m in ck_consume(broker.bootstrap, topic, 0, high)]
    assert stored == sorted(delivered) == delivered


def test_a_second_sigterm_exits_at_once_without_a_clean_shutdown(broker):
    proc = broker.proc
    proc.send_signal(signal.SIGTERM)
    # A moment apart, so the kernel delivers two signals (pending ones coalesce); the graceful
    # shutdown takes longer than this (the listener closes 100 ms after the first).
    time.sleep(0.03)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 1
    broker.proc = None
    assert "second shutdown signal: exiting now" in broker.log_text()
    broker.start()
    first, second = broker.log_text().split("[interop] start #2")[0], broker.log_text().split("[interop] start #2")[-1]
    # The first start found an empty log.dirs and says so, rather than that it is recovering.
    assert "new log directory: nothing to recover" in first and "no clean shutdown marker" not in first
    assert "no clean shutdown marker" in second
