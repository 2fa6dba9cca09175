import KafkaProtocol
import Logging
import NIOCore

/// One follower fetch loop (Kafka's `ReplicaFetcherThread`): it fetches every partition this
/// broker follows from one leader (those of its fetcher index), with Fetch carrying this broker's
/// id as `replica_id`, and appends what comes back with the leader's offsets and epochs.
///
/// Before fetching a partition whose leader changed, it asks the leader where this replica's
/// latest epoch ends (OffsetForLeaderEpoch) and truncates the log there, so a replica never keeps
/// records the new leader does not have (KIP-101, KIP-279). It ends when no partition is left for it.
struct ReplicaFetcher: Sendable {
    let key: ReplicaManager.FetcherKey
    let nodeID: Int32
    let settings: ReplicaFetcherSettings
    let controller: Controller
    let logger: Logger

    /// One followed partition, as looked up before a fetch.
    struct Work: Sendable {
        var topicPartition: TopicPartition
        var partition: Partition
    }

    /// Fetch version sent: 12 is the newest this broker's codec speaks, and every version from
    /// 9 carries the follower's `current_leader_epoch` for fencing (KIP-320).
    static let fetchVersion: Int16 = 12
    /// OffsetForLeaderEpoch version sent: v3 carries the `replica_id` (KIP-320).
    static let offsetForLeaderEpochVersion: Int16 = 3

