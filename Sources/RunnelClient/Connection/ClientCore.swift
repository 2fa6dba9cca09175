import KafkaProtocol
import Logging
import NIOCore
import NIOPosix

/// The connection pool and metadata cache that a producer, consumer or admin client share.
///
/// Connections are keyed by broker id; the first connection goes to the bootstrap servers, tried
/// in turn. A broker that failed is retried after a backoff that doubles from
/// `reconnect.backoff.ms` to `reconnect.backoff.max.ms`, with ±20 % jitter (as the Java client).
/// Callers that see an error for which ``KafkaProtocol/ErrorCode/invalidatesMetadata`` holds call
/// ``invalidate(topic:)`` and the next lookup asks Metadata again.
actor ClientCore {
    let configuration: ClientConfiguration
    let logger: Logger
    private let group: any EventLoopGroup
    private var connections: [Int32: BrokerConnection] = [:]
    private var connecting: [Int32: Task<BrokerConnection, any Error>] = [:]
    private var bootstrap: BrokerConnection?
    private var backoff: [BrokerAddress: (failures: Int, retryAt: ContinuousClock.Instant)] = [:]
    private var brokers: [Int32: BrokerMetadata] = [:]
    private var topics: [String: (metadata: TopicMetadata, fetchedAt: ContinuousClock.Instant)] = [:]
    private var stale: Set<String> = []
    private(set) var clusterID: String?
    private(set) var controllerID: Int32 = -1
    private var isClosed = false
    /// Built on the first connection when ``ClientConfiguration/securityProtocol`` uses TLS.
    private var tls: ClientTLS?

    init(configuration: ClientConfiguration, logger: Logger,
         group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.group = group
    }

    // MARK: connections

    /// A live connection to broker `brokerID`, connecting (with backoff) when there is none.
    /// - Throws: ``ClientError/brokerUnreachable(address:reason:)``; ``ClientError/invalidArgument(_:)``
    ///   for a broker id Metadata never named.
    func connection(to brokerID: Int32) async throws -> BrokerConnection {
        if let existing = connections[brokerID], existing.isActive { return existing }
        if let pending = connecting[brokerID] { return try await pending.value }
        if brokers[brokerID] == nil { _ = try await refreshMetadata(topics: []) }
        guard let broker = brokers[brokerID] else {
            throw ClientError.invalidArgument("broker \(brokerID) is not in the cluster metadata")
        }
        let task = Task { try await self.connect(to: broker.address, brokerID: brokerID) }
        connecting[brokerID] = task
        defer { connecting[brokerID] = nil }
        let connection = try await task.value
        connections[brokerID] = connection
        return connection
    }

    /// Any live connection: an existing one, else the bootstrap servers and known brokers in turn.
    /// - Throws: ``ClientError/noBrokerReachable(addresses:reason:)`` when none answers.
    func anyConnection() async throws -> BrokerConnection {
        if let live = connections.values.first(where: { $0.isActive }) { return live }
        if let bootstrap, bootstrap.isActive { return bootstrap }
        var candidates = configuration.bootstrapServers
        for broker in brokers.values.sorted(by: { $0.id < $1.id }) where !candidates.contains(broker.address) {
            candidates.append(broker.address)
        }
        var lastReason = "no address"
        for address in candidates {
            do {
                let connection = try await connect(to: address, brokerID: nil)
                bootstrap = connection
                return connection
            } catch let error as ClientError {
                if case .invalidConfiguration = error { throw error }
                if case .brokerUnreachable(_, let reason) = error { lastReason = reason } else { lastReason = "\(error)" }
            }
        }
        throw ClientError.noBrokerReachable(addresses: candidates.map(\.description), reason: lastReason)
    }

    private func connect(to address: BrokerAddress, brokerID: Int32?) async throws -> BrokerConnection {
        guard !isClosed else { throw ClientError.closed }
        if let state = backoff[address] {
            let wait = state.retryAt - .now
            if wait > .zero { try await Task.sleep(for: wait) }
        }
        if configuration.securityProtocol.usesTLS, tls == nil { tls = try ClientTLS(configuration.tls) }
        do {
            let connection = try await BrokerConnection.connect(
                to: address, brokerID: brokerID, group: group, clientID: configuration.clientID,
                connectTimeout: configuration.connectTimeout, requestTimeout: configuration.requestTimeout,
                tls: tls, sasl: configuration.sasl)
            backoff[address] = nil
            logger.debug("connected", metadata: ["broker": "\(address)"])
            return connection
        } catch {
            let failures = (backoff[address]?.failures ?? 0) + 1
            backoff[address] = (failures, .now + Self.backoffDelay(failures: failures, base: configuration.reconnectBackoff,
                                                                    max: configuration.reconnectBackoffMax))
            logger.debug("connect failed", metadata: ["broker": "\(address)", "error": "\(error)"])
            throw error
        }
    }

    /// `base · 2^(failures-1)`, capped at `max`, with ±20 % jitter (Kafka `ExponentialBackoff`).
    static func backoffDelay(failures: Int, base: Duration, max: Duration) -> Duration {
        let exponent = Swift.min(failures - 1, 30)
        let raw = Swift.min(base.nanoseconds.multipliedReportingOverflow(by: 1 << exponent).partialValue, max.nanoseconds)
        let jitter = Double.random(in: 0.8...1.2)
        return .nanoseconds(Int64(Double(Swift.max(raw, 0)) * jitter))
    }

    /// Drops the connection to `brokerID` (after a request failed on it) so the next request reconnects.
    func dropConnection(to brokerID: Int32) async {
        if let connection = connections.removeValue(forKey: brokerID) { await connection.close() }
    }

    // MARK: metadata

    /// Sends Metadata for `topics` (`nil` = all topics, `[]` = brokers only) and updates the cache.
    /// - Throws: connection errors from ``anyConnection()``.
    @discardableResult
    func refreshMetadata(topics names: [String]?, allowAutoTopicCreation: Bool = false) async throws -> MetadataResponse {
        let connection = try await anyConnection()
        let request = MetadataRequest(topics: names?.map { MetadataRequest.Topic(name: $0) },
                                      allowAutoTopicCreation: allowAutoTopicCreation)
        let response: MetadataResponse
        do {
            response = try await connection.send(request)
        } catch {
            if bootstrap === connection { bootstrap = nil }
            if let id = connection.brokerID { connections[id] = nil }
            throw error
        }
        apply(response)
        return response
    }

    private func apply(_ response: MetadataResponse) {
        var known: [Int32: BrokerMetadata] = [:]
        for broker in response.brokers {
            known[broker.nodeID] = BrokerMetadata(id: broker.nodeID, host: broker.host, port: Int(broker.port), rack: broker.rack)
        }
        for (id, connection) in connections where known[id]?.address != connection.address {
            connections[id] = nil
            Task { await connection.close() }
        }
        brokers = known
        clusterID = response.clusterID
        controllerID = response.controllerID
        let now = ContinuousClock.now
        for topic in response.topics {
            guard let name = topic.name else { continue }
            if topic.errorCode == .unknownTopicOrPartition || topic.errorCode == .invalidTopicException {
                topics[name] = nil
            } else if topic.errorCode == .none {
                topics[name] = (TopicMetadata(topic), now)
                stale.remove(name)
            }
        }
    }

    /// The cached metadata of `topic`, asking Metadata when it is missing, stale or older than
    /// `metadata.max.age.ms`. Waits (retry backoff) while the topic has no leader yet.
    /// - Throws: ``ClientError/unknownTopic(_:)`` when the topic does not exist.
    func topic(_ name: String) async throws -> TopicMetadata {
        if let cached = topics[name], !stale.contains(name), ContinuousClock.now - cached.fetchedAt < configuration.metadataMaxAge {
            return cached.metadata
        }
        for attempt in 0..<10 {
            let response = try await refreshMetadata(topics: [name])
            guard let entry = response.topics.first(where: { $0.name == name }) else { throw ClientError.unknownTopic(name) }
            switch entry.errorCode {
            case .none:
                if let cached = topics[name] { return cached.metadata }
            case .unknownTopicOrPartition, .invalidTopicException:
                throw ClientError.unknownTopic(name)
            case let code where code.isRetriable && attempt < 9:
                break
            case let code:
                throw ClientError.broker(code: code, message: nil, context: "Metadata for topic '\(name)'")
            }
            try await Task.sleep(for: configuration.retryBackoff)
        }
        throw ClientError.broker(code: .leaderNotAvailable, message: nil, context: "Metadata for topic '\(name)'")
    }

    /// Marks `topic` stale so the next ``topic(_:)`` asks Metadata.
    func invalidate(topic: String) { stale.insert(topic) }

    /// Every broker the last Metadata named.
    func knownBrokers() -> [BrokerMetadata] { brokers.values.sorted { $0.id < $1.id } }

    // MARK: coordinators

    /// A connection to the group coordinator of `groupID` (FindCoordinator, key type 0).
    /// Retries COORDINATOR_NOT_AVAILABLE and COORDINATOR_LOAD_IN_PROGRESS with the retry backoff.
    /// - Throws: ``ClientError/broker(code:message:context:)`` for other errors.
    func coordinator(forGroup groupID: String, attempts: Int = 20) async throws -> BrokerConnection {
        var lastCode = ErrorCode.coordinatorNotAvailable
        for _ in 0..<attempts {
            let connection = try await anyConnection()
            let response = try await connection.send(FindCoordinatorRequest(key: groupID, keyType: 0))
            if response.errorCode == .none {
                if brokers[response.nodeID] == nil {
                    brokers[response.nodeID] = BrokerMetadata(id: response.nodeID, host: response.host,
                                                              port: Int(response.port), rack: nil)
                }
                return try await self.connection(to: response.nodeID)
            }
            lastCode = response.errorCode
            guard response.errorCode.isRetriable else {
                throw ClientError.broker(code: response.errorCode, message: response.errorMessage,
                                         context: "FindCoordinator for group '\(groupID)'")
            }
            try await Task.sleep(for: configuration.retryBackoff)
        }
        throw ClientError.broker(code: lastCode, message: nil, context: "FindCoordinator for group '\(groupID)'")
    }

    /// Closes every connection; later calls throw ``ClientError/closed``.
    func close() async {
        isClosed = true
        for connection in connections.values { await connection.close() }
        connections = [:]
        if let bootstrap { await bootstrap.close() }
        bootstrap = nil
    }
}
