"""SASL authentication (KIP-43, KIP-152) on a SASL_PLAINTEXT listener: PLAIN users from
Kafka's JAAS entry, SCRAM-SHA-256/512 users from the metadata log, with kcat (librdkafka),
confluent-kafka, kafka-python and aiokafka, plus raw-wire checks of the state machine and
of failed attempts (SASL_AUTHENTICATION_FAILED, then the connection closes)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

import kafka_wire as kw
import sasl_wire
from harness import free_port
from interop_util import CK_COMMON, ck_consume, kcat, kp_consumer, kp_producer

PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              'username="admin" password="admin-secret" '
              'user_admin="admin-secret" user_alice="alice-secret";')


def sasl_overrides(port: int, **extra) -> dict:
    settings = {
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        # Keeps the failure tests fast; the default (100) is exercised by test_failed_attempt_is_delayed.
        "connection.failed.authentication.delay.ms": 20,
    }
    settings.update(extra)
    return settings


@pytest.fixture(scope="module")
def sasl_broker(module_broker_factory):
    port = free_port()
    return module_broker_factory(sasl_overrides(port), port=port)


def ck_sasl(mechanism: str, user: str, password: str) -> dict:
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
            "sasl.username": user, "sasl.password": password}


def kcat_sasl(mechanism: str, user: str, password: str) -> list[str]:
    return ["-X", "security.protocol=SASL_PLAINTEXT", "-X", f"sasl.mechanisms={mechanism}",
            "-X", f"sasl.username={user}", "-X", f"sasl.password={password}"]


def ck_produce(bootstrap: str, topic: str, values: list[bytes], sasl: dict) -> None:
    from confluent_kafka import Producer

    errors: list = []
    p = Producer({**CK_COMMON, "bootstrap.servers": bootstrap, "error_cb": errors.append, **sasl})
    delivered: list = []
    for v in values:
        p.produce(topic, v, partition=0, on_delivery=lambda err, msg: delivered.append(err))
    assert p.flush(20) == 0, errors
    assert delivered == [None] * len(values), (delivered, errors)


def ck_auth_error(bootstrap: str, sasl: dict, timeout: float = 10.0) -> str:
    """Connects a confluent-kafka admin client and returns the authentication error it reports."""
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient

    errors: list = []
    admin = AdminClient({**CK_COMMON, "bootstrap.servers": bootstrap, "error_cb": errors.append, **sasl})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not errors:
        admin.poll(0.2)
        try:
            admin.list_topics(timeout=0.5)
        except Exception:
            pass
    auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert auth, f"expected an authentication error, got {errors}"
    return auth[0].str()


# ---------------------------------------------------------------------------------------
# PLAIN with each client
# ---------------------------------------------------------------------------------------

def test_kcat_plain(sasl_broker, topic):
    sasl = kcat_sasl("PLAIN", "alice", "alice-secret")
    kcat(sasl_broker.bootstrap, *sasl, "-P", "-t", topic, "-p", "0", input=b"one\ntwo\n")
    out = kcat(sasl_broker.bootstrap, *sasl, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e")
    assert out.stdout.decode().splitlines() == ["one", "two"]


def test_confluent_plain(sasl_broker, topic):
    sasl = ck_sasl("PLAIN", "alice", "alice-secret")
    ck_produce(sasl_broker.bootstrap, topic, [b"a", b"b", b"c"], sasl)
    got = ck_consume(sasl_broker.bootstrap, topic, 0, 3, extra=sasl)
    assert [m.value() for m in got] == [b"a", b"b", b"c"]


def test_kafka_python_plain(sasl_broker, topic):
    sasl = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                sasl_plain_username="admin", sasl_plain_password="admin-secret")
    p = kp_producer(sasl_broker.bootstrap, **sasl)
    try:
        for i in range(3):
            p.send(topic, f"kp-{i}".encode(), partition=0).get(timeout=15)
    finally:
        p.close()
    c = kp_consumer(sasl_broker.bootstrap, **sasl)
    try:
        from kafka import TopicPartition
        c.assign([TopicPartition(topic, 0)])
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 3 and time.monotonic() < deadline:
            for records in c.poll(timeout_ms=500).values():
                got.extend(r.value for r in records)
        assert got == [b"kp-0", b"kp-1", b"kp-2"]
    finally:
        c.close()


def test_aiokafka_plain(sasl_broker, topic):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    sasl = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                sasl_plain_username="alice", sasl_plain_password="alice-secret", request_timeout_ms=10000)

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=sasl_broker.bootstrap, **sasl)
        await p.start()
        try:
            for i in range(3):
                await p.send_and_wait(topic, f"aio-{i}".encode(), partition=0)
        finally:
            await p.stop()
        c = AIOKafkaConsumer(bootstrap_servers=sasl_broker.bootstrap, group_id=None, auto_offset_reset="earliest",
                             enable_auto_commit=False, fetch_max_wait_ms=200, **sasl)
        await c.start()
        try:
            tp = TopicPartition(topic, 0)
            c.assign([tp])
            await c.seek_to_beginning(tp)
            got = []
            deadline = time.monotonic() + 20
            while len(got) < 3 and time.monotonic() < deadline:
                batch = await c.getmany(tp, timeout_ms=500)
                got.extend(r.value for r in batch.get(tp, []))
            return got
        finally:
            await c.stop()

    assert asyncio.run(run()) == [b"aio-0", b"aio-1", b"aio-2"]


# ---------------------------------------------------------------------------------------
# Rejections
# ---------------------------------------------------------------------------------------

def test_wrong_password_and_unknown_user_rejected_alike(sasl_broker):
    host, port = "127.0.0.1", sasl_broker.port
    replies = []
    for user, password in [("alice", "wrong"), ("mallory", "alice-secret")]:
        sock, reply = sasl_wire.plain_login(host, port, user, password)
        try:
            assert reply["error_code"] == sasl_wire.SASL_AUTHENTICATION_FAILED, reply
            assert kw.wait_closed(sock, 5)[0] == "closed"
        finally:
            sock.close()
        replies.append(reply["error_message"])
    # The same message for both: nothing says whether the user exists.
    assert replies[0] == replies[1] and "Invalid username or password" in replies[0], replies
    # One log line per failure (rate-limited), naming neither password.
    lines = sasl_broker.wait_for_log("failed SASL authentication", timeout=5)
    assert lines and not any("alice-secret" in l or "wrong" in l for l in lines), lines


def test_confluent_reports_authentication_failure(sasl_broker):
    message = ck_auth_error(sasl_broker.bootstrap, ck_sasl("PLAIN", "alice", "nope"))
    assert "Authentication failed" in message or "SASL" in message, message


def test_kcat_wrong_password_fails(sasl_broker, topic):
    cp = kcat(sasl_broker.bootstrap, *kcat_sasl("PLAIN", "alice", "nope"), "-L", timeout=30, check=False)
    assert cp.returncode != 0
    assert b"Authentication failed" in cp.stderr or b"SASL" in cp.stderr, cp.stderr[-2000:]


def test_request_before_authentication_closes_connection(sasl_broker):
    sock = kw.connect("127.0.0.1", sasl_broker.port)
    try:
        # ApiVersions is served before authentication (KIP-511 clients send it first).
        resp = kw.request(sock, kw.encode_api_versions_request(3, 7))
        versions = kw.decode_api_versions_response(resp, 3)
        assert versions["api_keys"][17] == (0, 1) and versions["api_keys"][36] == (0, 2), versions
        # Metadata is not: the broker closes the connection without answering.
        kw.send_ignoring_reset(sock, kw.frame(kw.encode_metadata_request(1, 8, None)))
        outcome, data = kw.wait_closed(sock, 5)
        assert outcome == "closed" and data == b""
    finally:
        sock.close()


def test_unsupported_mechanism_lists_enabled_ones(sasl_broker):
    sock = kw.connect("127.0.0.1", sasl_broker.port)
    try:
        reply = sasl_wire.handshake(sock, "GSSAPI")
        assert reply == {"error_code": sasl_wire.UNSUPPORTED_SASL_MECHANISM,
                         "mechanisms": ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]}
        assert kw.wait_closed(sock, 5)[0] == "closed"
    finally:
        sock.close()


@pytest.mark.parametrize("version", [0, 1, 2])
def test_plain_success_on_each_authenticate_version(sasl_broker, version):
    sock, reply = sasl_wire.plain_login("127.0.0.1", sasl_broker.port, "alice", "alice-secret", version)
    try:
        assert reply["error_code"] == 0, reply
        assert reply["auth_bytes"] == b""
        assert reply["session_lifetime_ms"] == (None if version == 0 else 0)
        # Authenticated: Metadata is served now, and a second handshake is ILLEGAL_SASL_STATE.
        resp = kw.request(sock, kw.encode_metadata_request(1, 9, None))
        assert kw.decode_metadata_response(resp, 1)["brokers"], resp
        assert sasl_wire.handshake(sock, "PLAIN", correlation_id=10)["error_code"] == sasl_wire.ILLEGAL_SASL_STATE
    finally:
        sock.close()


def test_plaintext_listener_answers_illegal_sasl_state(broker):
    sock = kw.connect("127.0.0.1", broker.port)
    try:
        assert sasl_wire.handshake(sock, "PLAIN")["error_code"] == sasl_wire.ILLEGAL_SASL_STATE
    finally:
        sock.close()


def test_failed_attempt_is_delayed(broker_factory):
    port = free_port()
    b = broker_factory(sasl_overrides(port, **{"connection.failed.authentication.delay.ms": 400}), port=port)
    start = time.monotonic()
    sock, reply = sasl_wire.plain_login("127.0.0.1", b.port, "alice", "bad")
    elapsed = time.monotonic() - start
    sock.close()
    assert reply["error_code"] == sasl_wire.SASL_AUTHENTICATION_FAILED
    assert elapsed >= 0.39, elapsed
    # A good client is not held up meanwhile.
    start = time.monotonic()
    sock, reply = sasl_wire.plain_login("127.0.0.1", b.port, "alice", "alice-secret")
    sock.close()
    assert reply["error_code"] == 0 and time.monotonic() - start < 0.3


# ---------------------------------------------------------------------------------------
# SCRAM: credentials in the metadata log
# ---------------------------------------------------------------------------------------

def ck_admin(bootstrap: str, sasl: dict):
    from confluent_kafka.admin import AdminClient

    return AdminClient({**CK_COMMON, "bootstrap.servers": bootstrap, **sasl})


def set_scram(bootstrap: str, user: str, password: str, mechanism: str = "SCRAM-SHA-512", iterations: int = 4096) -> None:
    """Creates a SCRAM credential through confluent-kafka's AdminClient, logged in with PLAIN."""
    from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

    mech = {"SCRAM-SHA-256": ScramMechanism.SCRAM_SHA_256, "SCRAM-SHA-512": ScramMechanism.SCRAM_SHA_512}[mechanism]
    admin = ck_admin(bootstrap, ck_sasl("PLAIN", "admin", "admin-secret"))
    futures = admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, ScramCredentialInfo(mech, iterations), password.encode())])
    futures[user].result(timeout=15)


