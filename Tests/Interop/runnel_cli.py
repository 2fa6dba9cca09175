"""Drives the `runnel` client subcommands (produce, consume, topic, group, perf) from pytest:
the CLI is the harness through which the interop tests exercise RunnelClient."""

from __future__ import annotations

import json
import subprocess
from typing import Optional

from harness import runnel_bin

# Short client timeouts, so that a test against a dead broker fails in seconds.
FAST = ["-X", "request.timeout.ms=10000", "-X", "reconnect.backoff.max.ms=500"]


def runnel(bootstrap: Optional[str], *args: str, input: Optional[bytes] = None, timeout: float = 120.0,
           check: bool = True, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """Runs `runnel ARGS --bootstrap-server BOOTSTRAP`; raises with stderr when it fails and `check`."""
    cmd = [runnel_bin(), *args]
    if bootstrap is not None:
        cmd += ["--bootstrap-server", bootstrap]
    cp = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=timeout, env=env)
    if check and cp.returncode != 0:
        raise AssertionError(f"runnel failed ({cp.returncode}): {' '.join(cmd)}\n"
                             f"stderr:\n{cp.stderr.decode(errors='replace')[-4000:]}")
    return cp


def popen(bootstrap: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([runnel_bin(), *args, "--bootstrap-server", bootstrap, *FAST],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def create_topic(bootstrap: str, topic: str, partitions: int = 1, *configs: str) -> None:
    args = ["topic", "create", topic, "--partitions", str(partitions)]
    for c in configs:
        args += ["--config", c]
    runnel(bootstrap, *args, *FAST)


def produce_lines(bootstrap: str, topic: str, lines: list[str], *args: str) -> subprocess.CompletedProcess:
    data = "".join(line + "\n" for line in lines).encode()
    return runnel(bootstrap, "produce", topic, *args, *FAST, input=data)


def consume_json(bootstrap: str, topic: str, *args: str, timeout: float = 120.0) -> list[dict]:
    cp = runnel(bootstrap, "consume", topic, "--output", "json", *args, *FAST, timeout=timeout)
    return [json.loads(line) for line in cp.stdout.decode().splitlines() if line.strip()]
