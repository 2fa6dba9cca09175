"""ACL authorization (KIP-11, KIP-140, KIP-290, StandardAuthorizer semantics) with real clients.

One broker with a SASL_PLAINTEXT listener and PLAIN users from Kafka's JAAS entry: User:admin is
a super user, User:alice and User:bob get only what the ACLs grant. For each API of the matrix
alice is first refused with Kafka's error, then allowed once admin granted the ACL (confluent-kafka
AdminClient.create_acls). Then: deny beats allow, prefixed patterns, Metadata hides topics, ACLs
seen across clients (kafka-python), the `runnel acl` CLI (golden output), and on a PLAINTEXT
broker allow.everyone.if.no.acl.found and ACLs surviving a restart."""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions, NewTopic, OffsetSpec,
                                   ResourcePatternType, ResourceType)

from harness import free_port
from interop_util import CK_COMMON, kcat, kp_producer
from runnel_cli import runnel

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              'username="admin" password="admin-secret" '
              'user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret";')
GOLDEN = Path(__file__).parent / "golden" / "cli"


def sasl(user: str) -> dict:
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
            "sasl.username": user, "sasl.password": f"{user}-secret"}


@pytest.fixture(scope="module")
def acl_broker(module_broker_factory):
    port = free_port()
    yield module_broker_factory({
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
        "sasl.enabled.mechanisms": "PLAIN",
        "connection.failed.authentication.delay.ms": 20,
        "authorizer.class.name": AUTHORIZER,
        "super.users": "User:admin",
        "group.initial.rebalance.delay.ms": 0,
    }, port=port)
    _ADMINS.clear()  # closes the clients before the broker stops, so they do not retry it


_ADMINS: dict[tuple[str, str], AdminClient] = {}


def admin_client(bootstrap: str, user: str = "admin") -> AdminClient:
    """One client per broker and user, kept until the module's broker stops: a dropped AdminClient
    fails its pending futures."""
    key = (bootstrap, user)
    if key not in _ADMINS:
        _ADMINS[key] = AdminClient({**CK_COMMON, "bootstrap.servers": bootstrap, **sasl(user)})
    return _ADMINS[key]


def outcome(future, timeout: float = 15.0):
    """None when the future succeeded, else the Kafka error name."""
    try:
        future.result(timeout)
        return None
    except KafkaException as e:
        return e.args[0].name()


def grant(bootstrap: str, *acls: AclBinding) -> None:
    results = admin_client(bootstrap).create_acls(list(acls))
    for f in results.values():
        f.result(15)


def acl(rtype, name: str, op, principal: str = "User:alice", permission=AclPermissionType.ALLOW,
        pattern=ResourcePatternType.LITERAL) -> AclBinding:
    return AclBinding(rtype, name, pattern, principal, "*", op, permission)


def make_topic(bootstrap: str, name: str, records: int = 2) -> None:
    a = admin_client(bootstrap)
    a.create_topics([NewTopic(name, 1, 1)])[name].result(15)
    if records:
        kcat(bootstrap, *kcat_sasl("admin"), "-P", "-t", name, "-p", "0", input=b"".join(b"r%d\n" % i for i in range(records)))


def kcat_sasl(user: str) -> list[str]:
    return ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
            "-X", f"sasl.username={user}", "-X", f"sasl.password={user}-secret"]


def kcat_outcome(cp) -> str | None:
    if cp.returncode == 0:
        return None
    text = cp.stderr.decode()
    for name, phrase in [("TOPIC_AUTHORIZATION_FAILED", "topic authorization failed"),
                         ("GROUP_AUTHORIZATION_FAILED", "group authorization failed")]:
        if phrase in text.lower():
            return name
    return text


# ---------------------------------------------------------------------------------------
# The matrix: (case, what alice does, the error before the grant, the ACLs that allow it)
# ---------------------------------------------------------------------------------------

def do_produce_kcat(b: str, name: str):
    return kcat_outcome(kcat(b, *kcat_sasl("alice"), "-X", "message.timeout.ms=5000", "-P", "-t", name, "-p", "0",
                             input=b"hello\n", check=False, timeout=30))


def do_consume_kcat(b: str, name: str):
    return kcat_outcome(kcat(b, *kcat_sasl("alice"), "-C", "-t", name, "-p", "0", "-o", "beginning", "-e", "-c", "2",
                             check=False, timeout=30))