@pytest.fixture(scope="module")
def scram_users(sasl_broker):
    set_scram(sasl_broker.bootstrap, "carol", "carol-secret", "SCRAM-SHA-512", 8192)
    set_scram(sasl_broker.bootstrap, "dave", "dave-secret", "SCRAM-SHA-256")
    return sasl_broker


def test_confluent_scram_sha512(scram_users, topic):
    sasl = ck_sasl("SCRAM-SHA-512", "carol", "carol-secret")
    ck_produce(scram_users.bootstrap, topic, [b"s1", b"s2"], sasl)
    got = ck_consume(scram_users.bootstrap, topic, 0, 2, extra=sasl)
    assert [m.value() for m in got] == [b"s1", b"s2"]


def test_confluent_scram_sha256(scram_users, topic):
    sasl = ck_sasl("SCRAM-SHA-256", "dave", "dave-secret")
    ck_produce(scram_users.bootstrap, topic, [b"x"], sasl)
    assert [m.value() for m in ck_consume(scram_users.bootstrap, topic, 0, 1, extra=sasl)] == [b"x"]


def test_kcat_scram_sha512(scram_users, topic):
    sasl = kcat_sasl("SCRAM-SHA-512", "carol", "carol-secret")
    kcat(scram_users.bootstrap, *sasl, "-P", "-t", topic, "-p", "0", input=b"k1\n")
    out = kcat(scram_users.bootstrap, *sasl, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e")
    assert out.stdout.decode().splitlines() == ["k1"]


def test_kafka_python_scram_sha512(scram_users, topic):
    sasl = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                sasl_plain_username="carol", sasl_plain_password="carol-secret")
    p = kp_producer(scram_users.bootstrap, **sasl)
    try:
        p.send(topic, b"kp-scram", partition=0).get(timeout=15)
    finally:
        p.close()


