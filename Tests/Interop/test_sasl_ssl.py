"""SASL_SSL (issue 12): TLS underneath SASL on one listener. The connection is TCP, then the TLS
handshake (with the listener's `ssl.*` keys), then SASL (PLAIN from the JAAS entry, SCRAM-SHA-512
from the metadata log), then Kafka requests; the principal ACLs see is the SASL user.

The PKI is made with `openssl` as test_tls.py makes it: a CA and a server certificate for
DNS:localhost,IP:127.0.0.1. Brokers advertise `localhost`, so clients verify the host name.
"""

from __future__ import annotations

import socket
import ssl
import time
import uuid
from pathlib import Path

import pytest

import kafka_wire as kw
from harness import free_port
from interop_util import CK_COMMON, ck_consume, kcat
from runnel_cli import FAST, runnel
from test_tls import EC, _issue, _openssl

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              'username="admin" password="admin-secret" '
              'user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret";')


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    _openssl(d, "req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Runnel Test ca")
    _issue(d, "server", "/CN=localhost", "ca", san="DNS:localhost,IP:127.0.0.1")
    return d


def _tls_keys(pki: Path) -> dict:
    return {
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(pki / "server-keystore.pem"),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(pki / "ca.pem"),
    }


@pytest.fixture(scope="module")
def sasl_ssl_broker(module_broker_factory, pki):
    port = free_port()
    return module_broker_factory({
        "listeners": f"SASL_SSL://127.0.0.1:{port}",
        "advertised.listeners": f"SASL_SSL://localhost:{port}",
        **_tls_keys(pki),
        "listener.name.sasl_ssl.plain.sasl.jaas.config": PLAIN_JAAS,
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
        "connection.failed.authentication.delay.ms": 20,
        "authorizer.class.name": AUTHORIZER,
        "super.users": "User:admin",
        "allow.everyone.if.no.acl.found": "false",
        "group.initial.rebalance.delay.ms": 0,
    }, port=port)


def _bootstrap(broker) -> str:
    return f"localhost:{broker.port}"


def ck(pki: Path, mechanism: str, user: str, password: str) -> dict:
    # No ssl.endpoint.identification.algorithm: librdkafka's default (https) checks the host name.
    return {**CK_COMMON, "security.protocol": "SASL_SSL", "ssl.ca.location": str(pki / "ca.pem"),
            "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password}


def kcat_args(pki: Path, mechanism: str, user: str, password: str) -> list[str]:
    return ["-X", "security.protocol=SASL_SSL", "-X", f"ssl.ca.location={pki / 'ca.pem'}",
            "-X", f"sasl.mechanisms={mechanism}", "-X", f"sasl.username={user}", "-X", f"sasl.password={password}"]


def _admin(bootstrap: str, pki: Path):
    from confluent_kafka.admin import AdminClient

    return AdminClient(ck(pki, "PLAIN", "admin", "admin-secret") | {"bootstrap.servers": bootstrap})


def _grant_all(admin, user: str, topic: str) -> None:
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    bindings = [AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, f"User:{user}", "*",
                           AclOperation.ALL, AclPermissionType.ALLOW),
                AclBinding(ResourceType.GROUP, "*", ResourcePatternType.LITERAL, f"User:{user}", "*",
                           AclOperation.ALL, AclPermissionType.ALLOW)]
    for f in admin.create_acls(bindings).values():
        f.result(15)


def _produce(bootstrap: str, topic: str, values: list[bytes], config: dict) -> list:
    from confluent_kafka import Producer

    errors: list = []
    p = Producer({**config, "bootstrap.servers": bootstrap, "error_cb": errors.append, "message.timeout.ms": 20000})
    delivered: list = []
    for v in values:
        p.produce(topic, v, partition=0, on_delivery=lambda err, msg: delivered.append(err))
    p.flush(25)
    return [None if e is None else e.name() for e in delivered] + [f"error_cb:{e.name()}" for e in errors]


