/// Consumer settings. Defaults follow Kafka's Java client.
public struct ConsumerConfiguration: Sendable, Equatable {
    /// Connection, timeout and bootstrap settings.
    public var client = ClientConfiguration()
    /// The consumer group (`group.id`); required for ``Consumer/subscribe(topics:)`` and commits.
    public var groupID: String?
    /// A stable member identity for static membership (`group.instance.id`, KIP-345).
    public var groupInstanceID: String?
    /// Where to start without a committed offset (`auto.offset.reset`). Default ``OffsetResetPolicy/latest``.
    public var autoOffsetReset: OffsetResetPolicy = .latest
    /// Commit consumed offsets in the background and on rebalance and close (`enable.auto.commit`). Default `true`.
    public var enableAutoCommit: Bool = true
    /// Time between automatic commits (`auto.commit.interval.ms`). Default 5 s.
    public var autoCommitInterval: Duration = .seconds(5)
    /// The coordinator removes a member that sends no heartbeat for this long (`session.timeout.ms`). Default 45 s.
    public var sessionTimeout: Duration = .seconds(45)
    /// Time between heartbeats (`heartbeat.interval.ms`). Default 3 s.
    public var heartbeatInterval: Duration = .seconds(3)
    /// How long the coordinator waits for members to rejoin during a rebalance
    /// (`max.poll.interval.ms`, sent as JoinGroup's rebalance timeout). Default 5 min.
    public var rebalanceTimeout: Duration = .seconds(300)
    /// Assignors offered in JoinGroup, most preferred first (`partition.assignment.strategy`).
    /// Default `[.range, .cooperativeSticky]`, as the Java client.
    public var assignors: [AssignorKind] = [.range, .cooperativeSticky]
    /// Records of transactions to show (`isolation.level`). Default ``IsolationLevel/readUncommitted``.
    public var isolationLevel: IsolationLevel = .readUncommitted
    /// The broker answers a fetch once it has this many bytes (`fetch.min.bytes`). Default 1.
    public var fetchMinBytes: Int = 1
    /// Most bytes per fetch response (`fetch.max.bytes`). Default 50 MiB.
    public var fetchMaxBytes: Int = 52_428_800
    /// Most bytes per partition per fetch (`max.partition.fetch.bytes`). Default 1 MiB.
    public var maxPartitionFetchBytes: Int = 1_048_576
    /// Longest the broker holds a fetch waiting for `fetchMinBytes` (`fetch.max.wait.ms`). Default 500 ms.
    public var fetchMaxWait: Duration = .milliseconds(500)

    /// The defaults above.
    public init() {}
}

/// Partition assignors by the names the consumer protocol uses in JoinGroup
/// (`partition.assignment.strategy`), shared with the Java client and librdkafka.
public enum AssignorKind: String, Sendable, Equatable, CaseIterable {
    /// Per topic, partitions split into contiguous ranges over members sorted by member id
    /// (Kafka `RangeAssignor`).
    case range = "range"
    /// Balanced and sticky, rebalanced incrementally (Kafka `CooperativeStickyAssignor`, KIP-429):
    /// members keep the partitions they own where balance allows and keep reading them during a
    /// rebalance; a partition that moves is first revoked from its owner, and a second rebalance
    /// assigns it to the new one. Members send what they own in subscription v1.
    case cooperativeSticky = "cooperative-sticky"
    /// Partitions of all topics dealt round robin over members (Kafka `RoundRobinAssignor`).
    case roundRobin = "roundrobin"

    /// Whether the assignor supports the cooperative rebalance protocol (KIP-429).
    public var isCooperative: Bool { self == .cooperativeSticky }
}