def test_aiokafka_scram_sha256(scram_users, topic):
    from aiokafka import AIOKafkaProducer

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=scram_users.bootstrap, security_protocol="SASL_PLAINTEXT",
                             sasl_mechanism="SCRAM-SHA-256", sasl_plain_username="dave",
                             sasl_plain_password="dave-secret", request_timeout_ms=10000)
        await p.start()
        try:
            return await p.send_and_wait(topic, b"aio-scram", partition=0)
        finally:
            await p.stop()

    assert asyncio.run(run()).offset == 0


def test_scram_wrong_password_and_unknown_user_fail_alike(scram_users):
    messages = []
    for user, password in [("carol", "wrong"), ("nobody", "carol-secret")]:
        client = sasl_wire.ScramClient("SCRAM-SHA-512", user, password)
        sock = kw.connect("127.0.0.1", scram_users.port)
        try:
            assert sasl_wire.handshake(sock, "SCRAM-SHA-512")["error_code"] == 0
            first = sasl_wire.authenticate(sock, client.first())
            # The server's first message looks the same for unknown users: a salt and iterations.
            assert first["error_code"] == 0 and b",s=" in first["auth_bytes"] and b",i=" in first["auth_bytes"]
            final = sasl_wire.authenticate(sock, client.final(first["auth_bytes"]), correlation_id=3)
            assert final["error_code"] == sasl_wire.SASL_AUTHENTICATION_FAILED, final
            messages.append(final["error_message"])
            assert kw.wait_closed(sock, 5)[0] == "closed"
        finally:
            sock.close()
    assert messages[0] == messages[1], messages
    assert "nobody" not in messages[0]