def do_produce_kafka_python(b: str, name: str):
    p = kp_producer(b, security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_plain_username="alice",
                    sasl_plain_password="alice-secret", max_block_ms=5000, delivery_timeout_ms=8000, request_timeout_ms=5000)
    try:
        p.send(name, b"v", partition=0).get(timeout=10)
        return None
    except Exception as e:  # kafka-python raises TopicAuthorizationFailedError (message TOPIC_AUTHORIZATION_FAILED)
        return getattr(e, "message", None) or type(e).__name__
    finally:
        p.close(timeout=2)


def do_create_topic(b: str, name: str):
    new = name + "-new"
    return outcome(admin_client(b, "alice").create_topics([NewTopic(new, 1, 1)])[new])


def do_delete_topic(b: str, name: str):
    return outcome(admin_client(b, "alice").delete_topics([name])[name])


def do_create_partitions(b: str, name: str):
    return outcome(admin_client(b, "alice").create_partitions([NewPartitions(name, 2)])[name])


def do_describe_configs(b: str, name: str):
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    return outcome(admin_client(b, "alice").describe_configs([resource])[resource])


def do_alter_configs(b: str, name: str):
    resource = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=[
        ConfigEntry("retention.ms", "86400000", incremental_operation=AlterConfigOpType.SET)])
    return outcome(admin_client(b, "alice").incremental_alter_configs([resource])[resource])


def do_group_consume(b: str, name: str):
    errors: list = []
    c = Consumer({**CK_COMMON, "bootstrap.servers": b, **sasl("alice"), "group.id": name, "auto.offset.reset": "earliest",
                  "session.timeout.ms": 6000, "error_cb": errors.append})
    try:
        c.subscribe([name])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is None:
                if errors:
                    return errors[0].name()
                continue
            if msg.error():
                return msg.error().name()
            c.commit(msg, asynchronous=False)
            return None
        return f"nothing consumed, errors {errors}"
    finally:
        c.close()


def do_delete_group(b: str, name: str):
    return outcome(admin_client(b, "alice").delete_consumer_groups([name])[name])


def do_delete_records(b: str, name: str):
    futures = admin_client(b, "alice").delete_records([TopicPartition(name, 0, 1)])
    return outcome(next(iter(futures.values())))


def do_list_offsets(b: str, name: str):
    futures = admin_client(b, "alice").list_offsets({TopicPartition(name, 0): OffsetSpec.latest()})
    return outcome(next(iter(futures.values())))


def do_create_acls(b: str, name: str):
    binding = acl(ResourceType.TOPIC, name, AclOperation.READ, principal="User:bob")
    return outcome(admin_client(b, "alice").create_acls([binding])[binding])


def group_setup(b: str, name: str) -> None:
    """An Empty group with a committed offset (admin consumed and left)."""
    c = Consumer({**CK_COMMON, "bootstrap.servers": b, **sasl("admin"), "group.id": name, "auto.offset.reset": "earliest",
                  "session.timeout.ms": 6000})
    c.subscribe([name])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        msg = c.poll(0.2)
        if msg is not None and not msg.error():
            c.commit(msg, asynchronous=False)
            break
    c.close()


T, G, C = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.BROKER
MATRIX = [
    ("produce-kcat", do_produce_kcat, "TOPIC_AUTHORIZATION_FAILED", lambda n: [acl(T, n, AclOperation.WRITE)], None),
    ("produce-kafka-python", do_produce_kafka_python, "TOPIC_AUTHORIZATION_FAILED", lambda n: [acl(T, n, AclOperation.WRITE)], None),
    ("consume-kcat", do_consume_kcat, "TOPIC_AUTHORIZATION_FAILED", lambda n: [acl(T, n, AclOperation.READ)], None),
    ("create-topics", do_create_topic, "TOPIC_AUTHORIZATION_FAILED", lambda n: [acl(T, n + "-new", AclOperation.CREATE)], None),
    ("delete-topics", do_delete_topic, "TOPIC_AUTHORIZATION_FAILED", lambda n: [acl(T, n, AclOperation.DELETE)], None),
    ("create-partitions", do_create_partitions, "TOPIC_AUTHORIZATION_FAILED", lambda n: [acl(T, n, AclOperation.ALTER)], None),
    ("describe-configs", do_describe_configs, "TOPIC_AUTHORIZATION_FAILED", lambda n: [acl(T, n, AclOperation.DESCRIBE_CONFIGS)], None),
    ("alter-configs", do_alter_configs, "TOPIC_AUTHORIZATION_FAILED", lambda n: [acl(T, n, AclOperation.ALTER_CONFIGS)], None),
    ("group-consume", do_group_consume, "GROUP_AUTHORIZATION_FAILED",
     lambda n: [acl(G, n, AclOperation.READ)], lambda b, n: grant(b, acl(T, n, AclOperation.READ))),
    ("delete-groups", do_delete_group, "GROUP_AUTHORIZATION_FAILED", lambda n: [acl(G, n, AclOperation.DELETE)], group_setup),
    # DESCRIBE first, so that librdkafka's leader lookup (Metadata) passes and DeleteRecords itself is refused.
    ("delete-records", do_delete_records, "TOPIC_AUTHORIZATION_FAILED", lambda n: [acl(T, n, AclOperation.DELETE)],
     lambda b, n: grant(b, acl(T, n, AclOperation.DESCRIBE))),
    # ListOffsets needs the same DESCRIBE as the Metadata request librdkafka sends first; Metadata
    # answers TOPIC_AUTHORIZATION_FAILED and librdkafka reports the partition as unknown (_NOENT).
    ("list-offsets", do_list_offsets, "_NOENT", lambda n: [acl(T, n, AclOperation.DESCRIBE)], None),
    ("create-acls", do_create_acls, "CLUSTER_AUTHORIZATION_FAILED", lambda n: [acl(C, "kafka-cluster", AclOperation.ALTER)], None),
]


