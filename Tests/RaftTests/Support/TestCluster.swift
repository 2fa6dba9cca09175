@testable import Raft

typealias TestNode = RaftNode<UInt64>

/// A message in flight in a `TestCluster`.
struct InFlightMessage {
    var from: ReplicaID
    var to: ReplicaID
    var message: RaftMessage<UInt64>
}

/// A hand-driven cluster for unit tests: FIFO delivery, links that can be cut, crashes and restarts
/// from the persisted state only. Everything is deterministic.
struct TestCluster {
    let voters: [ReplicaID]
    let observers: [ReplicaID]
    private(set) var nodes: [ReplicaID: TestNode] = [:]
    private(set) var disks: [ReplicaID: RaftPersistentState<UInt64>] = [:]
    var queue: [InFlightMessage] = []
    private(set) var applied: [ReplicaID: [LogEntry<UInt64>]] = [:]
    private(set) var loadedSnapshots: [ReplicaID: [RaftSnapshot]] = [:]
    /// Directed links that drop everything.
    var cut: Set<[ReplicaID]> = []
    private var restarts: UInt64 = 0
    private let configure: @Sendable (inout RaftConfig) -> Void

    /// Every persist action each node emitted, in order.
    private(set) var persisted: [ReplicaID: [PersistAction<UInt64>]] = [:]

    init(voters: [ReplicaID], observers: [ReplicaID] = [], disks initialDisks: [ReplicaID: RaftPersistentState<UInt64>] = [:],
         configure: @escaping @Sendable (inout RaftConfig) -> Void = { _ in }) {
        self.voters = voters
        self.observers = observers
        self.configure = configure
        for id in voters + observers {
            disks[id] = initialDisks[id] ?? RaftPersistentState()
            start(id)
        }
    }

    var all: [ReplicaID] { voters + observers }

    func config(for id: ReplicaID) -> RaftConfig {
        var config = RaftConfig(nodeID: id, voters: Set(voters),
                                random: SeededRandom(seed: UInt64(UInt32(bitPattern: id.rawValue)) &* 7919 &+ restarts))
        configure(&config)
        return config
    }

    private mutating func start(_ id: ReplicaID) {
        nodes[id] = try! TestNode(config: config(for: id), persistentState: disks[id]!)
        applied[id] = []
    }

    func node(_ id: ReplicaID) -> TestNode { nodes[id]! }

    /// Puts back a node changed outside the cluster (after `propose`, `snapshot`, `resign`).
    mutating func replace(_ id: ReplicaID, with node: TestNode) { nodes[id] = node }
    func isUp(_ id: ReplicaID) -> Bool { nodes[id] != nil }

    /// Persists, then queues messages and records what the state machine got.
    mutating func absorb(_ step: consuming RaftStep<UInt64>, from id: ReplicaID) {
        for action in step.persist { disks[id]!.apply(action) }
        persisted[id, default: []].append(contentsOf: step.persist)
        let effects = step.persisted()
        for envelope in effects.messages { queue.append(InFlightMessage(from: id, to: envelope.to, message: envelope.message)) }
        if let snapshot = effects.snapshotToLoad {
            loadedSnapshots[id, default: []].append(snapshot)
            applied[id] = []
        }
        applied[id, default: []].append(contentsOf: effects.committed)
    }

    mutating func tick(_ id: ReplicaID) {
        guard nodes[id] != nil else { return }
        let step = nodes[id]!.tick()
        absorb(step, from: id)
    }

    mutating func flush(_ id: ReplicaID) {
        let step = nodes[id]!.flush()
        absorb(step, from: id)
    }

    /// Delivers one message directly (bypassing the queue and the cut links).
    mutating func deliver(_ message: RaftMessage<UInt64>, from: ReplicaID, to: ReplicaID) {
        guard nodes[to] != nil else { return }
        let step = nodes[to]!.handle(message, from: from)
        absorb(step, from: to)
    }

    /// Delivers queued messages (and what they cause) until the queue is empty.
    mutating func deliverAll(limit: Int = 10_000) {
        var delivered = 0
        while !queue.isEmpty && delivered < limit {
            let message = queue.removeFirst()
            delivered += 1
            if cut.contains([message.from, message.to]) { continue }
            deliver(message.message, from: message.from, to: message.to)
        }
    }

