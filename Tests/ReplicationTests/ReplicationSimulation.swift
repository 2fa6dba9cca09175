import Foundation
import Replication

/// A deterministic random source (SplitMix64) so a failing seed replays exactly.
struct SimRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }
}

/// One partition replicated on three brokers with a trusted controller, over a network that delays,
/// drops and partitions, with brokers that crash and restart keeping their logs (kill -9: the page
/// cache survives) but nothing in memory. The leader runs ``PartitionLeader``; followers truncate
/// with ``FollowerTruncation`` and fetch. Every step is checked against the rules Kafka's
/// replication promises with acks=all and min.insync.replicas=2.
struct ReplicationSimulation {
    struct Entry: Equatable { var epoch: Int32; var value: Int }

    enum Message {
        case controllerUpdate(leader: Int32, epoch: Int32, isr: Set<Int32>, partitionEpoch: Int32)
        case offsetForEpoch(from: Int32, epoch: Int32, leaderEpoch: Int32)
        case offsetForEpochResponse(epoch: Int32, endOffset: Int64, leaderEpoch: Int32)
        case fetch(from: Int32, offset: Int64, leaderEpoch: Int32)
        case fetchResponse(entries: [Entry], from: Int64, highWatermark: Int64, leaderEpoch: Int32)
        case alterISR(AlterISRRequest)
        case alterISRResponse(accepted: Bool, isr: Set<Int32>, partitionEpoch: Int32, leaderEpoch: Int32)
    }

    struct InFlight {
        var deliverAt: Int
        var from: Int32  // 0 = controller
        var to: Int32
        var message: Message
    }

    final class Replica {
        let id: Int32
        var log: [Entry] = []
        /// (epoch, start offset), ascending: the leader epoch cache.
        var epochs: [(epoch: Int32, start: Int64)] = []
        var highWatermark: Int64 = 0
        var checkpointedHighWatermark: Int64 = 0
        var alive = true
        var lastHeartbeat = 0
        /// Bumped at every restart; the controller treats a new incarnation as a broker that was
        /// fenced and came back (KRaft re-registration), so a restarted leader never resumes its
        /// old epoch with a stale high watermark.
        var incarnation = 0
        var knownEpoch: Int32 = -1
        var knownLeader: Int32 = -1
        var leader: PartitionLeader?
        var alterISRSentAt: Int?
        var truncating = false
        var fetchSentAt: Int?
        var pendingAcks: [(lastOffset: Int64, value: Int)] = []

        init(id: Int32) { self.id = id }
        var logEndOffset: Int64 { Int64(log.count) }

        /// The end of `epoch` in this log (the largest epoch at or below it), Kafka's
        /// `LeaderEpochFileCache.endOffsetFor`.
        func endOffset(for epoch: Int32) -> (epoch: Int32, endOffset: Int64) {
            guard let i = epochs.lastIndex(where: { $0.epoch <= epoch }) else { return (-1, -1) }
            let end = i + 1 < epochs.count ? epochs[i + 1].start : logEndOffset
            return (epochs[i].epoch, end)
        }

        func truncate(to offset: Int64) {
            guard offset < logEndOffset else { return }
            log.removeSubrange(Int(offset)...)
            epochs.removeAll { $0.start >= offset }
            highWatermark = min(highWatermark, offset)
        }

        func appendFollowing(_ entry: Entry) {
            if epochs.last?.epoch ?? -1 < entry.epoch { epochs.append((entry.epoch, logEndOffset)) }
            log.append(entry)
        }
    }

    let seed: UInt64
    var random: SimRandom
    var replicas: [Int32: Replica] = [:]
    var network: [InFlight] = []
    /// Latest delivery time per link: links are FIFO, as TCP connections are.
    var linkClock: [[Int32]: Int] = [:]
    var tick = 0
    /// Who cannot talk to whom (both directions); 0 is the controller.
    var cut: Set<[Int32]> = []
    // The controller's state of the partition.
    var controllerLeader: Int32 = 1
    var controllerEpoch: Int32 = 0
    var partitionEpoch: Int32 = 0
    var controllerISR: Set<Int32> = [1, 2, 3]
    var fenced: Set<Int32> = []
    var seenIncarnation: [Int32: Int] = [1: 0, 2: 0, 3: 0]
    // What clients were told.
    var acked: [Int64: (value: Int, epoch: Int32, leader: Int32)] = [:]
    var ackingLeaderByEpoch: [Int32: Int32] = [:]
    var nextValue = 1
    /// The last events, printed with a failure.
    var trace: [String] = []
    mutating func note(_ event: String) {
        trace.append("t\(tick) \(event)")
        if trace.count > 60 { trace.removeFirst(trace.count - 60) }
    }
    var stats = (acks: 0, crashes: 0, elections: 0, isrChanges: 0, truncatedEntries: 0)