@pytest.mark.parametrize("case,action,refusal,acls,setup", MATRIX, ids=[m[0] for m in MATRIX])
def test_acl_matrix(acl_broker, case, action, refusal, acls, setup):
    b = acl_broker.bootstrap
    name = f"m-{case}-{uuid.uuid4().hex[:6]}"
    make_topic(b, name)
    if setup:
        setup(b, name)
    assert action(b, name) == refusal
    grant(b, *acls(name))
    # A client may hold the refused metadata for a moment (librdkafka caches a missing topic).
    deadline = time.monotonic() + 10
    while (result := action(b, name)) is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert result is None


def test_deny_beats_allow(acl_broker):
    b = acl_broker.bootstrap
    name = f"deny-{uuid.uuid4().hex[:6]}"
    make_topic(b, name)
    grant(b, acl(T, name, AclOperation.ALL), acl(T, name, AclOperation.WRITE, permission=AclPermissionType.DENY))
    assert do_consume_kcat(b, name) is None
    assert do_produce_kcat(b, name) == "TOPIC_AUTHORIZATION_FAILED"


def test_prefixed_patterns_and_metadata_hides_topics(acl_broker):
    b = acl_broker.bootstrap
    prefix = f"team-{uuid.uuid4().hex[:6]}."
    for name in [prefix + "orders", prefix + "payments", "other-" + prefix]:
        make_topic(b, name, records=0)
    grant(b, acl(T, prefix, AclOperation.READ, pattern=ResourcePatternType.PREFIXED),
         acl(T, prefix + "pay", AclOperation.DESCRIBE, principal="User:bob", pattern=ResourcePatternType.PREFIXED))
    alice = set(admin_client(b, "alice").list_topics(timeout=10).topics)
    bob = set(admin_client(b, "bob").list_topics(timeout=10).topics)
    admin = set(admin_client(b).list_topics(timeout=10).topics)
    assert {prefix + "orders", prefix + "payments"} <= alice and "other-" + prefix not in alice
    assert prefix + "payments" in bob and prefix + "orders" not in bob
    assert {prefix + "orders", prefix + "payments", "other-" + prefix} <= admin
    # Asked for them (KIP-430), the operations alice may perform on the topic: READ and the DESCRIBE it implies.
    from confluent_kafka import TopicCollection
    described = admin_client(b, "alice").describe_topics(TopicCollection([prefix + "orders"]), include_authorized_operations=True)
    assert set(described[prefix + "orders"].result(10).authorized_operations) == {AclOperation.READ, AclOperation.DESCRIBE}
    # kafka-python's metadata for a named topic alice may not describe: refused, whether or not it exists.
    from kafka import KafkaConsumer
    c = KafkaConsumer(bootstrap_servers=b, security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                      sasl_plain_username="bob", sasl_plain_password="bob-secret", request_timeout_ms=5000)
    try:
        assert prefix + "orders" not in c.topics() and prefix + "payments" in c.topics()
    finally:
        c.close()


