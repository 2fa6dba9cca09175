#!/usr/bin/env python3
"""Capture the ACL request frames confluent-kafka (librdkafka) and kafka-python send (a tool, not a test).

Starts a runnel broker with an authorizer (User:ANONYMOUS a super user) behind a recording TCP
proxy, then each client creates, describes and deletes the same ACL:

  User:alice ALLOW READ from * on TOPIC prefixed "fixture-"

Every DescribeAcls (29), CreateAcls (30) and DeleteAcls (31) request frame (the bytes after the
4-byte size prefix: header and body) is written to

  Tests/KafkaProtocolTests/Fixtures/acls/<client>-<api>-v<version>.bin

which AclsCodecTests decode field by field and re-encode byte for byte.

Usage:  RUNNEL_BIN=.build/debug/runnel .venv/bin/python Tests/Interop/capture_acl_fixtures.py
"""

from __future__ import annotations

import struct
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import Broker, free_port  # noqa: E402
from tcp_proxy import RecordingProxy  # noqa: E402

OUT = HERE.parents[1] / "Tests" / "KafkaProtocolTests" / "Fixtures" / "acls"
NAMES = {29: "describeacls", 30: "createacls", 31: "deleteacls"}


def confluent(bootstrap: str) -> None:
    from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                       ResourcePatternType, ResourceType)
    admin = AdminClient({"bootstrap.servers": bootstrap, "client.id": "confluent-fixture"})
    binding = AclBinding(ResourceType.TOPIC, "fixture-", ResourcePatternType.PREFIXED, "User:alice", "*",
                         AclOperation.READ, AclPermissionType.ALLOW)
    admin.create_acls([binding])[binding].result(10)
    match = AclBindingFilter(ResourceType.TOPIC, "fixture-", ResourcePatternType.PREFIXED, "User:alice", "*",
                             AclOperation.READ, AclPermissionType.ALLOW)
    assert admin.describe_acls(match).result(10) == [binding]
    assert next(iter(admin.delete_acls([match]).values())).result(10) == [binding]


def kafka_python(bootstrap: str) -> None:
    from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                             ResourcePattern, ResourcePatternFilter, ResourceType)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kafka-python-fixture")
    pattern = ResourcePattern(ResourceType.TOPIC, "fixture-", ACLResourcePatternType.PREFIXED)
    result = admin.create_acls([ACL("User:alice", "*", ACLOperation.READ, ACLPermissionType.ALLOW, pattern)])
    assert not result["failed"], result
    match = ACLFilter("User:alice", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
                      ResourcePatternFilter(ResourceType.TOPIC, "fixture-", ACLResourcePatternType.PREFIXED))
    found, error = admin.describe_acls(match)
    assert error.errno == 0 and len(found) == 1, (found, error)
    deleted = admin.delete_acls([match])
    assert len(deleted[0][1]) == 1, deleted
    admin.close()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    bport = free_port()
    proxy = RecordingProxy(target_port=bport).start()
    broker = Broker(Path(tempfile.mkdtemp(prefix="acl-fixtures-")), port=bport, advertised_port=proxy.port, overrides={
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:ANONYMOUS"}).start()
    try:
        for client, drive in [("confluent-kafka", confluent), ("kafka-python", kafka_python)]:
            proxy.clear()
            drive(f"127.0.0.1:{proxy.port}")
            seen: set = set()
            for frame in proxy.requests():
                key, version = struct.unpack(">hh", frame.payload[:4])
                if key in NAMES and (key, version) not in seen:
                    seen.add((key, version))
                    path = OUT / f"{client}-{NAMES[key]}-v{version}.bin"
                    path.write_bytes(frame.payload)
                    print(f"wrote {path.relative_to(OUT.parents[2])} ({len(frame.payload)} bytes)")
    finally:
        broker.stop()
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