    static let sessionTicks = 12
    static let lagTimeTicks: Int64 = 10
    static let minISR = 2

    init(seed: UInt64) {
        self.seed = seed
        random = SimRandom(state: seed)
        for id: Int32 in 1...3 { replicas[id] = Replica(id: id) }
        broadcastControllerState()
    }

    /// The replicas by id: every iteration goes in this order, so a seed replays exactly.
    var ordered: [Replica] { [replicas[1]!, replicas[2]!, replicas[3]!] }

    // MARK: Running

    /// Runs `faultTicks` of faults, heals everything, and checks that writes commit again within
    /// `healTicks`. Throws on the first broken rule.
    mutating func run(faultTicks: Int = 400, healTicks: Int = 400) throws {
        while tick < faultTicks {
            injectFaults()
            try step()
        }
        cut.removeAll()
        for r in ordered where !r.alive { restart(r) }
        let ackedBefore = stats.acks
        let healedAt = tick
        while stats.acks == ackedBefore {
            guard tick < healedAt + healTicks else {
                throw SimulationFailure(seed: seed, tick: tick, rule: "liveness: nothing committed within \(healTicks) ticks of healing")
            }
            if tick % 3 == 0 { produce() }
            try step()
        }
    }

    mutating func step() throws {
        tick += 1
        controllerTick()
        deliverMessages()
        for id: Int32 in 1...3 { replicaTick(replicas[id]!) }
        if tick % 2 == 0 { produce() }
        try checkInvariants()
    }

    mutating func injectFaults() {
        if random.chance(0.01) {
            let victim = Int32(random.int(1..<4))
            if replicas[victim]!.alive, ordered.filter(\.alive).count > 1 { crash(replicas[victim]!) }
        }
        if random.chance(0.02), let dead = ordered.first(where: { !$0.alive }) { restart(dead) }
        if random.chance(0.01) {
            let a = Int32(random.int(0..<4)), b = Int32(random.int(1..<4))
            if a != b { cut.insert([min(a, b), max(a, b)]) }
        }
        if random.chance(0.02) { cut.removeAll() }
    }

    // MARK: Controller

    mutating func controllerTick() {
        for r in ordered where r.alive && !isCut(0, r.id) {
            r.lastHeartbeat = tick
            if seenIncarnation[r.id] != r.incarnation {
                seenIncarnation[r.id] = r.incarnation
                if !fenced.contains(r.id) { onFenced(r.id) }
                if controllerLeader == -1, controllerISR.contains(r.id) { elect() }
            }
        }
        for r in ordered {
            let expired = tick - r.lastHeartbeat > Self.sessionTicks
            if expired, !fenced.contains(r.id) {
                fenced.insert(r.id)
                onFenced(r.id)
            } else if !expired, fenced.contains(r.id) {
                fenced.remove(r.id)
                if controllerLeader == -1, controllerISR.contains(r.id) { elect() }
            }
        }
        if tick % 5 == 0 { broadcastControllerState() }
    }

    mutating func onFenced(_ id: Int32) {
        if controllerISR.contains(id), controllerISR.count > 1 {
            controllerISR.remove(id)
            partitionEpoch += 1
            stats.isrChanges += 1
        }
        if controllerLeader == id { elect() } else { broadcastControllerState() }
    }

    /// Clean election: the first unfenced ISR member, else none.
    mutating func elect() {
        controllerLeader = controllerISR.sorted().first { !fenced.contains($0) } ?? -1
        controllerEpoch += 1
        partitionEpoch += 1
        stats.elections += 1
        broadcastControllerState()
    }

