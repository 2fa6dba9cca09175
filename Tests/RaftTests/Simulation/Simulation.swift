@testable import Raft

/// One node of the simulated cluster: the Raft node while it is up, its disk always.
final class SimulatedNode {
    let id: ReplicaID
    let isVoter: Bool
    var raft: TestNode?
    var disk = SimulatedDisk()
    var restartAt = 0
    /// Crash inside the next step: after a random prefix of its persist actions, before sending.
    var crashInNextStep = false
    var lastHighWatermark: Offset?
    /// The next offset the state machine expects (delivery is in order, once per incarnation).
    var nextApply: Offset = 0
    /// The simulated state machine: the prefix hash of everything applied.
    var stateHash: UInt64 = 0
    /// Applied an entry proposed after the network healed.
    var appliedMarker = false
    /// Paused (a long GC, a stopped VM) until this tick: neither ticks nor handles messages.
    var pausedUntil = 0
    var lastRole: RaftRole?
    var lastEpoch: LeaderEpoch?

    init(id: ReplicaID, isVoter: Bool) {
        self.id = id
        self.isVoter = isVoter
    }
}

/// A whole cluster run from one seed over a faulty network, with crashes that keep only what was
/// persisted, checking every safety invariant after every step and liveness after healing.
struct Simulation {
    let parameters: SimulationParameters
    private var random: SeededRandom
    private(set) var tick = 0
    private var nodes: [SimulatedNode]
    private var network: SimulatedNetwork
    private var checker = InvariantChecker()
    private var healedAt: Int?
    private var lastMarkerAt = Int.min / 2
    private var nextPayload: UInt64 = 1
    private var stats = SimulationStats()
    private var tickOrder: [Int]
    private var traceEnabled: Bool
    private var traceRing: [String] = []
    private static let traceLength = 60
    private static let markerBase: UInt64 = 1 << 62

    init(parameters: SimulationParameters, tracing: Bool = false) {
        self.parameters = parameters
        self.random = SeededRandom(seed: parameters.seed)
        self.traceEnabled = tracing
        self.network = SimulatedNetwork(dropRate: parameters.dropRate, duplicateRate: parameters.duplicateRate,
                                        maxDelayTicks: parameters.maxDelayTicks, longDelayRate: parameters.longDelayRate)
        self.nodes = parameters.voters.map { SimulatedNode(id: $0, isVoter: true) }
            + parameters.observers.map { SimulatedNode(id: $0, isVoter: false) }
        self.tickOrder = Array(nodes.indices)
    }

    /// Runs `seed`; on failure replays it with tracing on to report the trace tail.
    static func run(seed: UInt64, configure: (inout SimulationParameters) -> Void = { _ in })
        -> Result<SimulationStats, SimulationFailure>
    {
        var parameters = SimulationParameters(seed: seed)
        configure(&parameters)
        var simulation = Simulation(parameters: parameters)
        do {
            return .success(try simulation.run())
        } catch {
            var traced = Simulation(parameters: parameters, tracing: true)
            let replayed: InvariantViolation
            do {
                _ = try traced.run()
                replayed = InvariantViolation(error.invariant, "\(error.detail) (NOT reproduced with tracing: nondeterminism!)")
            } catch {
                replayed = error
            }
            return .failure(SimulationFailure(seed: seed, tick: simulation.tick, violation: replayed,
                                              parameters: parameters, trace: traced.traceRing))
        }
    }

    mutating func run() throws(InvariantViolation) -> SimulationStats {
        for index in nodes.indices { try restart(index) }
        while true {
            tick += 1
            if tick == parameters.faultTicks { try healEverything() }
            if healedAt == nil { injectFaults() }
            for index in nodes.indices where nodes[index].raft == nil && healedAt == nil && tick >= nodes[index].restartAt {
                try restart(index)
            }
            for message in network.takeDue(now: tick, random: &random) { try deliver(message) }
            for index in shuffledIndices() where nodes[index].raft != nil && nodes[index].pausedUntil <= tick {
                let step = nodes[index].raft!.tick()
                try process(step, node: index)
            }
            try clientActivity()
            if let healedAt {
                if try livenessReached() {
                    stats.ticks = tick
                    stats.recoveryTicks = tick - healedAt
                    stats.messagesSent = network.sent
                    stats.epochsWithLeader = checker.leaders.count
                    stats.committedEntries = checker.committed.count
                    return stats
                }
                if tick - healedAt > parameters.livenessBoundTicks {
                    let roles = nodes.map { node in
                        "\(node.id):\(node.raft.map { "\($0.role.rawValue)@\($0.epoch) hw=\($0.highWatermark.map(String.init(describing:)) ?? "-") leo=\($0.logEndOffset)" } ?? "down")"
                    }
                    throw InvariantViolation(.liveness, "no new entry committed on every voter within \(parameters.livenessBoundTicks) ticks of healing; \(roles.joined(separator: ", "))")
                }
            }
        }
    }

