import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// An in-memory `__consumer_offsets`: one append-only log per partition, offsets assigned
/// sequentially. Appends can be made to fail and reads can be held until released.
actor InMemoryOffsetsStore: OffsetsTopicStore {
    private var logs: [Int32: [(key: ByteBuffer, value: ByteBuffer?)]] = [:]
    /// Thrown by every append while set.
    var appendError: (any Error)?
    private var readsHeld = false
    private var heldReads: [CheckedContinuation<Void, Never>] = []
    private(set) var readsStarted = 0
    /// Thrown by the next `failReads` reads, then reads succeed again.
    private var failReads = 0
    private var appendsHeld = false
    private var heldAppends: [CheckedContinuation<Void, Never>] = []
    private(set) var appendsStarted = 0

    init(holdReads: Bool = false) { readsHeld = holdReads }

    func append(partition: Int32, records: [(key: ByteBuffer, value: ByteBuffer?)], timestampMs: Int64) async throws -> Int64 {
        appendsStarted += 1
        if appendsHeld { await withCheckedContinuation { heldAppends.append($0) } }
        if let appendError { throw appendError }
        let base = Int64(logs[partition]?.count ?? 0)
        logs[partition, default: []].append(contentsOf: records)
        return base
    }

    func read(partition: Int32, from offset: Int64, maxBytes: Int) async throws
        -> (records: [(offset: Int64, key: ByteBuffer?, value: ByteBuffer?)], nextOffset: Int64, logEndOffset: Int64) {
        readsStarted += 1
        if readsHeld { await withCheckedContinuation { heldReads.append($0) } }
        if failReads > 0 {
            failReads -= 1
            throw OffsetsTopicStoreError(errorCode: .coordinatorNotAvailable, description: "read failed")
        }
        let log = logs[partition] ?? []
        var out: [(offset: Int64, key: ByteBuffer?, value: ByteBuffer?)] = []
        var size = 0
        var next = Int(offset)
        while next < log.count, out.isEmpty || size < maxBytes {
            let r = log[next]
            size += r.key.readableBytes + (r.value?.readableBytes ?? 0)
            out.append((Int64(next), r.key, r.value))
            next += 1
        }
        return (out, Int64(next), Int64(log.count))
    }

    func setAppendError(_ error: (any Error)?) { appendError = error }

    /// Makes the next `count` reads throw.
    func failNextReads(_ count: Int) { failReads = count }

    /// Appends wait until `releaseAppends()`.
    func holdAppends() { appendsHeld = true }

    func releaseAppends() {
        appendsHeld = false
        for c in heldAppends { c.resume() }
        heldAppends = []
    }

    func holdReads() { readsHeld = true }

    func releaseReads() {
        readsHeld = false
        for c in heldReads { c.resume() }
        heldReads = []
    }

    func count(_ partition: Int32 = 0) -> Int { logs[partition]?.count ?? 0 }

    /// Decoded records of a partition, in log order.
    func decoded(_ partition: Int32 = 0) throws -> [OffsetsTopicRecord] {
        try (logs[partition] ?? []).compactMap { try OffsetsTopicRecord.decode(key: $0.key, value: $0.value) }
    }

    /// Appends already-encoded records directly (bulk fixtures).
    func seed(_ partition: Int32, _ records: [(key: ByteBuffer, value: ByteBuffer?)]) {
        logs[partition, default: []].append(contentsOf: records)
    }
}

/// A coordinator over an in-memory store with a manual clock.
struct Env {
    let clock: ManualClock
    let store: InMemoryOffsetsStore
    let limits: GroupLimits
    let coordinator: GroupCoordinator

    init(store: InMemoryOffsetsStore = InMemoryOffsetsStore(), clock: ManualClock = ManualClock(), limits: GroupLimits = .test(),
         partitions: Int32 = 1, load: [Int32]? = nil) async {
        self.clock = clock
        self.store = store
        self.limits = limits
        coordinator = GroupCoordinator(partitionCount: partitions, store: store, limits: limits, logger: .init(label: "test"),
                                       clock: clock.source)
        await coordinator.load(partitions: load ?? Array(0..<partitions))
    }

