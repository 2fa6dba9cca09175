"""Several log directories (JBOD, issue 11): each directory fails on its own.

The broker gets two `log.dirs`: the first on a 16 MiB ext4 file system the test loop-mounts (we
run as root in CI; the tests are skipped with the reason when mounting is not permitted), the
second a plain directory. Partition 0 of a two-partition topic lands in the first (the directory
with the fewest partitions, ties by order), partition 1 in the second.

- Full: a ballast file takes the first below `runnel.log.dir.min.free.bytes`; produce to
  partition 0 is refused with KAFKA_STORAGE_ERROR while partition 1 keeps taking produce and
  both serve fetch.
- Failing: the ext4 shutdown ioctl (`EXT4_IOC_SHUTDOWN`, what `xfs_io -c shutdown` does) makes
  every later read and write on the first file system fail with EIO, as a dying disk does. The
  first directory goes offline: partition 0 answers KAFKA_STORAGE_ERROR to produce, fetch and
  ListOffsets; partition 1 keeps serving; DescribeLogDirs (kafka-python) reports the first
  directory's error and the second's partitions; `runnel_log_dir_offline{dir=...}` says which.
- After a restart each partition is still in its directory, with its data."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from storage_util import ck_producer, ck_read, create_topic

MIB = 1 << 20
MIN_FREE = 2 * MIB
KAFKA_STORAGE_ERROR = 56
EXT4_IOC_SHUTDOWN = 0x8004587D  # _IOR('X', 125, __u32)
EXT4_GOING_FLAGS_DEFAULT = 0  # sync the file system first, then fail everything


def _mount(image: Path, mountpoint: Path) -> None:
    cp = subprocess.run(["mount", "-o", "loop", str(image), str(mountpoint)],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    if cp.returncode != 0:
        pytest.skip(f"cannot loop-mount an ext4 image for log.dirs (needs root or CAP_SYS_ADMIN): {cp.stdout.strip()}")


@pytest.fixture
def ext4_dir(tmp_path):
    image = tmp_path / "disk.img"
    mountpoint = tmp_path / "ext4"
    mountpoint.mkdir()
    with open(image, "wb") as f:
        f.truncate(16 * MIB)
    cp = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if cp.returncode != 0:
        pytest.skip(f"mkfs.ext4 is not available: {cp.stdout.strip()}")
    _mount(image, mountpoint)
    (mountpoint / "logs").mkdir()
    try:
        yield image, mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def _start(broker_factory, first: Path, second: Path):
    # The metadata log goes on the healthy directory; partitions spread over both.
    broker = broker_factory({
        "log.dirs": f"{first},{second}",
        "metadata.log.dir": str(second),
        "runnel.log.dirs.min.free.bytes": 0,  # the start-up check; the run-time one is below
        "runnel.log.dir.min.free.bytes": MIN_FREE,
        "log.segment.bytes": MIB,
        "log.index.size.max.bytes": 65536,
    })
    return broker


def _produce(bootstrap: str, topic: str, partition: int, values: list[bytes]) -> tuple[list[int], list]:
    """Produce without client retries; returns the acknowledged offsets and the errors."""
    p = ck_producer(bootstrap, **{"retries": 0, "message.timeout.ms": 10000})
    offsets: list[int] = []
    errors: list = []
    for v in values:
        p.produce(topic, value=v, partition=partition,
                  on_delivery=lambda err, msg: errors.append(err) if err else offsets.append(msg.offset()))
    p.flush(15)
    return offsets, errors


def _describe_log_dirs(bootstrap: str) -> dict[str, dict]:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        (entry,) = admin.describe_log_dirs()
    finally:
        admin.close()
    return {os.path.realpath(d["log_dir"]): d for d in entry["log_dirs"]}


def _partitions(log_dir: dict, topic: str) -> list[int]:
    return sorted(p["partition_index"] for t in log_dir["topics"] if t["name"] == topic for p in t["partitions"])


def _wire_errors(broker, topic: str, partition: int) -> tuple[int, int]:
    """The error codes of a raw ListOffsets v5 (latest) and Fetch v11 for one partition; clients
    retry KAFKA_STORAGE_ERROR silently, so the test asks on the wire."""
    from kafka.protocol.consumer import FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse
    from test_conformance import Conn

    T = ListOffsetsRequest.ListOffsetsTopic
    offsets = ListOffsetsRequest(replica_id=-1, isolation_level=0, topics=[
        T(name=topic, partitions=[T.ListOffsetsPartition(partition_index=partition, current_leader_epoch=-1, timestamp=-1)])])
    FT = FetchRequest.FetchTopic
    fetch = FetchRequest(replica_id=-1, max_wait_ms=100, min_bytes=1, max_bytes=1 << 20, isolation_level=0,
                         session_id=0, session_epoch=-1, forgotten_topics_data=[], rack_id="",
                         topics=[FT(topic=topic, partitions=[FT.FetchPartition(partition=partition, current_leader_epoch=-1,
                                                                               fetch_offset=0, last_fetched_epoch=-1,
                                                                               log_start_offset=-1, partition_max_bytes=1 << 20)])])
    c = Conn(broker)
    try:
        (listed,) = c.call(offsets, 5, ListOffsetsResponse).topics
        (fetched,) = c.call(fetch, 11, FetchResponse).responses
    finally:
        c.close()
    return listed.partitions[0].error_code, fetched.partitions[0].error_code


def _gauge(broker, name: str, directory: Path) -> float:
    text = urllib.request.urlopen(broker.metrics_url, timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(f'{name}{{dir="{directory}"}}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} for {directory} not in /metrics")


def _topic_on_two_dirs(broker, first: Path, second: Path) -> str:
    topic = f"jbod-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap, topic, partitions=2)
    assert (first / f"{topic}-0").is_dir() and not (first / f"{topic}-1").exists()
    assert (second / f"{topic}-1").is_dir() and not (second / f"{topic}-0").exists()
    for d in (first, second):
        meta = dict(line.split("=", 1) for line in (d / "meta.properties").read_text().splitlines() if "=" in line)
        assert meta["node.id"] == "1" and len(meta["directory.id"]) == 22
    return topic



def _fail_disk(mountpoint) -> None:
    """Fails the ext4 file system at `mountpoint` as a dying disk would: every later read or write
    on it gets EIO (EXT4_IOC_SHUTDOWN). Skips the test where the ioctl is not permitted."""
    fd = os.open(mountpoint, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, EXT4_IOC_SHUTDOWN, struct.pack("I", EXT4_GOING_FLAGS_DEFAULT))
    except OSError as e:
        pytest.skip(f"the ext4 shutdown ioctl is not permitted here: {e}")
    finally:
        os.close(fd)

def test_full_dir_refuses_produce_while_the_other_serves(ext4_dir, tmp_path, broker_factory):
    _, mountpoint = ext4_dir
    first, second = mountpoint / "logs", tmp_path / "plain"
    broker = _start(broker_factory, first, second)
    topic = _topic_on_two_dirs(broker, first, second)
    assert _produce(broker.bootstrap, topic, 0, [b"a0"]) == ([0], [])

    st = os.statvfs(mountpoint)
    with open(mountpoint / "ballast", "wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - MIN_FREE // 2))
    time.sleep(1.5)  # the next free-space reading (every second) sees it

    offsets, errors = _produce(broker.bootstrap, topic, 0, [b"refused"])
    assert not offsets and [e.code() for e in errors] == [KAFKA_STORAGE_ERROR], errors
    assert _produce(broker.bootstrap, topic, 1, [b"b0", b"b1"]) == ([0, 1], [])
    assert [m.value() for m in ck_read(broker.bootstrap, topic, 0, 1, partition=0)] == [b"a0"]
    assert [m.value() for m in ck_read(broker.bootstrap, topic, 0, 2, partition=1)] == [b"b0", b"b1"]
    assert _gauge(broker, "runnel_log_dir_produce_refused", first) == 1
    assert _gauge(broker, "runnel_log_dir_produce_refused", second) == 0
    dirs = _describe_log_dirs(broker.bootstrap)
    assert [dirs[os.path.realpath(d)]["error_code"] for d in (first, second)] == [0, 0]
    assert _partitions(dirs[os.path.realpath(first)], topic) == [0]
    assert _partitions(dirs[os.path.realpath(second)], topic) == [1]

    (mountpoint / "ballast").unlink()
    broker.wait_for_log("log dir has space again", timeout=5)
    assert _produce(broker.bootstrap, topic, 0, [b"a1"]) == ([1], [])


def test_failing_dir_goes_offline_alone_and_partitions_stay_put_after_restart(ext4_dir, tmp_path, broker_factory):
    image, mountpoint = ext4_dir
    first, second = mountpoint / "logs", tmp_path / "plain"
    broker = _start(broker_factory, first, second)
    topic = _topic_on_two_dirs(broker, first, second)
    assert _produce(broker.bootstrap, topic, 0, [b"a0", b"a1"]) == ([0, 1], [])
    assert _produce(broker.bootstrap, topic, 1, [b"b0"]) == ([0], [])

    _fail_disk(mountpoint)

    # The first write after the failure meets EIO and takes the directory offline.
    offsets, errors = _produce(broker.bootstrap, topic, 0, [b"lost"])
    assert not offsets and [e.code() for e in errors] == [KAFKA_STORAGE_ERROR], errors
    broker.wait_for_log("log dir is offline after an I/O error", timeout=5)
    assert broker.alive()
    assert _wire_errors(broker, topic, 0) == (KAFKA_STORAGE_ERROR, KAFKA_STORAGE_ERROR)

    # The other directory keeps serving.
    assert _produce(broker.bootstrap, topic, 1, [b"b1", b"b2"]) == ([1, 2], [])
    assert [m.value() for m in ck_read(broker.bootstrap, topic, 0, 3, partition=1)] == [b"b0", b"b1", b"b2"]
    assert _wire_errors(broker, topic, 1) == (0, 0)
    dirs = _describe_log_dirs(broker.bootstrap)
    assert dirs[os.path.realpath(first)]["error_code"] == KAFKA_STORAGE_ERROR
    assert dirs[os.path.realpath(first)]["topics"] == []
    assert dirs[os.path.realpath(second)]["error_code"] == 0
    assert _partitions(dirs[os.path.realpath(second)], topic) == [1]
    assert _gauge(broker, "runnel_log_dir_offline", first) == 1
    assert _gauge(broker, "runnel_log_dir_offline", second) == 0

    # The disk is "replaced": the file system is mounted again (journal replayed) and the broker
    # restarted. Each partition is where it was, with what was acknowledged before the failure.
    broker.stop()
    subprocess.run(["umount", str(mountpoint)], check=True, timeout=30)
    _mount(image, mountpoint)
    broker.start()
    assert sorted(p.name for p in first.glob(f"{topic}-*")) == [f"{topic}-0"]
    assert sorted(p.name for p in second.glob(f"{topic}-*")) == [f"{topic}-1"]
    assert [m.value() for m in ck_read(broker.bootstrap, topic, 0, 2, partition=0)] == [b"a0", b"a1"]
    assert [m.value() for m in ck_read(broker.bootstrap, topic, 0, 3, partition=1)] == [b"b0", b"b1", b"b2"]
    assert _produce(broker.bootstrap, topic, 0, [b"a2"]) == ([2], [])
    dirs = _describe_log_dirs(broker.bootstrap)
    assert [dirs[os.path.realpath(d)]["error_code"] for d in (first, second)] == [0, 0]


def test_cluster_broker_hands_over_leaders_of_its_failed_dir(ext4_dir, tmp_path):
    """Cluster mode (KIP-858): broker 3 restarts with a second log dir on the ext4 file system and
    leads a partition stored there. Once that file system fails, broker 3 reports the directory in
    its heartbeats (`offline_log_dirs`) and asks the active controller to move the leadership to
    another in-sync replica, leaving the ISR; producers carry on against the new leader."""
    from confluent_kafka import Producer

    from test_cluster import _until, _wait_gone
    from test_replication import create_rf3_topic, partitions, resume_all, start_cluster, wait_formed

    _, mountpoint = ext4_dir
    c = start_cluster(tmp_path / "cluster")
    try:
        wait_formed(c)
        # Broker 3 stops and comes back with the ext4 directory first in log.dirs (the metadata
        # log stays where it was, in metadata.log.dir).
        os.kill(c.pids[3], 15)
        _wait_gone(c.pids[3], timeout=30)
        props = c.dir / "node-3.properties"
        original = c.dir / "node-3"
        text = "\n".join(line for line in props.read_text().splitlines() if not line.startswith("log.dirs"))
        props.write_text(text + f"\nlog.dirs={mountpoint / 'logs'},{original}\nmetadata.log.dir={original}\n"
                         f"runnel.log.dirs.min.free.bytes=0\nrunnel.log.dir.min.free.bytes={MIN_FREE}\n"
                         "log.segment.bytes=1048576\nlog.index.size.max.bytes=65536\n")
        c.restart(3)
        wait_formed(c)
        topic = f"jbod-{uuid.uuid4().hex[:8]}"
        create_rf3_topic(c, topic, 1, assignment=[[3, 1, 2]])
        assert (mountpoint / "logs" / f"{topic}-0").is_dir()
        _until(lambda: partitions(c.bootstrap(), topic)[0].leader == 3, 20, "broker 3 leading")

        _fail_disk(mountpoint)

        p = Producer({"bootstrap.servers": c.bootstrap(), "acks": "all", "message.timeout.ms": 30000,
                      "retry.backoff.ms": 100, "log_level": 0})
        acked: list[int] = []
        errors: list = []
        for i in range(20):
            p.produce(topic, value=f"m{i}".encode(), partition=0,
                      on_delivery=lambda err, msg: errors.append(err) if err else acked.append(msg.offset()))
            p.poll(0.05)
        assert p.flush(40) == 0
        assert not errors, errors[:3]
        assert len(acked) == 20

        view = _until(lambda: (lambda v: v if v.leader in (1, 2) and 3 not in v.isr else None)(partitions(c.bootstrap(), topic)[0]),
                      20, "a new leader and an ISR without broker 3")
        assert view.leader in (1, 2)
        assert "log dir is offline after an I/O error" in c.log(3)
        assert "asking the controller to move leadership" in c.log(3)
        _until(lambda: any("broker reports offline log dirs" in c.log(n) for n in (1, 2, 3)), 10,
               "the active controller noting broker 3's offline log dir")
        assert c.metrics(3)[("runnel_log_dir_offline", (("dir", str(mountpoint / "logs")),))] == 1
    finally:
        resume_all(c)
        c.stop()
