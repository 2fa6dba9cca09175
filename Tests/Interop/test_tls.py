"""TLS listeners (issue 12): SSL listeners with Kafka's PEM keys (KIP-651), client certificates
(`ssl.client.auth`) as principals, and real clients over TLS with host name verification on, as
they have it by default.

The test makes its own PKI with `openssl` in a temporary directory: a CA, a server certificate
with subject alternative names DNS:localhost and IP:127.0.0.1, a client certificate for
CN=alice,OU=eng,O=Acme, an expired client certificate, and a second, untrusted CA with a client
certificate of its own. Brokers advertise `localhost`, so clients check the name they dial.
"""

from __future__ import annotations

import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

import pytest

from harness import free_port

from interop_util import kcat_path
from runnel_cli import FAST, runnel

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _issue(d: Path, name: str, subject: str, ca: str, days: str = "2", san: str | None = None) -> None:
    _openssl(d, "req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject)
    extra: list[str] = []
    if san:
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        extra = ["-extfile", f"{name}.ext"]
    _openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", days, *extra)
    # One file with key and certificate: a PEM key store (ssl.keystore.location).
    (d / f"{name}-keystore.pem").write_text((d / f"{name}.key").read_text() + (d / f"{name}.pem").read_text())


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "rogue-ca"):
        _openssl(d, "req", "-x509", *EC, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
                 "-subj", f"/CN=Runnel Test {ca}")
    _issue(d, "server", "/CN=localhost", "ca", san="DNS:localhost,IP:127.0.0.1")
    _issue(d, "wrong-name", "/CN=elsewhere", "ca", san="DNS:elsewhere.invalid")
    _issue(d, "alice", "/O=Acme/OU=eng/CN=alice", "ca")
    _issue(d, "expired", "/CN=expired", "ca", days="-1")
    _issue(d, "mallory", "/CN=mallory", "rogue-ca")
    return d


def _ssl_overrides(pki: Path, port: int, client_auth: str = "requested", keystore: str = "server") -> dict:
    return {
        "listeners": f"SSL://127.0.0.1:{port}",
        "advertised.listeners": f"SSL://localhost:{port}",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(pki / f"{keystore}-keystore.pem"),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(pki / "ca.pem"),
        "ssl.client.auth": client_auth,
        "runnel.log.levels": "network=debug",
    }


def _port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def ssl_broker(module_broker_factory, pki):
    port = _port()
    return module_broker_factory(_ssl_overrides(pki, port), port=port)


@pytest.fixture(scope="module")
def mtls_broker(module_broker_factory, pki):
    port = _port()
    return module_broker_factory(_ssl_overrides(pki, port, client_auth="required"), port=port)


def _bootstrap(broker) -> str:
    return f"localhost:{broker.port}"


