import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// What the shard does when requests are held, connections go away, the broker stops, stores
/// fail or race, and records carry hostile values.
@Suite("Group shard: held requests, shutdown, races, hostile records")
struct GroupShardRobustnessTests {
    @Test("shutdown answers a held JoinGroup and every later request with NOT_COORDINATOR")
    func shutdownAnswersHeldJoins() async throws {
        let env = await Env()
        let c = env.coordinator
        // The initial rebalance delay (3 s on the manual clock, which does not move) holds the join.
        async let held = c.join(groupID: "g", joinInput(newID: "m1"))
        try await eventually("the member waits in JoinGroup") { await env.describe("g")?.members.count == 1 }
        await c.shutdown()
        #expect(await held.errorCode == .notCoordinator)
        #expect(await c.join(groupID: "g", joinInput(newID: "m2")).errorCode == .notCoordinator)
        #expect(await c.heartbeat(groupID: "g", memberID: "m1", groupInstanceID: nil, generationID: 0) == .notCoordinator)
    }

    @Test("a cancelled held JoinGroup returns at once; the group completes later without it")
    func cancelledJoin() async throws {
        let env = await Env()
        let c = env.coordinator
        let task = Task { await c.join(groupID: "g", joinInput(newID: "m1")) }
        try await eventually("the member waits in JoinGroup") { await env.describe("g")?.members.count == 1 }
        task.cancel()
        #expect(await task.value.errorCode == .notCoordinator)
        // The group still completes its rebalance; the answer for the gone request is dropped.
        env.clock.advance(3000)
        await c.tick()
        #expect(await env.describe("g")?.state == .completingRebalance)
        #expect(await c.shard(for: "g").pendingSyncWaiters() == 0)
    }

    // Kafka's handleDeleteGroups removes the group before writing its tombstones.
    @Test("a JoinGroup arriving while DeleteGroups writes starts a new group and is answered")
    func joinDuringDelete() async throws {
        let env = await Env()
        let c = env.coordinator
        #expect(await env.commit("g", [("t", 0, 5)]) == [.none])
        await env.store.holdAppends()
        let deleting = Task { await c.deleteGroup(groupID: "g") }
        try await eventually("the tombstones are being written") { await env.store.appendsStarted == 2 }
        let joining = Task { await c.join(groupID: "g", joinInput(newID: "m1")) }
        try await eventually("the new member waits in JoinGroup") { await env.describe("g")?.members.count == 1 }
        await env.store.releaseAppends()
        #expect(await deleting.value == .none)
        env.clock.advance(3000)
        await c.tick()
        let joined = await joining.value
        #expect(joined.errorCode == .none && joined.generationID == 1)
        #expect(await env.committed("g").isEmpty)
    }

    // Kafka's handleSyncGroup: "older clients do not expect" COORDINATOR_LOAD_IN_PROGRESS.
    @Test("a SyncGroup while the partition loads gets REBALANCE_IN_PROGRESS")
    func syncWhileLoading() async throws {
        let store = InMemoryOffsetsStore(holdReads: true)
        let c = GroupCoordinator(partitionCount: 1, store: store, limits: .test(), logger: .init(label: "test"), clock: ManualClock().source)
        let loading = Task { await c.load(partitions: [0]) }
        try await eventually("the load started reading") { await store.readsStarted > 0 }
        let sync = await c.sync(groupID: "g", SyncGroupInput(memberID: "m", groupInstanceID: nil, generationID: 1, protocolType: nil,
                                                             protocolName: nil, assignments: [:], waiter: 0))
        #expect(sync.errorCode == .rebalanceInProgress)
        await store.releaseReads()
        await loading.value
    }

    @Test("a partition whose load fails answers COORDINATOR_LOAD_IN_PROGRESS and is loaded by a retry")
    func loadRetry() async throws {
        let store = InMemoryOffsetsStore()
        await store.seed(0, [OffsetsTopicRecord.offsetCommit(group: "g", topic: "t", partition: 0,
                                                             value: .init(offset: 9, leaderEpoch: -1, metadata: "", commitTimestampMs: 1)).encode()])
        await store.failNextReads(1)
        let c = GroupCoordinator(partitionCount: 1, store: store, limits: .test(), logger: .init(label: "test"), clock: ManualClock().source)
        await c.beginLoading(partitions: [0])
        let loading = Task { await c.load(partitions: [0]) }
        try await eventually("the first read failed") { await store.readsStarted >= 1 }
        let whileRetrying = await c.isReady(groupID: "g")
        #expect(whileRetrying == .coordinatorLoadInProgress)
        await loading.value  // the retry comes after a 1 s pause
        #expect(await c.isReady(groupID: "g") == nil)
        #expect(try await c.fetchOffsets(groupID: "g", partitions: nil).get().map(\.1?.offset) == [9])
    }

    @Test("expiry copes with commit timestamps at the ends of Int64")
    func extremeTimestamps() async throws {
        let store = InMemoryOffsetsStore()
        for (p, ts) in [(Int32(0), Int64.max), (1, Int64.min)] {
            await store.seed(0, [OffsetsTopicRecord.offsetCommit(group: "g", topic: "t", partition: p,
                                                                 value: .init(offset: 1, leaderEpoch: -1, metadata: "", commitTimestampMs: ts)).encode()])
        }
        let env = await Env(store: store)
        await env.coordinator.shards[0].expireOffsets(retentionMs: 7 * 24 * 3_600_000)
        // The far-past commit expires; the far-future one stays.
        #expect(await env.committed("g").keys.sorted() == [GroupTopicPartition("t", 0)])
    }
}