    // MARK: Faults

    private mutating func injectFaults() {
        if network.isPartitioned {
            if random.chance(parameters.partitionHealRate) {
                network.heal()
                record("partition healed")
            }
        } else if random.chance(parameters.partitionRate) {
            var groups: [ReplicaID: Int] = [:]
            let leader = nodes.first { $0.raft?.role == .leader }
            let kind = random.next(below: 4)
            if kind == 0, let leader {
                groups[leader.id] = 1
            } else if kind <= 1 {
                groups[nodes[random.next(below: nodes.count)].id] = 1
            } else if kind == 2 {
                for node in nodes { groups[node.id] = random.next(below: 2) }
            } else {
                // One-way: some directed links drop everything while their reverse works.
                for _ in 0..<random.next(in: 1...nodes.count) {
                    let from = nodes[random.next(below: nodes.count)].id
                    let to = nodes[random.next(below: nodes.count)].id
                    if from != to { network.block(from: from, to: to) }
                }
            }
            network.partition(groups)
            if traceEnabled {
                record("partition \(nodes.map { "\($0.id):\(groups[$0.id, default: 0])" }.joined(separator: " ")) blocked \(network.blockedLinks.map { "\($0[0])→\($0[1])" }.sorted())")
            }
        }
        for node in nodes where node.raft != nil && node.pausedUntil <= tick && random.chance(parameters.pauseRate) {
            // A stop-the-world pause: no ticks, no message handling; messages wait for it.
            node.pausedUntil = tick + random.next(in: 1...(3 * parameters.fetchTimeoutTicks))
            if traceEnabled { record("PAUSE \(node.id) until t=\(node.pausedUntil)") }
        }
        for index in nodes.indices where nodes[index].raft != nil && random.chance(parameters.crashRate) {
            if random.chance(parameters.midStepCrashShare) {
                nodes[index].crashInNextStep = true
            } else {
                crash(index, midStep: false)
            }
        }
    }

    private mutating func crash(_ index: Int, midStep: Bool) {
        nodes[index].raft = nil
        nodes[index].crashInNextStep = false
        nodes[index].pausedUntil = 0
        nodes[index].restartAt = tick + random.next(in: 1...parameters.maxDownTicks)
        stats.crashes += 1
        if traceEnabled { record("CRASH \(nodes[index].id)\(midStep ? " inside a step" : "")") }
    }

    private mutating func restart(_ index: Int) throws(InvariantViolation) {
        let id = nodes[index].id
        do {
            nodes[index].raft = try TestNode(config: parameters.config(for: id, seed: random.next()),
                                             persistentState: nodes[index].disk.state)
        } catch {
            throw InvariantViolation(.persistence, "node \(id) cannot restart from its disk: \(error)")
        }
        nodes[index].lastHighWatermark = nil
        nodes[index].nextApply = 0
        nodes[index].stateHash = 0
        nodes[index].appliedMarker = false
        nodes[index].lastRole = nil
        if traceEnabled { record("start \(id) from \(nodes[index].disk.state.quorumState.map(String.init(describing:)) ?? "nothing"), log \(nodes[index].disk.state.log.startOffset)..<\(nodes[index].disk.state.log.endOffset)") }
    }

    private mutating func healEverything() throws(InvariantViolation) {
        network.heal()
        network.dropRate = 0
        network.duplicateRate = 0
        network.longDelayRate = 0
        network.maxDelayTicks = min(network.maxDelayTicks, 2)
        healedAt = tick
        record("HEAL: network reliable, every node up")
        for index in nodes.indices {
            nodes[index].crashInNextStep = false
            nodes[index].pausedUntil = 0
            if nodes[index].raft == nil { try restart(index) }
        }
    }

    private mutating func shuffledIndices() -> [Int] {
        for i in stride(from: tickOrder.count - 1, to: 0, by: -1) { tickOrder.swapAt(i, random.next(below: i + 1)) }
        return tickOrder
    }

    // MARK: Driving nodes

    private func index(of id: ReplicaID) -> Int? { nodes.firstIndex { $0.id == id } }

    private mutating func deliver(_ message: SimulatedMessage) throws(InvariantViolation) {
        guard let index = index(of: message.to), nodes[index].raft != nil else { return }
        if nodes[index].pausedUntil > tick {
            network.hold(message, now: tick)
            return
        }
        if traceEnabled { record("\(message.from)→\(message.to) \(describe(message.message))") }
        let step = nodes[index].raft!.handle(message.message, from: message.from)
        try process(step, node: index)
    }