    mutating func broadcastControllerState() {
        for id: Int32 in 1...3 {
            send(from: 0, to: id, .controllerUpdate(leader: controllerLeader, epoch: controllerEpoch, isr: controllerISR,
                                                     partitionEpoch: partitionEpoch))
        }
    }

    mutating func controllerHandleAlterISR(_ request: AlterISRRequest, from leader: Int32) {
        let accept = request.leaderEpoch == controllerEpoch && leader == controllerLeader && request.partitionEpoch == partitionEpoch
            && request.newISR.allSatisfy { !fenced.contains($0) } && request.newISR.contains(leader)
        note("controller alterISR from \(leader) \(request.newISR.sorted()) accept=\(accept)")
        if accept {
            controllerISR = request.newISR
            partitionEpoch += 1
            stats.isrChanges += 1
        }
        send(from: 0, to: leader, .alterISRResponse(accepted: accept, isr: controllerISR, partitionEpoch: partitionEpoch,
                                                    leaderEpoch: controllerEpoch))
    }

    // MARK: Network

    func isCut(_ a: Int32, _ b: Int32) -> Bool { cut.contains([min(a, b), max(a, b)]) }

    mutating func send(from: Int32, to: Int32, _ message: Message) {
        guard !random.chance(0.05) else { return }
        let at = max(linkClock[[from, to]] ?? 0, tick + random.int(1..<4))
        linkClock[[from, to]] = at
        network.append(InFlight(deliverAt: at, from: from, to: to, message: message))
    }

    mutating func deliverMessages() {
        let due = network.filter { $0.deliverAt <= tick }
        network.removeAll { $0.deliverAt <= tick }
        for m in due {
            if isCut(m.from, m.to) { continue }
            if m.to == 0 {
                if case .alterISR(let request) = m.message { controllerHandleAlterISR(request, from: m.from) }
                continue
            }
            let r = replicas[m.to]!
            guard r.alive else { continue }
            handle(m.message, from: m.from, at: r)
        }
    }

    // MARK: Replicas

    mutating func crash(_ r: Replica) {
        note("crash \(r.id) leo=\(r.logEndOffset)")
        r.alive = false
        r.leader = nil
        r.pendingAcks.removeAll()
        r.truncating = false
        r.fetchSentAt = nil
        r.alterISRSentAt = nil
        r.knownEpoch = -1
        r.knownLeader = -1
        r.highWatermark = r.checkpointedHighWatermark
        stats.crashes += 1
    }

    func restart(_ r: Replica) {
        r.alive = true
        r.incarnation += 1
        r.highWatermark = min(r.checkpointedHighWatermark, r.logEndOffset)
    }