def test_scram_server_signature_verifies(scram_users):
    client = sasl_wire.ScramClient("SCRAM-SHA-512", "carol", "carol-secret")
    sock = kw.connect("127.0.0.1", scram_users.port)
    try:
        assert sasl_wire.handshake(sock, "SCRAM-SHA-512")["error_code"] == 0
        first = sasl_wire.authenticate(sock, client.first())
        assert b",i=8192" in first["auth_bytes"], first
        final = sasl_wire.authenticate(sock, client.final(first["auth_bytes"]), correlation_id=3)
        assert final["error_code"] == 0 and client.verify(final["auth_bytes"]), final
    finally:
        sock.close()


def test_describe_and_delete_scram_credentials(scram_users):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import ScramMechanism, UserScramCredentialDeletion

    set_scram(scram_users.bootstrap, "erin", "erin-secret", "SCRAM-SHA-256")
    admin = ck_admin(scram_users.bootstrap, ck_sasl("SCRAM-SHA-512", "carol", "carol-secret"))
    described = admin.describe_user_scram_credentials(["carol", "erin"])
    carol = described["carol"].result(timeout=15)
    assert [(i.mechanism, i.iterations) for i in carol.scram_credential_infos] == [(ScramMechanism.SCRAM_SHA_512, 8192)]
    assert [i.mechanism for i in described["erin"].result(timeout=15).scram_credential_infos] == [ScramMechanism.SCRAM_SHA_256]
    with pytest.raises(KafkaException) as unknown:
        admin.describe_user_scram_credentials(["ghost"])["ghost"].result(timeout=15)
    assert "RESOURCE_NOT_FOUND" in str(unknown.value) or "does not exist" in str(unknown.value)
    everyone = admin.describe_user_scram_credentials().result(timeout=15)
    assert {"carol", "dave", "erin"} <= set(everyone)

    admin.alter_user_scram_credentials([UserScramCredentialDeletion("erin", ScramMechanism.SCRAM_SHA_256)])["erin"].result(timeout=15)
    with pytest.raises(KafkaException):
        admin.describe_user_scram_credentials(["erin"])["erin"].result(timeout=15)
    # erin can no longer log in.
    assert "Authentication failed" in ck_auth_error(scram_users.bootstrap, ck_sasl("SCRAM-SHA-256", "erin", "erin-secret"))


def test_alter_scram_validation(scram_users):
    """Iterations outside 4096-16384 and a user+mechanism twice in one request are refused."""
    import sasl_admin_wire as aw

    sock, reply = sasl_wire.plain_login("127.0.0.1", scram_users.port, "admin", "admin-secret")
    try:
        assert reply["error_code"] == 0
        results = aw.alter(sock, upsertions=[("few", 2, 1000), ("many", 2, 20000), ("twice", 2, 4096), ("twice", 2, 4096),
                                              ("weird", 7, 4096)],
                           deletions=[("absent", 1)])
        assert results == {"few": 93, "many": 93, "twice": 92, "weird": 33, "absent": 91}, results
        described = aw.describe(sock, ["few", "carol", "carol"])
        assert described == {"few": 91, "carol": 92}, described
    finally:
        sock.close()