def test_describe_cluster_needs_no_acl_and_reports_allowed_operations(acl_broker):
    """As on a Kafka broker, DescribeCluster answers any authenticated principal; asked for them
    (KIP-430), it lists the cluster operations the principal may perform."""
    b = acl_broker.bootstrap
    bob = admin_client(b, "bob").describe_cluster(include_authorized_operations=True).result(10)
    assert len(bob.nodes) == 1 and not bob.authorized_operations
    grant(b, acl(C, "kafka-cluster", AclOperation.DESCRIBE_CONFIGS, principal="User:bob"))
    bob = admin_client(b, "bob").describe_cluster(include_authorized_operations=True).result(10)
    assert set(bob.authorized_operations) == {AclOperation.DESCRIBE_CONFIGS}
    admin = admin_client(b).describe_cluster(include_authorized_operations=True).result(10)
    assert set(admin.authorized_operations) == {AclOperation.CREATE, AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS,
                                                AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE, AclOperation.ALTER,
                                                AclOperation.DESCRIBE}


def test_acls_created_with_confluent_kafka_are_seen_by_kafka_python(acl_broker):
    from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                             ResourcePatternFilter)
    from kafka.admin import ResourceType as KPResourceType

    b = acl_broker.bootstrap
    name = f"cross-{uuid.uuid4().hex[:6]}"
    grant(b, acl(G, name, AclOperation.READ, principal="User:carol", pattern=ResourcePatternType.PREFIXED))
    kp = KafkaAdminClient(bootstrap_servers=b, security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                          sasl_plain_username="admin", sasl_plain_password="admin-secret", request_timeout_ms=5000)
    try:
        found, error = kp.describe_acls(ACLFilter(principal="User:carol", host=None, operation=ACLOperation.ANY,
                                                  permission_type=ACLPermissionType.ANY,
                                                  resource_pattern=ResourcePatternFilter(KPResourceType.ANY, None,
                                                                                         ACLResourcePatternType.ANY)))
        assert error.errno == 0
        assert [(a.resource_pattern.resource_name, a.resource_pattern.pattern_type, a.operation) for a in found] == [
            (name, ACLResourcePatternType.PREFIXED, ACLOperation.READ)]
    finally:
        kp.close()
    # And deleted through confluent-kafka, which lists what it removed.
    f = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, "User:carol", None, AclOperation.ANY,
                         AclPermissionType.ANY)
    admin = admin_client(b)
    deleted = next(iter(admin.delete_acls([f]).values())).result(10)
    assert [(d.name, d.operation) for d in deleted] == [(name, AclOperation.READ)]
    assert admin_client(b).describe_acls(f).result(10) == []


# ---------------------------------------------------------------------------------------
# runnel acl (golden output)
# ---------------------------------------------------------------------------------------

CLI_CASES = [
    ("acl-add-not-allowed", ["acl", "add", "--allow-principal", "User:alice", "--operation", "ALL", "--cluster"]),
    ("acl-add", ["acl", "add", "--allow-principal", "User:gold", "--operation", "READ", "--operation", "DESCRIBE",
                 "--topic", "golden-", "--resource-pattern-type", "prefixed"]),
    ("acl-add-deny", ["acl", "add", "--deny-principal", "User:bob", "--operation", "ALL", "--group", "golden-g",
                      "--host", "10.0.0.1"]),
    ("acl-add-bad-principal", ["acl", "add", "--allow-principal", "alice", "--operation", "READ", "--topic", "x"]),
    ("acl-list", ["acl", "list", "--principal", "User:gold"]),
    ("acl-list-match", ["acl", "list", "--topic", "golden-orders", "--resource-pattern-type", "match"]),
    ("acl-remove", ["acl", "remove", "--topic", "golden-", "--resource-pattern-type", "prefixed",
                    "--allow-principal", "User:gold", "--operation", "DESCRIBE"]),
    ("acl-remove-all-of-resource", ["acl", "remove", "--group", "golden-g"]),
]


@pytest.mark.parametrize("name,args", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_acl_cli_golden(acl_broker, name, args):
    user = "bob" if name == "acl-add-not-allowed" else "admin"  # bob may not ALTER the cluster
    auth = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=PLAIN",
            "-X", f"sasl.username={user}", "-X", f"sasl.password={user}-secret", "-X", "request.timeout.ms=5000"]
    cp = runnel(acl_broker.bootstrap, *args, *auth, check=False, timeout=60)
    actual = (f"$ runnel {' '.join(args)}\n[stdout]\n{cp.stdout.decode()}[stderr]\n{cp.stderr.decode()}"
              f"[exit {cp.returncode}]\n").replace(acl_broker.bootstrap, "<BOOTSTRAP>")
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("RUNNEL_UPDATE_GOLDEN"):
        path.write_text(actual)
    assert path.exists(), f"no golden file {path}; run with RUNNEL_UPDATE_GOLDEN=1 and review it"
    assert actual == path.read_text()


