"""Shared fixtures for the Runnel interop suite.

The broker binary comes from $RUNNEL_BIN (scripts/test.sh sets it from
`swift build --show-bin-path`); without it we fall back to .build/debug/runnel.

Fixtures
--------
broker          function-scoped, fresh broker in a fresh log dir
module_broker   one broker shared by a test module (module_broker_factory for overrides)
broker_factory  function-scoped factory: broker_factory(overrides_dict, port=, advertised_port=)
tapped_broker   broker advertising a recording TCP proxy (tcp_proxy.py) in front of it
topic           a unique topic name per test

On a test failure the tail of every broker's stderr log used by that test is
attached to the failure report ("runnel stderr" section).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Broker, free_port, runnel_bin  # noqa: E402

# Per-test wall-clock limit (seconds). Implemented with SIGALRM so that no extra
# plugin is needed; a hung client call fails the test instead of hanging CI.
TEST_TIMEOUT = int(os.environ.get("RUNNEL_TEST_TIMEOUT", "180"))


# --------------------------------------------------------------------------------------
# Failure reporting and timeouts
# --------------------------------------------------------------------------------------

_BROKERS_KEY = pytest.StashKey[list]()


def _register(node, broker: Broker) -> None:
    node.stash.setdefault(_BROKERS_KEY, []).append(broker)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        brokers = list(item.stash.get(_BROKERS_KEY, []))
        # module-scoped brokers are registered on the module node
        mod = item.getparent(pytest.Module)
        if mod is not None:
            brokers += [b for b in mod.stash.get(_BROKERS_KEY, []) if b not in brokers]
        for b in brokers:
            rep.sections.append((f"runnel stderr tail ({b.name} {b.bootstrap}, {b.stderr_path})",
                                 b.tail(80)))


class _TestTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _per_test_timeout(request):
    if TEST_TIMEOUT <= 0 or not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
        raise _TestTimeout(f"test exceeded {TEST_TIMEOUT}s (RUNNEL_TEST_TIMEOUT)")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def runnel_path() -> str:
    return runnel_bin()


@pytest.fixture(scope="session")
def interop_tmp():
    keep = os.environ.get("RUNNEL_KEEP_TMP")
    d = Path(tempfile.mkdtemp(prefix="runnel-interop-"))
    yield d
    if not keep:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"\n[interop] kept broker dirs under {d}")


def _workdir(base: Path, nodeid: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)[-80:]
    return Path(tempfile.mkdtemp(prefix=safe + "-", dir=base))


@pytest.fixture
def broker_factory(request, interop_tmp, runnel_path):
    started: list[Broker] = []

    def make(overrides: Optional[dict[str, object]] = None, **kw) -> Broker:
        b = Broker(_workdir(interop_tmp, request.node.nodeid), overrides=overrides,
                   binary=runnel_path, name=f"broker{len(started)}", **kw)
        started.append(b)
        _register(request.node, b)
        return b.start()

    yield make
    for b in started:
        b.stop()


@pytest.fixture
def broker(broker_factory) -> Broker:
    return broker_factory()


@pytest.fixture
def bootstrap(broker) -> str:
    return broker.bootstrap


@pytest.fixture(scope="module")
def module_broker_factory(request, interop_tmp, runnel_path):
    """Module-scoped factory: module_broker_factory(overrides) -> started Broker,
    stopped when the module's tests are done."""
    started: list[Broker] = []

    def make(overrides: Optional[dict[str, object]] = None, **kw) -> Broker:
        b = Broker(_workdir(interop_tmp, request.node.nodeid), overrides=overrides,
                   binary=runnel_path, name=f"module-broker{len(started)}", **kw)
        started.append(b)
        _register(request.node, b)
        return b.start()

    yield make
    for b in started:
        b.stop()


@pytest.fixture(scope="module")
def module_broker(module_broker_factory) -> Broker:
    return module_broker_factory()


@pytest.fixture
def topic(request) -> str:
    base = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:60]
    return f"{base}-{uuid.uuid4().hex[:8]}"


class TappedBroker:
    """A broker whose advertised address is a recording proxy in front of it."""

    def __init__(self, broker: Broker, proxy) -> None:
        self.broker = broker
        self.proxy = proxy

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.proxy.port}"

    def requests(self, api_key: Optional[int] = None) -> list[dict]:
        """Parsed client requests seen so far (kafka_wire.parse_request dicts)."""
        import kafka_wire

        out = []
        for f in self.proxy.requests():
            try:
                req = kafka_wire.parse_request(f.payload)
            except Exception as e:  # keep undecodable frames visible
                req = {"api_key": None, "decode_error": repr(e)}
            req["conn"] = f.conn
            if api_key is None or req.get("api_key") == api_key:
                out.append(req)
        return out


@pytest.fixture
def tapped_broker(broker_factory):
    from tcp_proxy import RecordingProxy

    bport = free_port()
    proxy = RecordingProxy(target_port=bport).start()
    try:
        b = broker_factory(port=bport, advertised_port=proxy.port)
        yield TappedBroker(b, proxy)
    finally:
        proxy.stop()