    mutating func handle(_ message: Message, from: Int32, at r: Replica) {
        switch message {
        case .controllerUpdate(let leader, let epoch, let isr, let pe):
            if epoch < r.knownEpoch { return }
            if epoch == r.knownEpoch {
                if let l = r.leader {
                    var updated = l
                    updated.isrCommitted(isr, partitionEpoch: pe, leaderLogEndOffset: r.logEndOffset)
                    r.leader = updated
                }
                return
            }
            note("\(r.id) learns epoch \(epoch) leader \(leader) isr \(isr.sorted()) leo=\(r.logEndOffset) hw=\(r.highWatermark)")
            r.knownEpoch = epoch
            r.knownLeader = leader
            r.pendingAcks.removeAll()  // a deposed leader answers nothing it had not acknowledged
            r.alterISRSentAt = nil
            if leader == r.id {
                let start = r.epochs.last(where: { $0.epoch == epoch })?.start ?? r.logEndOffset
                if r.epochs.last?.epoch != epoch { r.epochs.append((epoch, r.logEndOffset)) }
                r.leader = PartitionLeader(brokerID: r.id, leaderEpoch: epoch, partitionEpoch: pe, replicas: [1, 2, 3], isr: isr,
                                           logEndOffset: start, highWatermark: r.highWatermark, nowMs: Int64(tick),
                                           replicaLagTimeMaxMs: Self.lagTimeTicks, minISR: Self.minISR)
                r.leader!.leaderAppended(logEndOffset: r.logEndOffset)
                r.truncating = false
            } else {
                r.leader = nil
                r.truncating = leader >= 0
                r.fetchSentAt = nil
                if leader >= 0 {
                    send(from: r.id, to: leader, .offsetForEpoch(from: r.id, epoch: r.epochs.last?.epoch ?? -1, leaderEpoch: epoch))
                }
            }
        case .offsetForEpoch(let follower, let epoch, let leaderEpoch):
            guard let l = r.leader, l.leaderEpoch == leaderEpoch else { return }
            let (e, end) = r.endOffset(for: epoch)
            send(from: r.id, to: follower, .offsetForEpochResponse(epoch: e, endOffset: end, leaderEpoch: leaderEpoch))
        case .offsetForEpochResponse(let epoch, let end, let leaderEpoch):
            guard r.truncating, leaderEpoch == r.knownEpoch, from == r.knownLeader else { return }
            let mine = r.endOffset(for: epoch)
            let target = FollowerTruncation.offset(
                requestedEpoch: r.epochs.last?.epoch ?? -1, leaderEpoch: epoch, leaderEndOffset: end,
                followerEndOffset: mine.epoch == epoch ? mine.endOffset : min(mine.endOffset, end),
                followerLogEndOffset: r.logEndOffset, followerHighWatermark: r.highWatermark)
            note("\(r.id) truncates \(r.logEndOffset)->\(target) (leader says epoch \(epoch) ends \(end); mine \(mine))")
            stats.truncatedEntries += Int(r.logEndOffset - target)
            r.truncate(to: target)
            r.truncating = false
        case .fetch(let follower, let offset, let leaderEpoch):
            guard var l = r.leader, l.leaderEpoch == leaderEpoch, offset <= r.logEndOffset else { return }
            let result = l.recordFetch(from: follower, fetchOffset: offset, leaderLogEndOffset: r.logEndOffset, nowMs: Int64(tick))
            note("\(r.id) fetch from \(follower) at \(offset), hw \(l.highWatermark), isr \(l.isr.committed.sorted()) pending \(l.isr.pending.map { $0.sorted() } ?? [])")
            r.leader = l
            if let request = result.alterISR { sendAlterISR(request, from: r) }
            let end = min(r.logEndOffset, offset + 5)
            send(from: r.id, to: follower, .fetchResponse(entries: Array(r.log[Int(offset)..<Int(end)]), from: offset,
                                                          highWatermark: l.highWatermark, leaderEpoch: leaderEpoch))
        case .fetchResponse(let entries, let offset, let hw, let leaderEpoch):
            r.fetchSentAt = nil
            guard r.leader == nil, !r.truncating, leaderEpoch == r.knownEpoch, from == r.knownLeader, offset == r.logEndOffset else { return }
            for e in entries { r.appendFollowing(e) }
            r.highWatermark = min(hw, r.logEndOffset)
        case .alterISR:
            return
        case .alterISRResponse(let accepted, let isr, let pe, let leaderEpoch):
            guard var l = r.leader, leaderEpoch == l.leaderEpoch else { return }
            r.alterISRSentAt = nil
            if !accepted { l.isrChangeFailed() }
            l.isrCommitted(isr, partitionEpoch: pe, leaderLogEndOffset: r.logEndOffset)
            r.leader = l
        }
    }

    mutating func sendAlterISR(_ request: AlterISRRequest, from r: Replica) {
        r.alterISRSentAt = tick
        send(from: r.id, to: 0, .alterISR(request))
    }