# ---------------------------------------------------------------------------------------
# A password guesser does not slow other clients down
# ---------------------------------------------------------------------------------------

def _guess(port: int, attempts: int, outcomes: list) -> None:
    for i in range(attempts):
        try:
            sock, reply = sasl_wire.plain_login("127.0.0.1", port, "alice", f"guess-{i}")
            outcomes.append(reply["error_code"])
            sock.close()
        except Exception as e:  # noqa: BLE001 - recorded and asserted on below
            outcomes.append(repr(e))


def test_thousand_wrong_passwords_do_not_slow_other_clients(broker_factory, topic):
    """1,000 failed PLAIN logins (50 connections at a time, each failure held for the default
    connection.failed.authentication.delay.ms of 100 ms) while a confluent-kafka producer keeps
    producing one record at a time: its latency stays within a generous factor of its baseline."""
    import statistics
    import threading

    from confluent_kafka import Producer

    port = free_port()
    b = broker_factory(sasl_overrides(port, **{"connection.failed.authentication.delay.ms": 100}), port=port)
    p = Producer({**CK_COMMON, "bootstrap.servers": b.bootstrap, "linger.ms": 0, **ck_sasl("PLAIN", "alice", "alice-secret")})

    def produce_latencies(stop: threading.Event | None, count: int) -> list[float]:
        out = []
        i = 0
        while (stop is None and i < count) or (stop is not None and not stop.is_set()):
            start = time.monotonic()
            p.produce(topic, f"v{i}".encode(), partition=0)
            assert p.flush(10) == 0
            out.append(time.monotonic() - start)
            i += 1
        return out

    produce_latencies(None, 20)  # warm up: connection, metadata, topic creation
    baseline = produce_latencies(None, 50)

    outcomes: list = []
    threads = [threading.Thread(target=_guess, args=(b.port, 20, outcomes)) for _ in range(50)]
    stop = threading.Event()
    during: list[float] = []
    producer = threading.Thread(target=lambda: during.extend(produce_latencies(stop, 0)))
    started = time.monotonic()
    producer.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    attack_seconds = time.monotonic() - started
    stop.set()
    producer.join(timeout=30)

    assert outcomes.count(sasl_wire.SASL_AUTHENTICATION_FAILED) == 1000, [o for o in outcomes if o != 58][:5]
    assert len(during) >= 10, (len(during), attack_seconds)
    base_p50 = statistics.median(baseline)
    during_p50 = statistics.median(during)
    print(f"1000 failed logins in {attack_seconds:.1f}s; produce p50 {base_p50 * 1000:.1f} ms before, "
          f"{during_p50 * 1000:.1f} ms during ({len(during)} records)")
    assert during_p50 <= 10 * base_p50 + 0.05, (base_p50, during_p50)
    # The failures were logged, rate-limited: far fewer lines than attempts.
    lines = b.wait_for_log("failed SASL authentication", timeout=2)
    assert 1 <= len(lines) <= 50, len(lines)
    # The good client's connection still works.
    assert produce_latencies(None, 1)


# ---------------------------------------------------------------------------------------
# RunnelClient and the runnel CLI
# ---------------------------------------------------------------------------------------

def test_runnel_cli_sets_scram_user_and_logs_in_with_it(scram_users, topic):
    from runnel_cli import runnel

    admin = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=PLAIN",
             "-X", "sasl.username=admin", "-X", "sasl.password=admin-secret", "-X", "request.timeout.ms=10000"]
    runnel(scram_users.bootstrap, "user", "set-password", "frank", "--mechanism", "SCRAM-SHA-256", *admin,
           input=b"frank-secret\n")
    described = runnel(scram_users.bootstrap, "user", "describe", "frank", *admin).stdout.decode()
    assert "frank" in described and "SCRAM-SHA-256" in described and "4096" in described, described
    # kcat logs in with the credential the CLI stored ...
    kcat(scram_users.bootstrap, *kcat_sasl("SCRAM-SHA-256", "frank", "frank-secret"), "-L")
    # ... and RunnelClient logs in with SCRAM too: produce, then consume what it produced.
    frank = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=SCRAM-SHA-256",
             "-X", "sasl.username=frank", "-X", "sasl.password=frank-secret", "-X", "request.timeout.ms=10000"]
    runnel(scram_users.bootstrap, "topic", "create", topic, *frank)
    runnel(scram_users.bootstrap, "produce", topic, "--partition", "0", *frank, input=b"from-runnel\n")
    out = runnel(scram_users.bootstrap, "consume", topic, "--partition", "0", "--from-beginning", "-e", *frank)
    assert out.stdout.decode().splitlines() == ["from-runnel"]
    # A wrong password is reported with Kafka's error name and exit status 1.
    bad = runnel(scram_users.bootstrap, "topic", "list", "-X", "security.protocol=SASL_PLAINTEXT",
                 "-X", "sasl.mechanism=SCRAM-SHA-512", "-X", "sasl.username=carol", "-X", "sasl.password=nope",
                 "-X", "request.timeout.ms=5000", check=False)
    assert bad.returncode == 1
    assert "SASL_AUTHENTICATION_FAILED" in bad.stderr.decode(), bad.stderr.decode()