    /// A new coordinator over the same store and clock (a broker restart).
    func restarted() async -> Env {
        await Env(store: store, clock: clock, limits: limits, partitions: coordinator.partitionCount)
    }

    func describe(_ group: String) async -> GroupDescription? {
        (try? await coordinator.describe(groupID: group).get()) ?? nil
    }

    /// Committed offsets of a group as (partition → offset), empty on error.
    func committed(_ group: String) async -> [GroupTopicPartition: CommittedOffset] {
        guard let all = try? await coordinator.fetchOffsets(groupID: group, partitions: nil).get() else { return [:] }
        var out: [GroupTopicPartition: CommittedOffset] = [:]
        for (tp, v) in all { out[tp] = v }
        return out
    }

    func commit(_ group: String, member: String = "", generation: Int32 = -1, _ offsets: [(String, Int32, Int64)],
                metadata: String? = nil) async -> [ErrorCode] {
        await coordinator.commitOffsets(groupID: group, memberID: member, groupInstanceID: nil, generationID: generation,
                                        offsets: offsets.map {
                                            OffsetCommitInput(topicPartition: GroupTopicPartition($0.0, $0.1), offset: $0.2,
                                                              leaderEpoch: -1, metadata: metadata)
                                        })
    }

    /// Joins every member concurrently (a task group), runs the clock through the join phase,
    /// then sends every SyncGroup concurrently with the leader's assignment (`"<member>-bytes"`).
    func stabilize(_ group: String, _ members: [JoinGroupInput]) async throws -> (joins: [JoinGroupResult], syncs: [SyncGroupResult]) {
        let c = coordinator
        let joins = try await withThrowingTaskGroup(of: (Int, JoinGroupResult).self) { tg in
            for (i, m) in members.enumerated() { tg.addTask { (i, await c.join(groupID: group, m)) } }
            try await eventually("\(members.count) members joined") { await describe(group)?.members.count == members.count }
            var rounds = 0
            while await describe(group)?.state == .preparingRebalance, rounds < 50 {
                clock.advance(1000)
                await c.tick()
                rounds += 1
            }
            var out = [JoinGroupResult?](repeating: nil, count: members.count)
            for try await (i, r) in tg { out[i] = r }
            return out.compactMap { $0 }
        }
        let leader = try #require(joins.first { !$0.members.isEmpty })
        let assignments = Dictionary(uniqueKeysWithValues: leader.members.map { ($0.memberID, buf("\($0.memberID)-bytes")) })
        let syncs = await withTaskGroup(of: (Int, SyncGroupResult).self) { tg in
            for (i, j) in joins.enumerated() {
                let input = SyncGroupInput(memberID: j.memberID, groupInstanceID: members[i].groupInstanceID, generationID: j.generationID,
                                           protocolType: "consumer", protocolName: j.protocolName,
                                           assignments: j.memberID == leader.leaderID ? assignments : [:], waiter: 0)
                tg.addTask { (i, await c.sync(groupID: group, input)) }
            }
            var out = [SyncGroupResult?](repeating: nil, count: members.count)
            for await (i, r) in tg { out[i] = r }
            return out.compactMap { $0 }
        }
        return (joins, syncs)
    }
}

func joinInput(_ memberID: String = "", newID: String, instance: String? = nil, protocols: [GroupProtocol] = range,
               v4: Bool = false) -> JoinGroupInput {
    JoinGroupInput(memberID: memberID, groupInstanceID: instance, clientID: "client", clientHost: "/127.0.0.1",
                   sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, protocolType: "consumer", protocols: protocols,
                   requireKnownMemberID: v4, newMemberID: newID, waiter: 0)
}