def test_confluent_plain_over_sasl_ssl_with_acls(sasl_ssl_broker, pki, topic):
    """alice (PLAIN, inside TLS) gets what her ACLs grant; bob, with none, is refused: the principal
    is the SASL user of a TLS connection."""
    from confluent_kafka.admin import NewTopic

    bootstrap = _bootstrap(sasl_ssl_broker)
    admin = _admin(bootstrap, pki)  # kept: a dropped AdminClient fails its pending futures
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(20)
    _grant_all(admin, "alice", topic)
    values = [b"sasl-ssl-%d" % i for i in range(10)]
    assert _produce(bootstrap, topic, values, ck(pki, "PLAIN", "alice", "alice-secret")) == [None] * 10
    got = ck_consume(bootstrap, topic, 0, 10, extra=ck(pki, "PLAIN", "alice", "alice-secret"))
    assert [m.value() for m in got] == values
    refused = kcat(bootstrap, *kcat_args(pki, "PLAIN", "bob", "bob-secret"), "-X", "message.timeout.ms=5000",
                   "-P", "-t", topic, "-p", "0", input=b"nope\n", check=False, timeout=30)
    assert refused.returncode != 0 and "topic authorization failed" in refused.stderr.decode().lower(), refused.stderr[-2000:]


def test_kcat_scram_sha512_over_sasl_ssl(sasl_ssl_broker, pki, topic):
    """A SCRAM-SHA-512 user created over SASL_SSL (AlterUserScramCredentials as the super user)
    produces and consumes with kcat."""
    from confluent_kafka.admin import NewTopic, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

    bootstrap = _bootstrap(sasl_ssl_broker)
    admin = _admin(bootstrap, pki)
    admin.alter_user_scram_credentials([UserScramCredentialUpsertion(
        "carol", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"carol-secret")])["carol"].result(15)
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(20)
    _grant_all(admin, "carol", topic)
    args = kcat_args(pki, "SCRAM-SHA-512", "carol", "carol-secret")
    kcat(bootstrap, *args, "-P", "-t", topic, "-p", "0", input=b"one\ntwo\nthree\n")
    out = kcat(bootstrap, *args, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-c", "3")
    assert out.stdout.decode().split() == ["one", "two", "three"]
    bad = kcat(bootstrap, *kcat_args(pki, "SCRAM-SHA-512", "carol", "wrong"), "-m", "5", "-L", check=False, timeout=30)
    assert bad.returncode != 0
    assert b"Authentication failed" in bad.stderr or b"SASL" in bad.stderr, bad.stderr[-2000:]


def test_kafka_python_scram_sha512_over_sasl_ssl(sasl_ssl_broker, pki, topic):
    """kafka-python verifies the broker's certificate and host name, logs in with SCRAM-SHA-512 and
    is authorized as the SASL user: dave produces and consumes once granted, a wrong password fails."""
    from confluent_kafka.admin import NewTopic, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.errors import KafkaError

    bootstrap = _bootstrap(sasl_ssl_broker)
    admin = _admin(bootstrap, pki)
    admin.alter_user_scram_credentials([UserScramCredentialUpsertion(
        "dave", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"dave-secret")])["dave"].result(15)
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(20)
    _grant_all(admin, "dave", topic)

    def common(password: str) -> dict:
        return dict(bootstrap_servers=bootstrap, security_protocol="SASL_SSL", ssl_cafile=str(pki / "ca.pem"),
                    sasl_mechanism="SCRAM-SHA-512", sasl_plain_username="dave", sasl_plain_password=password,
                    request_timeout_ms=10000)

    producer = KafkaProducer(acks="all", **common("dave-secret"))
    try:
        for i in range(5):
            producer.send(topic, b"kp-sasl-ssl-%d" % i, partition=0).get(timeout=30)
    finally:
        producer.close()
    consumer = KafkaConsumer(auto_offset_reset="earliest", consumer_timeout_ms=10000, **common("dave-secret"))
    try:
        consumer.assign([TopicPartition(topic, 0)])
        assert [m.value for m in consumer][:5] == [b"kp-sasl-ssl-%d" % i for i in range(5)]
    finally:
        consumer.close()
    with pytest.raises(KafkaError):
        bad = KafkaProducer(max_block_ms=5000, **common("wrong"))
        try:
            bad.send(topic, b"never", partition=0).get(timeout=10)
        finally:
            bad.close(timeout=5)


def test_runnel_cli_over_sasl_ssl(sasl_ssl_broker, pki, topic, tmp_path):
    """RunnelClient dials TLS, then SASL (PLAIN as the super user) from a command config."""
    props = tmp_path / "client.properties"
    props.write_text(f"security.protocol=SASL_SSL\nssl.ca.location={pki / 'ca.pem'}\n"
                     "sasl.mechanism=PLAIN\nsasl.username=admin\nsasl.password=admin-secret\n")
    bootstrap = _bootstrap(sasl_ssl_broker)
    runnel(bootstrap, "topic", "create", topic, "--partitions", "1", "--command-config", str(props), *FAST)
    lines = [f"line-{i}" for i in range(20)]
    runnel(bootstrap, "produce", topic, "--command-config", str(props), *FAST, input="".join(l + "\n" for l in lines).encode())
    cp = runnel(bootstrap, "consume", topic, "--from-beginning", "--max-messages", "20", "--command-config", str(props), *FAST)
    assert cp.stdout.decode().split() == lines
    bad = tmp_path / "bad.properties"
    bad.write_text(f"security.protocol=SASL_SSL\nssl.ca.location={pki / 'ca.pem'}\n"
                   "sasl.mechanism=PLAIN\nsasl.username=admin\nsasl.password=wrong\n")
    cp = runnel(bootstrap, "topic", "list", "--command-config", str(bad), *FAST, check=False, timeout=60)
    assert cp.returncode != 0


def test_tls_without_sasl_and_sasl_without_tls_are_refused(sasl_ssl_broker, pki):
    """TLS alone does not authenticate on SASL_SSL (a request before SASL closes the connection),
    and SASL_PLAINTEXT bytes on the TLS port never get an answer."""
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with socket.create_connection(("127.0.0.1", sasl_ssl_broker.port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(kw.frame(kw.encode_metadata_request(1, 7, None)))
            tls.settimeout(5)
            try:
                data = tls.recv(4096)
            except (ConnectionResetError, ssl.SSLError):
                data = b""
            assert data == b"", "the broker answered a request sent before SASL authentication"
    plain = kcat(_bootstrap(sasl_ssl_broker), "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
                 "-X", "sasl.username=alice", "-X", "sasl.password=alice-secret", "-m", "5", "-L", check=False, timeout=30)
    assert plain.returncode != 0
    assert sasl_ssl_broker.alive()


def test_three_node_cluster_with_sasl_ssl_between_nodes(pki, tmp_path):
    """Every listener SASL_SSL: replica fetches, quorum RPCs and controller requests run TLS and
    then PLAIN with the JAAS entry's username/password. acks=all with min.insync.replicas=3
    succeeds only if both followers fetch from the leader."""
    from confluent_kafka.admin import NewTopic

    from test_replication import start_cluster

    c = start_cluster(tmp_path / "cluster", extra=[
        "listener.security.protocol.map=PLAINTEXT:SASL_SSL,CONTROLLER:SASL_SSL",
        "inter.broker.listener.name=PLAINTEXT",
        *(f"{k}={v}" for k, v in _tls_keys(pki).items()),
        f"listener.name.plaintext.plain.sasl.jaas.config={PLAIN_JAAS}",
        f"listener.name.controller.plain.sasl.jaas.config={PLAIN_JAAS}",
        "sasl.enabled.mechanisms=PLAIN",
    ])
    try:
        config = ck(pki, "PLAIN", "alice", "alice-secret")
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({**config, "bootstrap.servers": c.bootstrap()})
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and len(admin.list_topics(timeout=5).brokers) < 3:
            time.sleep(0.3)
        assert len(admin.list_topics(timeout=5).brokers) == 3, "\n".join(c.log(n)[-2000:] for n in c.broker_ids)
        topic = f"sasl-ssl-cluster-{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(topic, 1, 3, config={"min.insync.replicas": "3"})])[topic].result(timeout=30)
        values = [b"r%d" % i for i in range(10)]
        assert _produce(c.bootstrap(), topic, values, {**config, "acks": "all"}) == [None] * 10
        assert [m.value() for m in ck_consume(c.bootstrap(), topic, 0, 10, extra=config)] == values
        for n in c.broker_ids:
            log = c.log(n)
            assert "failed SASL authentication" not in log and "TLS handshake with" not in log, log[-3000:]
    finally:
        c.stop()