    mutating func replicaTick(_ r: Replica) {
        guard r.alive else { return }
        if tick % 7 == 0 { r.checkpointedHighWatermark = r.highWatermark }
        if var l = r.leader {
            if let sent = r.alterISRSentAt, tick - sent > 20 {
                l.isrChangeFailed()
                r.alterISRSentAt = nil
            }
            if let request = l.maybeShrinkISR(nowMs: Int64(tick)) {
                r.leader = l
                sendAlterISR(request, from: r)
            }
            r.leader = l
            r.highWatermark = l.highWatermark
            var still: [(lastOffset: Int64, value: Int)] = []
            for pending in r.pendingAcks {
                switch l.acknowledgement(forLastOffset: pending.lastOffset) {
                case .waiting: still.append(pending)
                case .acknowledged:
                    acked[pending.lastOffset] = (pending.value, l.leaderEpoch, r.id)
                    stats.acks += 1
                case .failed: break
                }
            }
            r.pendingAcks = still
        } else if r.knownLeader >= 0, !r.truncating {
            if r.fetchSentAt == nil || tick - r.fetchSentAt! > 6 {
                r.fetchSentAt = tick
                send(from: r.id, to: r.knownLeader, .fetch(from: r.id, offset: r.logEndOffset, leaderEpoch: r.knownEpoch))
            }
        } else if r.truncating, tick % 6 == 0, r.knownLeader >= 0 {
            send(from: r.id, to: r.knownLeader, .offsetForEpoch(from: r.id, epoch: r.epochs.last?.epoch ?? -1, leaderEpoch: r.knownEpoch))
        }
    }

    /// A client sends one record to the broker it believes leads (the controller's choice).
    mutating func produce() {
        guard controllerLeader > 0, let r = replicas[controllerLeader], r.alive, var l = r.leader else { return }
        do {
            try l.checkEnoughReplicas()
        } catch {
            return
        }
        r.log.append(Entry(epoch: l.leaderEpoch, value: nextValue))
        l.leaderAppended(logEndOffset: r.logEndOffset)
        r.leader = l
        r.pendingAcks.append((r.logEndOffset - 1, nextValue))
        nextValue += 1
    }

    // MARK: Invariants

    mutating func checkInvariants() throws {
        let trace = self.trace
        func fail(_ rule: String) -> SimulationFailure { SimulationFailure(seed: seed, tick: tick, rule: rule, trace: trace) }
        // 1. Every acknowledged record is at its offset on every member of the controller's ISR
        //    (the only replicas a clean election may choose).
        for (offset, ack) in acked.sorted(by: { $0.key < $1.key }) {
            for id in controllerISR {
                let log = replicas[id]!.log
                guard Int(offset) < log.count, log[Int(offset)].value == ack.value else {
                    throw fail("acknowledged record \(ack.value) at offset \(offset) is missing on ISR member \(id)")
                }
            }
        }
        // 2. At most one leader acknowledges per epoch.
        for (_, ack) in acked.sorted(by: { $0.key < $1.key }) {
            if let other = ackingLeaderByEpoch[ack.epoch], other != ack.leader {
                throw fail("two leaders (\(other), \(ack.leader)) acknowledged in epoch \(ack.epoch)")
            }
            ackingLeaderByEpoch[ack.epoch] = ack.leader
        }
        // 3. Replicas agree below their high watermarks.
        let all = ordered
        for a in all {
            guard a.highWatermark <= a.logEndOffset else { throw fail("replica \(a.id) high watermark above its log end") }
            for b in all where b.id > a.id {
                let upTo = Int(min(a.highWatermark, b.highWatermark))
                if a.log.prefix(upTo) != b.log.prefix(upTo) { throw fail("replicas \(a.id) and \(b.id) differ below offset \(upTo)") }
            }
        }
        // 4. A leader's high watermark only covers acknowledged-or-later-acknowledgeable data that
        //    every maximal-ISR member holds.
        for r in all {
            guard let l = r.leader else { continue }
            for member in l.isr.maximal where member != r.id {
                if let progress = l.followers[member], progress.logEndOffset >= 0, progress.logEndOffset < l.highWatermark {
                    throw fail("leader \(r.id) high watermark \(l.highWatermark) above ISR member \(member)'s \(progress.logEndOffset)")
                }
            }
        }
    }
}

struct SimulationFailure: Error, CustomStringConvertible {
    var seed: UInt64
    var tick: Int
    var rule: String
    var trace: [String] = []
    var description: String {
        (ProcessInfo.processInfo.environment["REPLICATION_SIM_TRACE"] != nil ? trace.joined(separator: "\n") + "\n" : "") +
        "replication simulation seed \(seed) broke a rule at tick \(tick): \(rule). Replay: REPLICATION_SIM_SEED=\(seed) swift test --filter ReplicationSimulationTests"
    }
}
