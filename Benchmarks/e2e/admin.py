#!/usr/bin/env python3
"""Topic administration through confluent-kafka's AdminClient, one short process per call, so no
client outlives the broker it talked to (a lingering librdkafka client keeps reconnecting).

    admin.py create BOOTSTRAP TOPIC PARTITIONS REPLICATION [key=value ...]   error text on stderr, exit 1
    admin.py delete BOOTSTRAP TOPIC
    admin.py wait-leaders BOOTSTRAP TOPIC PARTITIONS TIMEOUT_S
    admin.py wait-brokers BOOTSTRAP COUNT TIMEOUT_S
"""
import sys
import time

from confluent_kafka.admin import AdminClient, NewTopic


def main(cmd, bootstrap, *args):
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    if cmd == "create":
        topic, parts, rf, *pairs = args
        config = dict(p.split("=", 1) for p in pairs)
        futures = admin.create_topics([NewTopic(topic, num_partitions=int(parts), replication_factor=int(rf),
                                                config=config)], operation_timeout=60, request_timeout=60)
        try:
            futures[topic].result(70)
        except Exception as e:
            print(e, file=sys.stderr)
            return 1
        return 0
    if cmd == "delete":
        try:
            admin.delete_topics([args[0]], operation_timeout=30)[args[0]].result(40)
        except Exception as e:
            print(e, file=sys.stderr)
            return 1
        return 0
    if cmd == "wait-leaders":
        topic, parts, timeout = args[0], int(args[1]), float(args[2])
        end = time.time() + timeout
        while time.time() < end:
            try:
                md = admin.list_topics(topic, timeout=10).topics.get(topic)
                if md and md.error is None and len(md.partitions) == parts and \
                        all(p.leader >= 0 for p in md.partitions.values()):
                    return 0
            except Exception:
                pass
            time.sleep(0.3)
        print(f"topic {topic}: not every partition has a leader after {timeout:.0f} s", file=sys.stderr)
        return 1
    if cmd == "wait-brokers":
        count, timeout = int(args[0]), float(args[1])
        end = time.time() + timeout
        while time.time() < end:
            try:
                if len(admin.list_topics(timeout=10).brokers) >= count:
                    return 0
            except Exception:
                pass
            time.sleep(0.5)
        print(f"fewer than {count} brokers registered after {timeout:.0f} s", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