# ---------------------------------------------------------------------------------------
# Between nodes: a 3-node cluster whose client and controller listeners both use SASL
# ---------------------------------------------------------------------------------------

def test_cluster_nodes_authenticate_to_each_other(tmp_path):
    """`runnel cluster up` names its listeners PLAINTEXT and CONTROLLER; mapping both to
    SASL_PLAINTEXT makes every node's replica fetches, quorum RPCs and controller requests log in
    with the JAAS entry's username/password. acks=all with min.insync.replicas=3 succeeds only if
    both followers fetch (authenticated) from the leader."""
    from confluent_kafka.admin import NewTopic

    from test_replication import start_cluster

    jaas = PLAIN_JAAS
    c = start_cluster(tmp_path / "cluster", extra=[
        "listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        f"listener.name.plaintext.plain.sasl.jaas.config={jaas}",
        f"listener.name.controller.plain.sasl.jaas.config={jaas}",
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512",
    ])
    try:
        sasl = ck_sasl("PLAIN", "alice", "alice-secret")
        admin = ck_admin(c.bootstrap(), sasl)
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and len(admin.list_topics(timeout=5).brokers) < 3:
            time.sleep(0.3)
        assert len(admin.list_topics(timeout=5).brokers) == 3, "\n".join(c.log(n)[-2000:] for n in c.broker_ids)
        topic = f"sasl-cluster-{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(topic, 1, 3, config={"min.insync.replicas": "3"})])[topic].result(timeout=30)
        from confluent_kafka import Producer

        errors: list = []
        p = Producer({**CK_COMMON, "bootstrap.servers": c.bootstrap(), "acks": "all", "error_cb": errors.append,
                      "message.timeout.ms": 30000, **sasl})
        results: list = []
        for i in range(5):
            p.produce(topic, f"r{i}".encode(), partition=0, on_delivery=lambda err, msg: results.append(err))
        assert p.flush(40) == 0, errors
        assert results == [None] * 5, (results, errors)
        got = ck_consume(c.bootstrap(), topic, 0, 5, extra=sasl)
        assert [m.value() for m in got] == [f"r{i}".encode() for i in range(5)]
        for n in c.broker_ids:
            assert "failed SASL authentication" not in c.log(n), c.log(n)[-3000:]
        # A SCRAM user created through one broker (forwarded to the active controller) logs in on
        # every broker: the credential reached each node's metadata image.
        from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

        last = ck_admin(c.bootstrap(c.broker_ids[-1]), sasl)  # kept: a dropped client cancels its futures
        last.alter_user_scram_credentials([UserScramCredentialUpsertion(
            "grace", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"grace-secret")])["grace"].result(timeout=15)
        for n in c.broker_ids:
            deadline = time.monotonic() + 10
            while True:
                sock = kw.connect("127.0.0.1", c.port(n))
                client = sasl_wire.ScramClient("SCRAM-SHA-512", "grace", "grace-secret")
                try:
                    assert sasl_wire.handshake(sock, "SCRAM-SHA-512")["error_code"] == 0
                    first = sasl_wire.authenticate(sock, client.first())
                    final = sasl_wire.authenticate(sock, client.final(first["auth_bytes"]), correlation_id=3)
                finally:
                    sock.close()
                if final["error_code"] == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert final["error_code"] == 0 and client.verify(final["auth_bytes"]), (n, final)
        # The controller listener the nodes used really demands SASL.
        sock = kw.connect("127.0.0.1", c.controller_port(1))
        try:
            kw.send_ignoring_reset(sock, kw.frame(kw.encode_metadata_request(1, 3, None)))
            assert kw.wait_closed(sock, 5)[0] == "closed"
        finally:
            sock.close()
    finally:
        c.stop()