    private mutating func clientActivity() throws(InvariantViolation) {
        if let healedAt, tick - lastMarkerAt >= parameters.electionTimeoutTicks,
           let leader = nodes.indices.first(where: { nodes[$0].isVoter && nodes[$0].raft?.role == .leader })
        {
            // After healing: keep proposing a marker through whoever leads until one commits everywhere.
            _ = healedAt
            lastMarkerAt = tick
            try propose(Self.markerBase + nextPayload, at: leader)
            nextPayload += 1
        }
        if random.chance(parameters.proposeRate) {
            // A client tries a random node and follows its leader hint once, as Kafka clients do.
            var index = random.next(below: nodes.count)
            if let hint = nodes[index].raft?.leader, let hinted = self.index(of: hint), nodes[hinted].raft != nil {
                index = hinted
            }
            if nodes[index].raft != nil && nodes[index].pausedUntil <= tick {
                try propose(nextPayload, at: index)
                nextPayload += 1
            }
        }
        if healedAt == nil && random.chance(parameters.resignRate),
           let leader = nodes.indices.first(where: { nodes[$0].raft?.role == .leader && nodes[$0].pausedUntil <= tick })
        {
            try? nodes[leader].raft!.resign()
            if traceEnabled { record("\(nodes[leader].id) resigns") }
            let step = nodes[leader].raft!.flush()
            try process(step, node: leader)
        }
        for index in nodes.indices where nodes[index].raft != nil && nodes[index].pausedUntil <= tick
            && random.chance(parameters.snapshotRate)
        {
            try takeSnapshot(index)
        }
    }

    private mutating func propose(_ payload: UInt64, at index: Int) throws(InvariantViolation) {
        guard case .success(let offset) = nodes[index].raft!.propose(payload) else { return }
        if traceEnabled { record("propose \(payload >= Self.markerBase ? "marker \(payload - Self.markerBase)" : "\(payload)") at \(nodes[index].id) → offset \(offset)") }
        let step = nodes[index].raft!.flush()
        try process(step, node: index)
    }

    private mutating func takeSnapshot(_ index: Int) throws(InvariantViolation) {
        let id = nodes[index].id
        let applied = nodes[index].raft!.appliedOffset
        guard applied == nodes[index].nextApply else {
            throw InvariantViolation(.stateMachineSafety, "node \(id) reports applied offset \(applied) but delivered up to \(nodes[index].nextApply)")
        }
        let latest = nodes[index].raft!.log.snapshot?.id.offset ?? 0
        guard latest.distance(to: applied) >= 5 else { return }
        do {
            let snapshotID = try nodes[index].raft!.snapshot(upTo: applied, payload: encodeSnapshot(nodes[index].stateHash))
            if traceEnabled { record("snapshot at \(id): \(snapshotID)") }
        } catch {
            throw InvariantViolation(.persistence, "node \(id) refused a snapshot at its applied offset \(applied): \(error)")
        }
        let step = nodes[index].raft!.flush()
        try process(step, node: index)
    }

    /// Persists, maybe crashes before sending, else sends and checks everything.
    private mutating func process(_ step: consuming RaftStep<UInt64>, node index: Int) throws(InvariantViolation) {
        let id = nodes[index].id
        // Election safety first: a node that won an epoch in memory won it, persisted or not.
        let isLeader = nodes[index].raft!.role == .leader
        let isNewLeader = isLeader ? try observeLeader(index) : false
        let persist = step.persist
        let crashing = nodes[index].crashInNextStep
        let kept = crashing ? random.next(in: 0...persist.count) : persist.count
        let node = nodes[index]
        for position in 0..<kept {
            let action = persist[position]
            try node.disk.apply(action, node: id, checker: &checker)
            if case .installSnapshot(let snapshot) = action {
                try checker.checkSnapshot(id, end: snapshot.id.offset, stateHash: decodeSnapshot(snapshot.payload))
            }
        }
        if crashing {
            crash(index, midStep: true)
            return
        }
        let effects = step.persisted()
        for envelope in effects.messages {
            network.send(SimulatedMessage(from: id, to: envelope.to, message: envelope.message), now: tick, random: &random)
        }
        if isNewLeader {
            let epoch = nodes[index].raft!.epoch
            try checker.checkLeaderCompleteness(id, epoch: epoch, prefixHash: nodes[index].disk.prefixHash(endingAt:))
        }
        try check(index, effects: effects)
    }

    private mutating func observeLeader(_ index: Int) throws(InvariantViolation) -> Bool {
        let node = nodes[index]
        guard node.isVoter else { throw InvariantViolation(.electionSafety, "observer \(node.id) became leader") }
        return try checker.observeLeader(node.id, epoch: node.raft!.epoch)
    }

    // MARK: Invariants