# ---------------------------------------------------------------------------------------
# PLAINTEXT: allow.everyone.if.no.acl.found, and ACLs in the metadata log across a restart
# ---------------------------------------------------------------------------------------

def test_allow_everyone_if_no_acl_found_and_acls_survive_restart(broker_factory):
    broker = broker_factory({"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
                             "allow.everyone.if.no.acl.found": True})
    b = broker.bootstrap
    anonymous = AdminClient({**CK_COMMON, "bootstrap.servers": b, "socket.timeout.ms": 5000})
    for name in ["open", "guarded"]:
        anonymous.create_topics([NewTopic(name, 1, 1)])[name].result(15)
    # No ACL covers the cluster: User:ANONYMOUS may create ACLs.
    binding = AclBinding(ResourceType.TOPIC, "guarded", ResourcePatternType.LITERAL, "User:alice", "*", AclOperation.WRITE,
                         AclPermissionType.ALLOW)
    anonymous.create_acls([binding])[binding].result(15)

    def produce(topic: str):
        return kcat_outcome(kcat(b, "-X", "message.timeout.ms=5000", "-P", "-t", topic, "-p", "0", input=b"x\n",
                                 check=False, timeout=30))

    assert produce("open") is None
    assert produce("guarded") == "TOPIC_AUTHORIZATION_FAILED"
    broker.restart()
    assert produce("open") is None
    assert produce("guarded") == "TOPIC_AUTHORIZATION_FAILED"
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                                  AclPermissionType.ANY)
    after = AdminClient({**CK_COMMON, "bootstrap.servers": b})
    assert after.describe_acls(everything).result(10) == [binding]


def test_unknown_authorizer_class_is_refused_at_startup(broker_factory):
    from harness import BrokerError

    with pytest.raises(BrokerError):
        broker_factory({"authorizer.class.name": "com.example.MyAuthorizer"})


# ---------------------------------------------------------------------------------------
# A three-node cluster with an authorizer: inter-node traffic as User:ANONYMOUS (a super user)
# ---------------------------------------------------------------------------------------

def test_cluster_with_authorizer_forwards_acl_changes_and_replicates(tmp_path):
    from test_cluster import Cluster, _until

    c = Cluster(tmp_path / "cluster", extra=[f"authorizer.class.name={AUTHORIZER}", "super.users=User:ANONYMOUS"]).start()
    try:
        clients = {n: AdminClient({**CK_COMMON, "bootstrap.servers": c.bootstrap(n)}) for n in c.broker_ids}
        # Registration, heartbeats and the quorum all passed the CLUSTER_ACTION check: every broker is live.
        _until(lambda: all(len(clients[n].list_topics(timeout=5).brokers) == 3 for n in c.broker_ids), 30, "three live brokers")
        binding = AclBinding(ResourceType.TOPIC, "audited", ResourcePatternType.PREFIXED, "User:alice", "*",
                             AclOperation.READ, AclPermissionType.ALLOW)
        # Created through each broker in turn: at least two of them forward it to the active controller.
        for n in c.broker_ids:
            clients[n].create_acls([binding])[binding].result(15)
        everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                                      AclPermissionType.ANY)
        _until(lambda: all(clients[n].describe_acls(everything).result(10) == [binding] for n in c.broker_ids), 15,
               "the ACL on every broker")
        # Followers fetch with CLUSTER_ACTION: a topic with three replicas gets all three in sync.
        clients[1].create_topics([NewTopic("replicated", 1, 3)])["replicated"].result(15)
        kcat(c.bootstrap(), "-X", "acks=all", "-P", "-t", "replicated", "-p", "0", input=b"a\nb\n")
        _until(lambda: len(clients[2].list_topics("replicated", timeout=5).topics["replicated"].partitions[0].isrs) == 3, 20,
               "three in-sync replicas")
        deleted = next(iter(clients[3].delete_acls([everything]).values())).result(15)
        assert deleted == [binding]
        _until(lambda: all(clients[n].describe_acls(everything).result(10) == [] for n in c.broker_ids), 15, "the ACL gone everywhere")
    finally:
        c.stop()