    func run() async {
        var connection: (endpoint: String, connection: NodeConnection)?
        defer { connection?.connection.close() }
        while !Task.isCancelled {
            let (endpoint, work) = await controller.replicaFetchWork(leader: key.leader, index: key.index,
                                                                      of: settings.fetchersPerLeader)
            if work.isEmpty { return }
            guard let endpoint else {
                // The leader is not live (fenced): the controller elects another one.
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            let address = "\(endpoint.host):\(endpoint.port)"
            do {
                let conn: NodeConnection
                if let cached = connection, cached.endpoint == address, cached.connection.isActive {
                    conn = cached.connection
                } else {
                    connection?.connection.close()
                    connection = nil
                    conn = try await NodeConnection.connect(host: endpoint.host, port: Int(endpoint.port),
                                                            clientID: "\(ControllerChannel.clientIDPrefix)\(nodeID)", timeout: .seconds(2),
                                                            tls: settings.tls, sasl: settings.sasl)
                    connection = (address, conn)
                }
                try await fetchOnce(work, over: conn)
            } catch is CancellationError {
                return
            } catch {
                logger.debug("replica fetch failed", metadata: ["leader": "\(key.leader)", "error": "\(error)"])
                connection?.connection.close()
                connection = nil
                try? await Task.sleep(for: settings.backoff)
            }
        }
    }

    private func fetchOnce(_ work: [Work], over connection: NodeConnection) async throws {
        var states: [(work: Work, state: FollowerFetchState)] = []
        for item in work {
            if let state = await item.partition.followerFetchState { states.append((item, state)) }
        }
        let truncating = states.filter { $0.state.needsTruncation }
        if !truncating.isEmpty {
            try await truncate(truncating, over: connection)
            states = []
            for item in work {
                if let state = await item.partition.followerFetchState, !state.needsTruncation { states.append((item, state)) }
            }
        }
        guard !states.isEmpty else {
            try await Task.sleep(for: .milliseconds(50))
            return
        }
        var topics: [String: [FetchRequest.Partition]] = [:]
        for (item, state) in states {
            topics[item.topicPartition.topic, default: []].append(
                FetchRequest.Partition(partition: item.topicPartition.partition, currentLeaderEpoch: state.leaderEpoch,
                                       fetchOffset: state.fetchOffset, logStartOffset: state.logStartOffset,
                                       partitionMaxBytes: settings.partitionMaxBytes))
        }
        let request = FetchRequest(replicaID: nodeID, maxWaitMs: settings.maxWaitMs, minBytes: settings.minBytes,
                                   maxBytes: settings.responseMaxBytes,
                                   topics: topics.sorted { $0.key < $1.key }.map { FetchRequest.Topic(topic: $0.key, partitions: $0.value) })
        let response = try await connection.send(request, version: Self.fetchVersion,
                                                  timeout: .milliseconds(Int64(settings.maxWaitMs) + 30_000))
        guard response.errorCode == .none else { throw ReplicaFetchError.response(response.errorCode) }
        var byPartition: [TopicPartition: (Work, FollowerFetchState)] = [:]
        for (item, state) in states { byPartition[item.topicPartition] = (item, state) }
        var backOff = false
        for topic in response.responses {
            for data in topic.partitions {
                guard let (item, state) = byPartition[TopicPartition(topic.topic, data.partitionIndex)] else { continue }
                if !(await handle(data, for: item, state: state)) { backOff = true }
            }
        }
        if backOff { try await Task.sleep(for: .milliseconds(100)) }
    }

    /// Applies one partition's answer. Returns false when the fetcher should pause before the next
    /// fetch (the leader refused; the metadata will say what changed).
    private func handle(_ data: FetchResponse.PartitionData, for item: Work, state: FollowerFetchState) async -> Bool {
        let tp = item.topicPartition
        switch data.errorCode {
        case .none:
            do {
                try await item.partition.appendReplicated(data.records, inEpoch: state.leaderEpoch,
                                                          leaderHighWatermark: data.highWatermark,
                                                          leaderLogStartOffset: data.logStartOffset)
            } catch let error as CorruptReplicaBatchError {
                logger.error("a batch from the leader fails its CRC; not appended, fetched again",
                             metadata: ["partition": "\(tp)", "leader": "\(key.leader)", "offset": "\(error.baseOffset)"])
                return false
            } catch {
                logger.error("appending replicated records failed", metadata: ["partition": "\(tp)", "error": "\(error)"])
                return false
            }
            return true
        case .offsetOutOfRange:
            do {
                if data.logStartOffset >= 0, state.fetchOffset < data.logStartOffset {
                    // The leader deleted what this replica needs next: start over at its log start.
                    logger.warning("leader's log starts past this replica's end; restarting the replica's log there",
                                   metadata: ["partition": "\(tp)", "fetch.offset": "\(state.fetchOffset)",
                                              "leader.log.start.offset": "\(data.logStartOffset)"])
                    try await item.partition.restartFollowerLog(at: data.logStartOffset, inEpoch: state.leaderEpoch)
                } else {
                    await item.partition.requireTruncation(inEpoch: state.leaderEpoch)
                }
            } catch {
                logger.error("truncating the replica failed", metadata: ["partition": "\(tp)", "error": "\(error)"])
            }
            return false
        default:
            // FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER: the leader's view
            // and this broker's differ for a moment; the metadata log settles it.
            logger.debug("leader refused a replica fetch", metadata: ["partition": "\(tp)", "error": "\(data.errorCode)"])
            return false
        }
    }

    /// Asks the leader where each partition's latest epoch ends and truncates there.
    private func truncate(_ items: [(work: Work, state: FollowerFetchState)], over connection: NodeConnection) async throws {
        var asked: [TopicPartition: (Work, FollowerFetchState, Int32)] = [:]
        var topics: [String: [OffsetForLeaderEpochRequest.Partition]] = [:]
        for (item, state) in items {
            guard let latest = state.latestEpoch else {
                // No epoch history (an empty log): nothing can diverge; keep at most the high watermark.
                try await item.partition.truncateToLeader(inEpoch: state.leaderEpoch, requestedEpoch: -1, answeredEpoch: -1,
                                                          leaderEndOffset: -1)
                continue
            }
            asked[item.topicPartition] = (item, state, latest)
            topics[item.topicPartition.topic, default: []].append(
                .init(partition: item.topicPartition.partition, currentLeaderEpoch: state.leaderEpoch, leaderEpoch: latest))
        }
        guard !topics.isEmpty else { return }
        let request = OffsetForLeaderEpochRequest(replicaID: nodeID, topics: topics.sorted { $0.key < $1.key }.map {
            OffsetForLeaderEpochRequest.Topic(topic: $0.key, partitions: $0.value)
        })
        let response = try await connection.send(request, version: Self.offsetForLeaderEpochVersion, timeout: .seconds(30))
        for topic in response.topics {
            for answer in topic.partitions {
                guard let (item, state, latest) = asked[TopicPartition(topic.topic, answer.partition)] else { continue }
                guard answer.errorCode == .none else {
                    logger.debug("leader refused OffsetForLeaderEpoch", metadata: ["partition": "\(item.topicPartition)",
                                                                                   "error": "\(answer.errorCode)"])
                    continue
                }
                let end = try await item.partition.truncateToLeader(inEpoch: state.leaderEpoch, requestedEpoch: latest,
                                                                    answeredEpoch: answer.leaderEpoch, leaderEndOffset: answer.endOffset)
                if end < state.fetchOffset {
                    logger.info("truncated replica to the leader's log", metadata: [
                        "partition": "\(item.topicPartition)", "leader": "\(key.leader)", "from": "\(state.fetchOffset)", "to": "\(end)",
                    ])
                }
            }
        }
    }
}

/// A replica fetch failed as a whole.
enum ReplicaFetchError: Error, CustomStringConvertible {
    case response(ErrorCode)

    var description: String {
        switch self {
        case .response(let code): return "fetch answered \(code)"
        }
    }
}