    /// Ticks every live node once, then delivers everything.
    mutating func step() {
        for id in all { tick(id) }
        deliverAll()
    }

    mutating func run(ticks: Int) {
        for _ in 0..<ticks { step() }
    }

    /// Runs until `condition` holds; returns the ticks taken, or `nil` if it never did.
    @discardableResult
    mutating func run(upTo maxTicks: Int, until condition: (TestCluster) -> Bool) -> Int? {
        for tick in 0...maxTicks {
            if condition(self) { return tick }
            step()
        }
        return nil
    }

    var leaders: [ReplicaID] { all.filter { nodes[$0]?.role == .leader } }

    /// Exactly one leader, and every live voter follows it in its epoch.
    var isStable: Bool {
        guard leaders.count == 1, let leader = leaders.first else { return false }
        let epoch = node(leader).epoch
        return voters.allSatisfy { id in
            guard let node = nodes[id] else { return true }
            return id == leader || (node.role == .follower && node.leader == leader && node.epoch == epoch)
        }
    }

    mutating func electLeader() -> ReplicaID {
        let ticks = run(upTo: 500) { $0.isStable }
        precondition(ticks != nil, "no stable leader within 500 ticks")
        return leaders[0]
    }

    mutating func propose(_ payload: UInt64, at id: ReplicaID) -> Offset? {
        guard case .success(let offset) = nodes[id]!.propose(payload) else { return nil }
        flush(id)
        return offset
    }

    mutating func resign(_ id: ReplicaID) throws {
        try nodes[id]!.resign()
        flush(id)
    }

    mutating func crash(_ id: ReplicaID) {
        nodes[id] = nil
        queue.removeAll { $0.to == id || $0.from == id }
    }

    mutating func restart(_ id: ReplicaID) {
        restarts += 1
        start(id)
    }

    mutating func isolate(_ id: ReplicaID) {
        for other in all where other != id {
            cut.insert([id, other])
            cut.insert([other, id])
        }
    }

    mutating func heal() { cut.removeAll() }

    func appliedPayloads(_ id: ReplicaID) -> [UInt64] { applied[id, default: []].compactMap(\.payload) }
}

/// A persisted log built from (epoch, payload) pairs starting at offset 0.
func persistedLog(_ epochs: [Int32], quorum: QuorumStateRecord? = nil) -> RaftPersistentState<UInt64> {
    let entries = epochs.enumerated().map { index, epoch in
        LogEntry<UInt64>(offset: Offset(Int64(index)), epoch: LeaderEpoch(epoch), record: .data(UInt64(1000 * Int(epoch) + index)))
    }
    let log = try! RaftLog(snapshot: nil, startOffset: 0, entries: entries)
    return RaftPersistentState(quorumState: quorum ?? QuorumStateRecord(leaderEpoch: LeaderEpoch(epochs.max() ?? 0)), log: log)
}

/// Runs one input through `node` and returns what it persisted and sent.
func run(_ node: inout TestNode, _ input: (inout TestNode) -> RaftStep<UInt64>) -> (persist: [PersistAction<UInt64>], effects: RaftEffects<UInt64>) {
    let step = input(&node)
    let persist = step.persist
    return (persist, step.persisted())
}

extension RaftEffects<UInt64> {
    var voteResponses: [VoteResponse] {
        messages.compactMap { if case .voteResponse(let response) = $0.message { response } else { nil } }
    }
    var voteRequests: [VoteRequest] {
        messages.compactMap { if case .vote(let request) = $0.message { request } else { nil } }
    }
    var fetchRequests: [FetchRequest] {
        messages.compactMap { if case .fetch(let request) = $0.message { request } else { nil } }
    }
    var fetchResponses: [FetchResponse<UInt64>] {
        messages.compactMap { if case .fetchResponse(let response) = $0.message { response } else { nil } }
    }
}

func voteConfig(_ id: ReplicaID, voters: Set<ReplicaID> = [1, 2, 3]) -> RaftConfig {
    RaftConfig(nodeID: id, voters: voters, random: SeededRandom(seed: UInt64(UInt32(bitPattern: id.rawValue))))
}
