"""Processes the suite starts: each in its own session, remembered until stopped, so that an
exit of any kind (end, error, Ctrl-C, SIGTERM) stops every one of them by its process group id.
Also free ports, waiting for a listener, and sampling a process's resident memory."""
import atexit
import os
import random
import signal
import socket
import subprocess
import threading
import time

_live = []


def free_port(span=1):
    """A port p below the ephemeral range such that p .. p+span-1 are all free on 127.0.0.1."""
    for _ in range(500):
        p = random.randrange(20000, 30000 - span)
        if all(_bindable(p + i) for i in range(span)):
            return p
    raise RuntimeError("no free port range found")


def _bindable(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Proc:
    """A background process with its output in a log file."""

    def __init__(self, name, cmd, log_path, env=None, cwd=None):
        self.name, self.cmd, self.log_path = name, [str(c) for c in cmd], log_path
        self._log = open(log_path, "ab")
        self.p = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  env=env, cwd=cwd, start_new_session=True)
        _live.append(self)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    def stop(self, grace=30):
        if self.p.poll() is None:
            _signal_group(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.p.pid, signal.SIGKILL)
                self.p.wait()
        # Children that outlived their leader (same process group) go too.
        _signal_group(self.p.pid, signal.SIGKILL)
        self._log.close()
        if self in _live:
            _live.remove(self)


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all():
    for proc in reversed(list(_live)):
        proc.stop(grace=10)


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


atexit.register(stop_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


def wait_tcp(port, proc, timeout=60):
    """Waits until 127.0.0.1:port accepts connections; fails if proc exits first."""
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited (status {proc.p.returncode}):\n{proc.tail()}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def run(cmd, timeout, env=None, stop_after=None):
    """Runs cmd to completion and returns (returncode, stdout, stderr). With stop_after=S the
    command gets SIGINT after S seconds (load generators that run until told to stop); after
    timeout seconds it gets SIGKILL (returncode None)."""
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    if stop_after is not None:
        timer = threading.Timer(stop_after, _signal_group, (p.pid, signal.SIGINT))
        timer.daemon = True
        timer.start()
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        _signal_group(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        rc = None
    finally:
        if stop_after is not None:
            timer.cancel()
        # Whatever happened (also an exit of the suite while waiting), nothing of it stays.
        _signal_group(p.pid, signal.SIGKILL)
    return rc, out.decode(errors="replace"), err.decode(errors="replace")


class RssSampler:
    """Samples VmRSS of the given pids every 100 ms in a thread; peak is the largest sum seen."""

    def __init__(self, pids):
        self.pids, self.peak, self._stop = list(pids), 0, threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    def sample(self):
        total = 0
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1]) * 1024
            except OSError:
                pass
        return total

    def _loop(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(0.1)