    private mutating func check(_ index: Int, effects: RaftEffects<UInt64>) throws(InvariantViolation) {
        let id = nodes[index].id
        let raft = nodes[index].raft!
        let disk = nodes[index].disk
        try checkPersistence(raft, disk: disk)

        if traceEnabled, raft.role != nodes[index].lastRole || raft.epoch != nodes[index].lastEpoch {
            record("\(id) is \(raft.role.rawValue) in epoch \(raft.epoch) (leader \(raft.leader.map(String.init(describing:)) ?? "-"), log \(raft.log.endOffsetAndEpoch), hw \(raft.highWatermark.map(String.init(describing:)) ?? "-"))")
        }
        nodes[index].lastRole = raft.role
        nodes[index].lastEpoch = raft.epoch

        try InvariantChecker.checkHighWatermark(id, previous: nodes[index].lastHighWatermark, current: raft.highWatermark)
        nodes[index].lastHighWatermark = raft.highWatermark
        if let highWatermark = raft.highWatermark,
           try checker.observeCommitted(id, epoch: raft.epoch, highWatermark: highWatermark, prefixHash: disk.prefixHash(endingAt:))
        {
            try checkCurrentLeadersHoldCommitted(after: raft.epoch)
        }

        if let snapshot = effects.snapshotToLoad {
            let stateHash = decodeSnapshot(snapshot.payload)
            try checker.checkSnapshot(id, end: snapshot.id.offset, stateHash: stateHash)
            guard snapshot.id.offset >= nodes[index].nextApply || nodes[index].nextApply == 0 else {
                throw InvariantViolation(.stateMachineSafety, "node \(id) loaded snapshot \(snapshot.id) after applying up to \(nodes[index].nextApply)")
            }
            nodes[index].stateHash = stateHash
            nodes[index].nextApply = snapshot.id.offset
            stats.snapshotsInstalled += 1
        }
        for entry in effects.committed {
            guard entry.offset == nodes[index].nextApply else {
                throw InvariantViolation(.stateMachineSafety, "node \(id) was given offset \(entry.offset) to apply, expected \(nodes[index].nextApply)")
            }
            nodes[index].stateHash = extendPrefix(nodes[index].stateHash, with: entry)
            try checker.checkApplied(id, offset: entry.offset, stateHash: nodes[index].stateHash)
            nodes[index].nextApply = entry.offset + 1
            if let payload = entry.payload, payload >= Self.markerBase { nodes[index].appliedMarker = true }
        }
        guard nodes[index].nextApply == raft.appliedOffset else {
            throw InvariantViolation(.stateMachineSafety, "node \(id) applied offset \(raft.appliedOffset) but delivered up to \(nodes[index].nextApply)")
        }
    }

    /// The in-memory node equals what it persisted (no change escaped the persist actions).
    private func checkPersistence(_ raft: TestNode, disk: SimulatedDisk) throws(InvariantViolation) {
        let stored = disk.state
        let memory = raft.log
        if memory.startOffset != stored.log.startOffset || memory.endOffsetAndEpoch != stored.log.endOffsetAndEpoch
            || memory.snapshot?.id != stored.log.snapshot?.id
            || raft.epoch != (stored.quorumState?.leaderEpoch ?? 0) || raft.votedID != stored.quorumState?.votedID
        {
            throw InvariantViolation(.persistence, "node \(raft.nodeID) memory (epoch \(raft.epoch), voted \(raft.votedID.map(String.init(describing:)) ?? "-"), log \(memory.startOffset)..<\(memory.endOffsetAndEpoch)) differs from disk (\(stored.quorumState.map(String.init(describing:)) ?? "none"), log \(stored.log.startOffset)..<\(stored.log.endOffsetAndEpoch))")
        }
    }

    /// Leaders of epochs after the one that just committed entries must hold them.
    private func checkCurrentLeadersHoldCommitted(after committedEpoch: LeaderEpoch) throws(InvariantViolation) {
        for node in nodes {
            guard let raft = node.raft, raft.role == .leader, raft.epoch > committedEpoch else { continue }
            try checker.checkLeaderCompleteness(node.id, epoch: raft.epoch, prefixHash: node.disk.prefixHash(endingAt:))
        }
    }

    private func livenessReached() throws(InvariantViolation) -> Bool {
        nodes.allSatisfy { !$0.isVoter || ($0.raft != nil && $0.appliedMarker) }
            && nodes.contains { $0.raft?.role == .leader }
    }

    // MARK: Trace

    /// Callers building costly text check `traceEnabled` first; passing runs build no strings.
    private mutating func record(_ event: String) {
        guard traceEnabled else { return }
        if traceRing.count == Self.traceLength { traceRing.removeFirst() }
        traceRing.append("t=\(tick) \(event)")
    }
}
