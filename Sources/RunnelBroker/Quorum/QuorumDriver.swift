import Foundation
import KafkaProtocol
import Logging
import NIOCore
import Raft

/// Why a proposal to the metadata quorum did not commit.
enum QuorumWriteError: Error, CustomStringConvertible {
    /// This node does not lead the quorum; `leader` is the one it knows.
    case notLeader(leader: Int32?)
    /// Leadership changed before the entry committed; it may or may not be in the log.
    case leadershipLost
    /// The store could not make the entry durable.
    case storage(String)

    var description: String {
        switch self {
        case .notLeader(let leader): return "this node is not the active controller (the active controller is \(leader.map(String.init) ?? "unknown"))"
        case .leadershipLost: return "the active controller lost its leadership before the change committed"
        case .storage(let reason): return "the metadata log could not be written: \(reason)"
        }
    }
}

/// Runs this node's member of the metadata quorum: a `RaftNode` over the metadata log, ticked every
/// ``ClusterSettings/tickMs``, persisting each step through ``QuorumStore`` before its messages go
/// out over ``NodeConnection``s to the other voters' controller listeners, and handing committed
/// batches, in order, to `apply`.
///
/// Voters are the `controller.quorum.voters`; a node with only the broker role is an observer: it
/// fetches the log and applies it, but never votes (KIP-595 "Observers").
actor QuorumDriver {
    private var node: RaftNode<MetadataBatch>
    private let store: QuorumStore
    private let settings: ClusterSettings
    private let clusterID: String
    private let logger: Logger
    private let requestTimeout: TimeAmount
    /// Open connections by (peer, lane): fetches long-poll, so they get their own connection.
    private var connections: [ConnectionKey: NodeConnection] = [:]
    private var connecting: Set<ConnectionKey> = []
    /// Inbound requests waiting for the node's answer.
    private var waitingInbound: [InboundKey: [CheckedContinuation<RaftMessage<MetadataBatch>?, Never>]] = [:]
    private var nextInboundFetchID: UInt64 = 1
    /// Proposals waiting to be applied, by offset, with the epoch they were proposed in.
    private var waitingProposals: [Int64: (epoch: LeaderEpoch, continuation: CheckedContinuation<Void, any Error>)] = [:]
    private let committed: AsyncStream<[LogEntry<MetadataBatch>]>.Continuation
    private let committedStream: AsyncStream<[LogEntry<MetadataBatch>]>
    /// The offset below which every committed entry has been applied by the owner.
    private(set) var appliedOffset: Int64 = 0
    private var stopped = false
    /// Set by ``shutdownGracefully()``: the tick loop ends at this time.
    private var stopAt: ContinuousClock.Instant?
    private var lastLoggedLeader: ReplicaID?? = .none

    struct ConnectionKey: Hashable {
        var peer: Int32
        var fetchLane: Bool
    }

    enum InboundKind: Hashable { case vote, beginQuorumEpoch, endQuorumEpoch, fetch(UInt64), fetchSnapshot(UInt64) }

    struct InboundKey: Hashable {
        var from: ReplicaID
        var kind: InboundKind
    }

    /// Opens the store and starts the node from what it persisted.
    /// - Throws: a storage error, or `RaftStateError` when the persisted state contradicts the voters.
    /// TLS to the other voters' controller listeners, when the controller listener is SSL.
    private let tls: NodeTLS?

    init(settings: ClusterSettings, config: BrokerConfig, clusterID: String, store: QuorumStore, logger: Logger) throws {
        self.settings = settings
        self.clusterID = clusterID
        self.store = store
        self.logger = logger
        self.requestTimeout = .milliseconds(Int64(config.int("controller.quorum.request.timeout.ms")) + 500)
        self.tls = try NodeTLS.forListener(config.controllerListenerNames.first, config: config)
        let seed = UInt64.random(in: 1...UInt64.max)
        node = try RaftNode(config: settings.raftConfig(nodeID: Int32(config.int("node.id")), config: config, seed: seed),
                            persistentState: store.persistentState)
        (committedStream, committed) = AsyncStream.makeStream(of: [LogEntry<MetadataBatch>].self)
    }

    // MARK: Queries

    /// The leader of the quorum this node knows: the active controller.
    var leader: Int32? { node.leader?.rawValue }
    var epoch: Int32 { node.epoch.rawValue }
    var role: RaftRole { node.role }
    var highWatermark: Int64? { node.highWatermark?.rawValue }
    var logEndOffset: Int64 { node.logEndOffset.rawValue }
    var isLeader: Bool { node.role == .leader }

    // MARK: Running

    /// Ticks the node and applies committed entries with `apply` until cancelled. Entries reach
    /// `apply` in offset order, one call at a time.
    func run(apply: @escaping @Sendable ([LogEntry<MetadataBatch>]) async -> Void) async {
        await withDiscardingTaskGroup { group in
            group.addTask { [committedStream] in
                for await entries in committedStream {
                    await apply(entries)
                    if let last = entries.last { await self.markApplied(through: last.offset.rawValue) }
                }
            }
            group.addTask {
                let clock = ContinuousClock()
                var next = clock.now
                while !Task.isCancelled {
                    next += .milliseconds(ClusterSettings.tickMs)
                    try? await clock.sleep(until: next)
                    if Task.isCancelled { break }
                    if await self.tickOrStop() { break }
                }
                await self.stop()
            }
        }
    }

    /// Ticks the node; true once a graceful stop is due.
    private func tickOrStop() -> Bool {
        if let stopAt, ContinuousClock.now >= stopAt { return true }
        let step = node.tick()
        process(step)
        return false
    }

    /// Graceful shutdown: resigns leadership if held (EndQuorumEpoch, so a successor runs at once),
    /// keeps ticking briefly so the resignation goes out, then ends ``run(apply:)``.
    func shutdownGracefully() {
        resignIfLeader()
        stopAt = ContinuousClock.now + .milliseconds(500)
    }

    private func stop() {
        stopped = true
        committed.finish()
        for (_, waiter) in waitingProposals { waiter.continuation.resume(throwing: QuorumWriteError.leadershipLost) }
        waitingProposals.removeAll()
        for (_, list) in waitingInbound { for c in list { c.resume(returning: nil) } }
        waitingInbound.removeAll()
        for connection in connections.values { connection.close() }
        connections.removeAll()
        store.close()
    }

    /// Resigns leadership at shutdown so another voter takes over at once (EndQuorumEpoch).
    func resignIfLeader() {
        guard node.role == .leader else { return }
        do {
            try node.resign()
            process(node.flush())
            logger.info("resigned metadata quorum leadership for shutdown", metadata: ["epoch": "\(node.epoch)"])
        } catch {}
    }

    /// Persists the step, then sends its messages and queues its committed entries.
    private func process(_ step: consuming RaftStep<MetadataBatch>) {
        let epochBefore = node.epoch
        do {
            try store.persist(step.persist)
        } catch {
            // Nothing of this step may leave the process: stop rather than contradict the disk.
            logger.critical("metadata quorum state could not be persisted; stopping", metadata: ["error": "\(error)"])
            fatalError("metadata quorum persistence failed: \(error)")
        }
        let effects = step.persisted()
        if effects.snapshotToLoad != nil {
            logger.warning("ignoring a metadata snapshot: this version replays the whole metadata log")
        }
        for envelope in effects.messages { send(envelope) }
        if !effects.committed.isEmpty { committed.yield(effects.committed) }
        if node.epoch != epochBefore || lastLoggedLeader != .some(node.leader) {
            lastLoggedLeader = .some(node.leader)
            logger.info("metadata quorum state", metadata: ["epoch": "\(node.epoch)", "role": "\(node.role)",
                                                           "leader": "\(node.leader.map { "\($0)" } ?? "none")"])
        }
        if node.role != .leader, !waitingProposals.isEmpty {
            for (_, waiter) in waitingProposals { waiter.continuation.resume(throwing: QuorumWriteError.leadershipLost) }
            waitingProposals.removeAll()
        }
    }

    private func markApplied(through offset: Int64) {
        appliedOffset = max(appliedOffset, offset + 1)
        for (proposal, waiter) in waitingProposals where proposal <= offset {
            waitingProposals.removeValue(forKey: proposal)
            waiter.continuation.resume()
        }
    }

    // MARK: Proposals

    /// Appends `batch` to the metadata log and returns once it is committed and applied here.
    /// - Throws: ``QuorumWriteError``.
    func propose(_ batch: MetadataBatch) async throws {
        guard !stopped else { throw QuorumWriteError.leadershipLost }
        var batch = batch
        if batch.timestampMs == 0 { batch.timestampMs = Int64(Date().timeIntervalSince1970 * 1000) }
        let offset: Offset
        switch node.propose(batch) {
        case .success(let o): offset = o
        case .failure(let notLeader): throw QuorumWriteError.notLeader(leader: notLeader.leaderHint?.rawValue)
        }
        let epoch = node.epoch
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            waitingProposals[offset.rawValue] = (epoch, continuation)
            process(node.flush())
        }
    }

    // MARK: Outbound

    private func send(_ envelope: RaftEnvelope<MetadataBatch>) {
        let to = envelope.to
        switch envelope.message {
        case .vote(let request):
            let wire = QuorumWire.kafka(request, from: node.nodeID, to: to, clusterID: clusterID)
            call(to, fetchLane: false, wire, version: QuorumWire.voteVersion) { QuorumWire.raft($0, preVote: request.preVote).map { .voteResponse($0) } }
        case .beginQuorumEpoch(let request):
            let wire = QuorumWire.kafka(request, to: to, clusterID: clusterID)
            call(to, fetchLane: false, wire, version: QuorumWire.quorumEpochVersion) { QuorumWire.raft($0).map { .beginQuorumEpochResponse($0) } }
        case .endQuorumEpoch(let request):
            let wire = QuorumWire.kafka(request, clusterID: clusterID)
            call(to, fetchLane: false, wire, version: QuorumWire.quorumEpochVersion) { QuorumWire.raft($0).map { .endQuorumEpochResponse($0) } }
        case .fetch(let request):
            let wire = QuorumWire.kafka(request, from: node.nodeID, clusterID: clusterID, maxWaitMs: 500)
            call(to, fetchLane: true, wire, version: QuorumWire.fetchVersion) { try QuorumWire.raft($0, request: request).map { .fetchResponse($0) } }
        case .fetchSnapshot(let request):
            let wire = QuorumWire.kafka(request, from: node.nodeID, clusterID: clusterID)
            call(to, fetchLane: true, wire, version: QuorumWire.fetchSnapshotVersion) { QuorumWire.raft($0, request: request).map { .fetchSnapshotResponse($0) } }
        case .voteResponse, .beginQuorumEpochResponse, .endQuorumEpochResponse, .fetchResponse, .fetchSnapshotResponse:
            answerInbound(envelope)
        }
    }

    /// Sends `request` to `peer` in the background and feeds the translated response to the node.
    private func call<R: KafkaRequest>(_ peer: ReplicaID, fetchLane: Bool, _ request: R, version: Int16,
                                       translate: @escaping @Sendable (R.Response) throws -> RaftMessage<MetadataBatch>?) {
        let key = ConnectionKey(peer: peer.rawValue, fetchLane: fetchLane)
        let timeout = requestTimeout
        Task {
            guard let connection = await self.connection(key) else { return }
            do {
                let response = try await connection.send(request, version: version, timeout: timeout)
                if let message = try translate(response) { self.deliver(message, from: peer) }
            } catch {
                self.dropConnection(key, connection, error: error)
            }
        }
    }

    private func deliver(_ message: RaftMessage<MetadataBatch>, from peer: ReplicaID) {
        guard !stopped else { return }
        let step = node.handle(message, from: peer)
        process(step)
    }

    private func connection(_ key: ConnectionKey) async -> NodeConnection? {
        if let existing = connections[key], existing.isActive { return existing }
        guard !connecting.contains(key), !stopped, let voter = settings.voter(key.peer) else { return nil }
        connecting.insert(key)
        defer { connecting.remove(key) }
        do {
            let connection = try await NodeConnection.connect(host: voter.host, port: voter.port,
                                                              clientID: "runnel-quorum-\(node.nodeID)", timeout: .seconds(2), tls: tls,
                                                              sasl: settings.controllerSasl)
            if stopped { connection.close(); return nil }
            connections[key] = connection
            return connection
        } catch {
            logger.debug("cannot reach a quorum voter", metadata: ["voter": "\(key.peer)", "error": "\(error)"])
            return nil
        }
    }

    private func dropConnection(_ key: ConnectionKey, _ connection: NodeConnection, error: any Error) {
        logger.debug("quorum request failed", metadata: ["voter": "\(key.peer)", "error": "\(error)"])
        connection.close()
        if connections[key] === connection { connections.removeValue(forKey: key) }
    }

    // MARK: Inbound

    /// Hands a request from another node to the Raft node and waits for its answer (a parked
    /// Fetch is answered by a later tick). `nil` when the node did not answer in time.
    func handleInbound(_ message: RaftMessage<MetadataBatch>, from peer: ReplicaID) async -> RaftMessage<MetadataBatch>? {
        guard !stopped else { return nil }
        let kind: InboundKind
        switch message {
        case .vote: kind = .vote
        case .beginQuorumEpoch: kind = .beginQuorumEpoch
        case .endQuorumEpoch: kind = .endQuorumEpoch
        case .fetch(let request): kind = .fetch(request.requestID)
        case .fetchSnapshot(let request): kind = .fetchSnapshot(request.requestID)
        default: return nil
        }
        let key = InboundKey(from: peer, kind: kind)
        let timeout = requestTimeout
        return await withCheckedContinuation { continuation in
            waitingInbound[key, default: []].append(continuation)
            Task {
                try? await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                self.expireInbound(key)
            }
            let step = node.handle(message, from: peer)
            process(step)
        }
    }

    /// A fresh local id for an inbound fetch (Kafka's Fetch carries none).
    func nextFetchID() -> UInt64 {
        defer { nextInboundFetchID += 1 }
        return nextInboundFetchID
    }

    private func expireInbound(_ key: InboundKey) {
        guard var list = waitingInbound[key], !list.isEmpty else { return }
        let first = list.removeFirst()
        waitingInbound[key] = list.isEmpty ? nil : list
        first.resume(returning: nil)
    }

    private func answerInbound(_ envelope: RaftEnvelope<MetadataBatch>) {
        let kind: InboundKind
        switch envelope.message {
        case .voteResponse: kind = .vote
        case .beginQuorumEpochResponse: kind = .beginQuorumEpoch
        case .endQuorumEpochResponse: kind = .endQuorumEpoch
        case .fetchResponse(let r): kind = .fetch(r.requestID)
        case .fetchSnapshotResponse(let r): kind = .fetchSnapshot(r.requestID)
        default: return
        }
        let key = InboundKey(from: envelope.to, kind: kind)
        guard var list = waitingInbound[key], !list.isEmpty else { return }
        let first = list.removeFirst()
        waitingInbound[key] = list.isEmpty ? nil : list
        first.resume(returning: envelope.message)
    }
}