def _kcat(broker, pki: Path, *args: str, cert: str | None = None, ca: str = "ca",
          input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [kcat_path(), "-b", _bootstrap(broker), "-X", "security.protocol=ssl", "-X", f"ssl.ca.location={pki / f'{ca}.pem'}",
           "-X", "socket.timeout.ms=5000", "-X", "reconnect.backoff.max.ms=500"]
    if cert:
        cmd += ["-X", f"ssl.certificate.location={pki / f'{cert}.pem'}", "-X", f"ssl.key.location={pki / f'{cert}.key'}"]
    cp = subprocess.run(cmd + list(args), input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if check:
        assert cp.returncode == 0, cp.stderr.decode(errors="replace")[-2000:]
    return cp


def _ck_config(broker, pki: Path, **extra) -> dict:
    # No ssl.endpoint.identification.algorithm: librdkafka's default (https) checks the host name.
    return {"bootstrap.servers": _bootstrap(broker), "security.protocol": "SSL",
            "ssl.ca.location": str(pki / "ca.pem"), "socket.timeout.ms": 10000, **extra}


def _ck_round_trip(broker, pki: Path, topic: str, count: int = 20, **extra) -> None:
    from confluent_kafka import Consumer, Producer

    producer = Producer({**_ck_config(broker, pki, **extra), "acks": "all"})
    errors: list = []
    for i in range(count):
        producer.produce(topic, key=b"k%d" % i, value=b"tls-%d" % i,
                         on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert producer.flush(30) == 0
    assert errors == []
    consumer = Consumer({**_ck_config(broker, pki, **extra), "group.id": f"g-{topic}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "session.timeout.ms": 6000})
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.monotonic() + 45
    while len(values) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            values.append(msg.value())
    consumer.close()
    assert values == [b"tls-%d" % i for i in range(count)]


# ---------------------------------------------------------------------------------------------
# Real clients over SSL
# ---------------------------------------------------------------------------------------------


def test_kcat_round_trip_over_ssl(ssl_broker, pki, topic):
    _kcat(ssl_broker, pki, "-P", "-t", topic, input=b"one\ntwo\nthree\n")
    cp = _kcat(ssl_broker, pki, "-C", "-t", topic, "-o", "beginning", "-e", "-c", "3", "-f", "%s\n")
    assert cp.stdout.decode().split() == ["one", "two", "three"]
    assert ssl_broker.wait_for_log(r"principal=User:ANONYMOUS .*TLS handshake complete")


def test_confluent_kafka_with_client_certificate_is_alice(ssl_broker, pki, topic):
    _ck_round_trip(ssl_broker, pki, topic, **{"ssl.certificate.location": str(pki / "alice.pem"),
                                              "ssl.key.location": str(pki / "alice.key")})
    # Kafka's DEFAULT principal: the subject DN in RFC 2253 form.
    assert ssl_broker.wait_for_log(r"principal=User:CN=alice,OU=eng,O=Acme")


def test_kafka_python_over_ssl(ssl_broker, pki, topic):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    common = dict(bootstrap_servers=_bootstrap(ssl_broker), security_protocol="SSL", ssl_cafile=str(pki / "ca.pem"),
                  ssl_certfile=str(pki / "alice.pem"), ssl_keyfile=str(pki / "alice.key"), request_timeout_ms=10000)
    producer = KafkaProducer(acks="all", **common)
    for i in range(10):
        producer.send(topic, b"kp-%d" % i).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(auto_offset_reset="earliest", consumer_timeout_ms=10000, **common)
    consumer.assign([TopicPartition(topic, 0)])
    values = [m.value for m in consumer]
    consumer.close()
    assert values == [b"kp-%d" % i for i in range(10)]


def test_aiokafka_over_ssl(ssl_broker, pki, topic):
    import asyncio

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.helpers import create_ssl_context

    async def run() -> list[bytes]:
        context = create_ssl_context(cafile=str(pki / "ca.pem"))
        assert context.check_hostname
        producer = AIOKafkaProducer(bootstrap_servers=_bootstrap(ssl_broker), security_protocol="SSL",
                                    ssl_context=context, acks="all")
        await producer.start()
        try:
            for i in range(10):
                await producer.send_and_wait(topic, b"aio-%d" % i)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=_bootstrap(ssl_broker), security_protocol="SSL",
                                    ssl_context=context, auto_offset_reset="earliest")
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, 0)])
            batches = await consumer.getmany(timeout_ms=10000, max_records=10)
            return [m.value for records in batches.values() for m in records]
        finally:
            await consumer.stop()

    assert asyncio.run(run()) == [b"aio-%d" % i for i in range(10)]


def test_runnel_cli_over_ssl_with_command_config(ssl_broker, pki, topic, tmp_path):
    props = tmp_path / "client.properties"
    props.write_text(f"security.protocol=SSL\nssl.ca.location={pki / 'ca.pem'}\n"
                     f"ssl.certificate.location={pki / 'alice.pem'}\nssl.key.location={pki / 'alice.key'}\n")
    bootstrap = _bootstrap(ssl_broker)
    runnel(bootstrap, "topic", "create", topic, "--partitions", "2", "--command-config", str(props), *FAST)
    lines = [f"line-{i}" for i in range(50)]
    runnel(bootstrap, "produce", topic, "--command-config", str(props), *FAST, input="".join(l + "\n" for l in lines).encode())
    # -X form, with the Java client's PEM trust store names.
    cp = runnel(bootstrap, "consume", topic, "--from-beginning", "--max-messages", "50", *FAST,
                "-X", "security.protocol=SSL", "-X", "ssl.truststore.type=PEM", "-X", f"ssl.truststore.location={pki / 'ca.pem'}")
    assert sorted(cp.stdout.decode().split()) == sorted(lines)


def test_plaintext_and_ssl_listeners_side_by_side(broker_factory, pki, topic):
    plain_port, ssl_port = _port(), _port()
    overrides = _ssl_overrides(pki, ssl_port)
    overrides["listeners"] = f"PLAINTEXT://127.0.0.1:{plain_port},SSL://127.0.0.1:{ssl_port}"
    overrides["advertised.listeners"] = f"PLAINTEXT://127.0.0.1:{plain_port},SSL://localhost:{ssl_port}"
    broker = broker_factory(overrides, port=plain_port)
    from interop_util import kcat
    kcat(f"127.0.0.1:{plain_port}", "-P", "-t", topic, input=b"plain\n")
    tls = type("B", (), {"port": ssl_port})()
    _kcat(tls, pki, "-P", "-t", topic, input=b"secure\n")
    # Each listener's clients are sent to that listener's endpoint.
    assert f"localhost:{ssl_port}" in _kcat(tls, pki, "-L").stdout.decode()
    assert f"127.0.0.1:{plain_port}" in kcat(f"127.0.0.1:{plain_port}", "-L").stdout.decode()
    cp = _kcat(tls, pki, "-C", "-t", topic, "-o", "beginning", "-e", "-c", "2", "-f", "%s\n")
    assert cp.stdout.decode().split() == ["plain", "secure"]
    assert broker.alive()


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------


def test_clients_refuse_an_untrusted_or_misnamed_server(ssl_broker, broker_factory, pki):
    # The broker's certificate does not chain to the CA the client trusts.
    cp = _kcat(ssl_broker, pki, "-L", "-m", "5", ca="rogue-ca", check=False)
    assert cp.returncode != 0
    assert "certificate verify failed" in cp.stderr.decode().lower()
    cp = runnel(_bootstrap(ssl_broker), "topic", "list", *FAST, "-X", "security.protocol=SSL",
                "-X", f"ssl.ca.location={pki / 'rogue-ca.pem'}", check=False)
    assert cp.returncode == 1
    assert "TLS handshake failed: CERTIFICATE_VERIFY_FAILED" in cp.stderr.decode()
    # A trusted certificate for another host name: refused unless the client turns the check off.
    port = _port()
    misnamed = broker_factory(_ssl_overrides(pki, port, keystore="wrong-name"), port=port)
    bad = runnel(_bootstrap(misnamed), "topic", "list", *FAST, "-X", "security.protocol=SSL",
                 "-X", f"ssl.ca.location={pki / 'ca.pem'}", check=False)
    assert bad.returncode == 1 and "TLS handshake failed" in bad.stderr.decode()
    runnel(_bootstrap(misnamed), "topic", "list", *FAST, "-X", "security.protocol=SSL",
           "-X", f"ssl.ca.location={pki / 'ca.pem'}", "-X", "ssl.endpoint.identification.algorithm=none")


def test_required_client_auth_refuses_missing_expired_and_foreign_certificates(mtls_broker, pki, topic):
    _kcat(mtls_broker, pki, "-P", "-t", topic, cert="alice", input=b"before\n")
    for cert in (None, "expired", "mallory"):
        cp = _kcat(mtls_broker, pki, "-L", "-m", "3", cert=cert, check=False)
        assert cp.returncode != 0, f"{cert}: {cp.stdout!r}"
    # One warning per failed handshake (rate-limited per address), naming the peer and the reason.
    warnings = mtls_broker.wait_for_log(r"TLS handshake with /127\.0\.0\.1 failed")
    assert warnings and any("CERTIFICATE" in line.upper() for line in warnings), warnings
    import urllib.request
    metrics = urllib.request.urlopen(mtls_broker.metrics_url, timeout=5).read().decode()
    failures = [float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("runnel_tls_handshake_failures_total")]
    assert failures and failures[0] >= 3, failures
    # The broker and its other clients go on.
    _kcat(mtls_broker, pki, "-P", "-t", topic, cert="alice", input=b"after\n")
    cp = _kcat(mtls_broker, pki, "-C", "-t", topic, "-o", "beginning", "-e", "-c", "2", "-f", "%s\n", cert="alice")
    assert cp.stdout.decode().split() == ["before", "after"]
    assert mtls_broker.alive()


def test_plaintext_bytes_on_an_ssl_port_close_only_that_connection(mtls_broker, pki):
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    context.load_cert_chain(str(pki / "alice.pem"), str(pki / "alice.key"))
    with socket.create_connection(("localhost", mtls_broker.port), timeout=5) as raw:
        good = context.wrap_socket(raw, server_hostname="localhost")
        # A plaintext client: an ApiVersions v0 request, not a TLS ClientHello.
        client_id = b"plain"
        body = struct.pack(">hhih", 18, 0, 7, len(client_id)) + client_id
        with socket.create_connection(("127.0.0.1", mtls_broker.port), timeout=5) as plain:
            plain.sendall(struct.pack(">i", len(body)) + body)
            received = b""
            while True:
                try:
                    chunk = plain.recv(4096)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                received += chunk
            # At most a TLS alert record (content type 21) comes back, never a Kafka response.
            assert received == b"" or received[0] == 21, received[:16]
        # The TLS connection opened before it still answers.
        good.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", good.recv(4))[0]
        response = b""
        while len(response) < size:
            response += good.recv(size - len(response))
        assert struct.unpack(">ih", response[:6]) == (7, 0)
        good.close()
    assert mtls_broker.wait_for_log(r"TLS handshake with /127\.0\.0\.1 failed")


def test_broker_refuses_to_start_with_a_bad_key_store(pki, tmp_path, runnel_path):
    cp = subprocess.run([runnel_path, "broker", "--override", f"log.dirs={tmp_path / 'data'}",
                         "--override", "listeners=SSL://127.0.0.1:0", "--override", "ssl.keystore.type=JKS",
                         "--override", f"ssl.keystore.location={pki / 'server-keystore.pem'}"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert cp.returncode == 2
    assert "ssl.keystore.type" in cp.stderr.decode() and "only PEM" in cp.stderr.decode()


# ---------------------------------------------------------------------------------------------
# A cluster with every listener on TLS
# ---------------------------------------------------------------------------------------------


def test_three_broker_cluster_all_ssl(pki, tmp_path):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    from test_cluster import Cluster

    # cluster up names its listeners PLAINTEXT and CONTROLLER: map both names to SSL. Brokers and
    # controllers must show their certificate to each other (ssl.client.auth=required).
    cluster = Cluster(tmp_path / "cluster", extra=[
        "listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:SSL",
        "inter.broker.listener.name=PLAINTEXT",
        f"ssl.keystore.location={pki / 'server-keystore.pem'}",
        f"ssl.truststore.location={pki / 'ca.pem'}",
        "ssl.client.auth=required",
    ]).start()
    try:
        common = {"bootstrap.servers": cluster.bootstrap(), "security.protocol": "SSL", "ssl.ca.location": str(pki / "ca.pem"),
                  "ssl.certificate.location": str(pki / "alice.pem"), "ssl.key.location": str(pki / "alice.key"),
                  "socket.timeout.ms": 10000}
        admin = AdminClient(common)
        # All three brokers registered with the controller quorum, over TLS.
        deadline = time.monotonic() + 30
        while len(admin.list_topics(timeout=10).brokers) < 3:
            assert time.monotonic() < deadline, "the brokers did not all register"
            time.sleep(0.2)
        topic = "tls-replicated"
        admin.create_topics([NewTopic(topic, 1, 3, config={"min.insync.replicas": "3"})])[topic].result(30)
        producer = Producer({**common, "acks": "all", "message.timeout.ms": 30000})
        errors: list = []
        for i in range(30):
            producer.produce(topic, value=b"r-%d" % i, on_delivery=lambda err, msg: errors.append(err) if err else None)
        assert producer.flush(45) == 0 and errors == []
        # Every replica fetched over TLS: acks=all with min.insync.replicas=3 needs all three.
        partition = admin.list_topics(topic, timeout=10).topics[topic].partitions[0]
        assert sorted(partition.isrs) == [1, 2, 3]
        consumer = Consumer({**common, "group.id": "tls-cluster", "enable.auto.commit": False})
        consumer.assign([TopicPartition(topic, 0, 0)])
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(values) < 30 and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                values.append(msg.value())
        consumer.close()
        assert values == [b"r-%d" % i for i in range(30)]
    finally:
        cluster.stop()
