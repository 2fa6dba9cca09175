import Logging

/// The follower side of partition replication on this broker (Kafka's `ReplicaFetcherManager`):
/// one ``ReplicaFetcher`` per leader broker and fetcher index (`num.replica.fetchers`), each
/// fetching every partition this broker follows from that leader and assigned to that index.
///
/// Fetchers look their partitions up afresh before every fetch, so a leadership change needs only
/// ``partitionsChanged()``: fetchers for new leaders start, and a fetcher left without partitions ends.
actor ReplicaManager {
    /// Names one fetcher: the leader it fetches from and its index among that leader's fetchers.
    struct FetcherKey: Hashable, Sendable {
        var leader: Int32
        var index: Int
    }

    let settings: ReplicaFetcherSettings
    private let nodeID: Int32
    private let logger: Logger
    private weak var controller: Controller?
    private var fetchers: [FetcherKey: Task<Void, Never>] = [:]
    private var stopped = false

    init(nodeID: Int32, settings: ReplicaFetcherSettings, logger: Logger) {
        self.nodeID = nodeID
        self.settings = settings
        self.logger = logger
    }

    /// Starts fetching for the partitions `controller` hosts as a follower.
    func start(controller: Controller) async {
        self.controller = controller
        await reconcile()
    }

    /// The partitions' roles changed: start the fetchers now needed.
    nonisolated func partitionsChanged() {
        Task { await self.reconcile() }
    }

    /// Which fetcher a partition belongs to among one leader's `count` fetchers.
    static func fetcherIndex(_ tp: TopicPartition, count: Int) -> Int {
        guard count > 1 else { return 0 }
        var hash: UInt64 = 1469598103934665603
        for byte in tp.topic.utf8 { hash = (hash ^ UInt64(byte)) &* 1099511628211 }
        hash = (hash ^ UInt64(UInt32(bitPattern: tp.partition))) &* 1099511628211
        return Int(hash % UInt64(count))
    }

    private func reconcile() async {
        guard !stopped, let controller else { return }
        let followed = await controller.followedPartitions()
        var needed: Set<FetcherKey> = []
        for (tp, leader) in followed where leader >= 0 {
            needed.insert(FetcherKey(leader: leader, index: Self.fetcherIndex(tp, count: settings.fetchersPerLeader)))
        }
        for key in needed where fetchers[key] == nil {
            let fetcher = ReplicaFetcher(key: key, nodeID: nodeID, settings: settings, controller: controller,
                                         logger: logger)
            logger.debug("starting replica fetcher", metadata: ["leader": "\(key.leader)", "fetcher": "\(key.index)"])
            fetchers[key] = Task {
                await fetcher.run()
                await self.finished(key)
            }
        }
    }

    private func finished(_ key: FetcherKey) async {
        fetchers[key] = nil
        // Partitions may have moved to this leader while the fetcher was ending.
        await reconcile()
    }

    /// Stops every fetcher (the broker is shutting down).
    func shutdown() {
        stopped = true
        for task in fetchers.values { task.cancel() }
        fetchers.removeAll()
    }

    /// Fetchers running now.
    var fetcherCount: Int { fetchers.count }
}

/// The follower fetch settings, from the broker's `replica.*` keys.
struct ReplicaFetcherSettings: Sendable {
    /// `replica.fetch.wait.max.ms`.
    var maxWaitMs: Int32 = 500
    /// `replica.fetch.min.bytes`.
    var minBytes: Int32 = 1
    /// `replica.fetch.response.max.bytes`.
    var responseMaxBytes: Int32 = 10 << 20
    /// `replica.fetch.max.bytes`.
    var partitionMaxBytes: Int32 = 1 << 20
    /// `replica.fetch.backoff.ms`.
    var backoff: Duration = .seconds(1)
    /// `num.replica.fetchers`.
    var fetchersPerLeader = 1
    /// TLS to the leaders' inter-broker listener, when it is SSL or SASL_SSL.
    var tls: NodeTLS?
    /// This broker's SASL identity towards the leaders' listeners, when they use SASL.
    var sasl: NodeSaslCredentials? = nil

    init() {}

    init(config: BrokerConfig) {
        maxWaitMs = Int32(clamping: config.int("replica.fetch.wait.max.ms"))
        minBytes = Int32(clamping: config.int("replica.fetch.min.bytes"))
        responseMaxBytes = Int32(clamping: config.int("replica.fetch.response.max.bytes"))
        partitionMaxBytes = Int32(clamping: config.int("replica.fetch.max.bytes"))
        backoff = .milliseconds(config.int("replica.fetch.backoff.ms"))
        fetchersPerLeader = max(1, config.int("num.replica.fetchers"))
        // Validated at start-up (SaslAuthentication); an unusable entry means no credentials here.
        sasl = try? NodeSaslCredentials.interBroker(config)
    }
}
