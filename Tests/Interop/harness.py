"""Process harness for the runnel broker, shared by the pytest fixtures
(conftest.py) and tools such as capture_fixtures.py."""

from __future__ import annotations

import ctypes
import os
import random
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parents[2]

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def runnel_bin() -> str:
    path = os.environ.get("RUNNEL_BIN") or str(REPO_ROOT / ".build" / "debug" / "runnel")
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise RuntimeError(
            f"runnel binary not found at {path!r}: build it (`swift build`) or set RUNNEL_BIN")
    return path


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port_run(count: int = 1) -> int:
    """A port p with p...p+count-1 all free on 127.0.0.1, below the kernel's ephemeral range.

    A broker that a test kills and restarts must get its port back. A port handed out by the
    kernel (bind to 0) lies in the ephemeral range, where any outgoing connection made while the
    broker is down (a client's retry, another broker's reconnect) can be given that very port as
    its local one, and the restarted broker's bind then fails with EADDRINUSE. Ports below the
    range are never handed out that way."""
    low, _ = _ephemeral_range()
    top = max(low - count, 10000 + count)
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(10000, top)
        held = []
        try:
            for p in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError(f"no run of {count} free ports below {low}")


def free_port() -> int:
    """One free port below the ephemeral range (see ``free_port_run``)."""
    return free_port_run(1)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask the kernel to SIGKILL the broker if the test process dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class BrokerError(RuntimeError):
    pass


class Broker:
    """One runnel broker process listening on 127.0.0.1:<port>.

    `overrides` are extra `--override key=value` settings. `advertised_port`
    lets the capture tool advertise a proxy in front of the broker."""

    def __init__(self, workdir: Path, overrides: Optional[dict[str, object]] = None,
                 port: Optional[int] = None, advertised_port: Optional[int] = None,
                 binary: Optional[str] = None, name: str = "broker") -> None:
        self.binary = binary or runnel_bin()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_dir = self.workdir / "log.dirs"
        self.log_dir.mkdir(exist_ok=True)
        self.stderr_path = self.workdir / f"{name}.stderr.log"
        self.stdout_path = self.workdir / f"{name}.stdout.log"
        self.port = port or free_port()
        self.advertised_port = advertised_port or self.port
        # Each broker serves /metrics on its own port (the default 9644 would collide).
        self.metrics_port = free_port()
        self.overrides = dict(overrides or {})
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        self.exit_codes: list[Optional[int]] = []

    # ---- properties -----------------------------------------------------------------
    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        settings = {
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.advertised_port}",
            "log.dirs": str(self.log_dir),
            "node.id": 1,
            # As Config/server.properties: one broker cannot hold 3 replicas of __consumer_offsets.
            "offsets.topic.replication.factor": 1,
            "runnel.metrics.listener": f"http://127.0.0.1:{self.metrics_port}/metrics",
        }
        settings.update(self.overrides)
        cmd = [self.binary, "broker"]
        for k, v in settings.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            cmd += ["--override", f"{k}={v}"]
        return cmd

    # ---- lifecycle --------------------------------------------------------------------
    def start(self, timeout: float = READY_TIMEOUT) -> "Broker":
        if self.alive():
            raise BrokerError("broker already running")
        self.starts += 1
        with open(self.stderr_path, "ab") as f:
            f.write(f"===== [interop] start #{self.starts}: {' '.join(self.command())}\n".encode())
        err = open(self.stderr_path, "ab")
        out = open(self.stdout_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                cwd=str(self.workdir), preexec_fn=_die_with_parent)
        finally:
            err.close()
            out.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise BrokerError(
                    f"runnel exited with code {self.proc.returncode} before listening on "
                    f"{self.bootstrap}\n{self.tail()}")
            if port_accepts(self.port):
                return
            time.sleep(0.05)
        raise BrokerError(f"runnel did not accept on {self.bootstrap} within {timeout}s\n{self.tail()}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> Optional[int]:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code
        (negative = killed by that signal) or None if it was not running."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._note(f"did not stop within {timeout}s of SIGTERM: sending SIGKILL")
                self.proc.kill()
                self.proc.wait(10)
        code = self.proc.returncode
        self.exit_codes.append(code)
        self._note(f"stopped, exit code {code}")
        self.proc = None
        return code

    def kill9(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.exit_codes.append(self.proc.returncode)
        self._note("killed with SIGKILL")
        self.proc = None

    def restart(self, timeout: float = READY_TIMEOUT) -> Optional[int]:
        """Graceful stop (SIGTERM) and start again on the same port and log dir.
        Returns the exit code of the stopped process."""
        code = self.stop()
        self.start(timeout)
        return code

    # ---- logs -------------------------------------------------------------------------
    def _note(self, msg: str) -> None:
        with open(self.stderr_path, "ab") as f:
            f.write(f"===== [interop] {msg}\n".encode())

    def log_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 60) -> str:
        text = self.log_text().splitlines()
        return "\n".join(text[-lines:])

    def wait_for_log(self, pattern: str, timeout: float = 5.0, flags: int = re.I) -> list[str]:
        """Lines of the stderr log matching `pattern` (regex), waiting up to `timeout`."""
        rx = re.compile(pattern, flags)
        deadline = time.monotonic() + timeout
        while True:
            hits = [ln for ln in self.log_text().splitlines()
                    if rx.search(ln) and not ln.startswith("===== [interop]")]
            if hits or time.monotonic() >= deadline:
                return hits
            time.sleep(0.1)

    def __repr__(self) -> str:
        return f"Broker({self.bootstrap}, pid={self.pid})"
