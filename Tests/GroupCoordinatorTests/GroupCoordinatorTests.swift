import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

// GroupCoordinator + GroupShard over an in-memory __consumer_offsets: commits, loading, restart
// and a full rebalance through the public async API. Kafka references: GroupCoordinator.scala
// (3.6.0) handleCommitOffsets / handleFetchOffsets / validateGroupStatus / handleHeartbeat /
// handleLeaveGroup, GroupMetadataManager.scala storeOffsets, GroupCoordinatorService.java.

@Suite("Group coordinator: offsets, loading, restart")
struct GroupCoordinatorTests {
    @Test("commit then fetch: offset, leader epoch and metadata round trip; nil metadata is \"\"")
    func commitThenFetch() async throws {
        let env = await Env()
        let errors = await env.coordinator.commitOffsets(
            groupID: "manual", memberID: "", groupInstanceID: nil, generationID: -1,
            offsets: [OffsetCommitInput(topicPartition: .init("orders", 0), offset: 10, leaderEpoch: 3, metadata: "m"),
                      OffsetCommitInput(topicPartition: .init("orders", 1), offset: 20, leaderEpoch: -1, metadata: nil)])
        #expect(errors == [.none, .none])
        let wall = env.clock.now.wallMs
        let all = try await env.coordinator.fetchOffsets(groupID: "manual", partitions: nil).get()
        #expect(all.map(\.0) == [GroupTopicPartition("orders", 0), GroupTopicPartition("orders", 1)])
        #expect(all.map(\.1) == [CommittedOffset(offset: 10, leaderEpoch: 3, metadata: "m", commitTimestampMs: wall),
                                 CommittedOffset(offset: 20, leaderEpoch: -1, metadata: "", commitTimestampMs: wall)])
        let some = try await env.coordinator.fetchOffsets(groupID: "manual", partitions: [.init("orders", 1), .init("other", 0)]).get()
        #expect(some.map(\.1?.offset) == [20, nil])
        #expect(try await env.store.decoded() == [
            .offsetCommit(group: "manual", topic: "orders", partition: 0, value: all[0].1),
            .offsetCommit(group: "manual", topic: "orders", partition: 1, value: all[1].1),
        ])
        // A simple commit created an Empty group ([brief] §6.2).
        #expect(await env.describe("manual")?.state == .empty)
    }

    @Test("OFFSET_METADATA_TOO_LARGE per partition over offset.metadata.max.bytes")
    func metadataTooLarge() async throws {
        var limits = GroupLimits.test()
        limits.maxOffsetMetadataBytes = 10
        let env = await Env(limits: limits)
        let errors = await env.coordinator.commitOffsets(
            groupID: "g", memberID: "", groupInstanceID: nil, generationID: -1,
            offsets: [OffsetCommitInput(topicPartition: .init("t", 0), offset: 1, leaderEpoch: -1, metadata: "0123456789"),
                      OffsetCommitInput(topicPartition: .init("t", 1), offset: 2, leaderEpoch: -1, metadata: "0123456789X")])
        #expect(errors == [.none, .offsetMetadataTooLarge])
        #expect(await env.committed("g").keys.sorted() == [GroupTopicPartition("t", 0)])
    }

    // Kafka measures the metadata with Java's String.length(), i.e. UTF-16 code units:
    // GroupMetadataManager.scala validateOffsetMetadataLength `metadata.length() <= maxMetadataSize`,
    // OffsetMetadataManager.java `metadata.length() > config.offsetMetadataMaxSize()`.
    @Test("the metadata limit counts UTF-16 code units, as Java's String.length()")
    func metadataLimitCountsUTF16() async throws {
        var limits = GroupLimits.test()
        limits.maxOffsetMetadataBytes = 10
        let env = await Env(limits: limits)
        let tenAccents = String(repeating: "é", count: 10)  // 10 UTF-16 units, 20 UTF-8 bytes
        let atLimit = await env.commit("g", [("t", 0, 1)], metadata: tenAccents)
        #expect(atLimit == [.none])
        let overLimit = await env.commit("g", [("t", 1, 1)], metadata: tenAccents + "é")
        #expect(overLimit == [.offsetMetadataTooLarge])
    }

    @Test("a failing append answers the commit with the store's error and commits nothing",
          arguments: [(OffsetsTopicStoreError(errorCode: .notCoordinator, description: "gone") as any Error, ErrorCode.notCoordinator),
                      (CancellationError() as any Error, ErrorCode.coordinatorNotAvailable)])
    func failingAppend(_ error: any Error, _ expected: ErrorCode) async throws {
        let env = await Env()
        await env.store.setAppendError(error)
        #expect(await env.commit("g", [("t", 0, 5), ("t", 1, 6)]) == [expected, expected])
        #expect(await env.committed("g").isEmpty)
        await env.store.setAppendError(nil)
        #expect(await env.commit("g", [("t", 0, 7)]) == [.none])
        #expect(await env.committed("g")[GroupTopicPartition("t", 0)]?.offset == 7)
    }

    @Test("three members join and sync concurrently through GroupCoordinator (async let)")
    func concurrentJoinSyncRoundTrip() async throws {
        let env = await Env()
        let c = env.coordinator
        async let j1 = c.join(groupID: "app", joinInput(newID: "m1"))
        async let j2 = c.join(groupID: "app", joinInput(newID: "m2"))
        async let j3 = c.join(groupID: "app", joinInput(newID: "m3"))
        try await eventually("three members in the group") { await env.describe("app")?.members.count == 3 }
        #expect(await env.describe("app")?.state == .preparingRebalance)
        env.clock.advance(3000)
        await c.tick()  // members arrived during the delay: extended once
        env.clock.advance(3000)
        await c.tick()
        let joins = await [j1, j2, j3]
        #expect(joins.allSatisfy { $0.errorCode == .none && $0.generationID == 1 && $0.protocolName == "range" })
        #expect(Set(joins.map(\.leaderID)).count == 1)
        let leader = try #require(joins.first { !$0.members.isEmpty })
        #expect(joins.filter { !$0.members.isEmpty }.count == 1)
        #expect(leader.memberID == leader.leaderID)
        #expect(Set(leader.members.map(\.memberID)) == ["m1", "m2", "m3"])

        func sync(_ j: JoinGroupResult, _ assignments: [String: ByteBuffer] = [:]) async -> SyncGroupResult {
            await c.sync(groupID: "app", SyncGroupInput(memberID: j.memberID, groupInstanceID: nil, generationID: j.generationID,
                                                        protocolType: "consumer", protocolName: "range",
                                                        assignments: assignments, waiter: 0))
        }
        let followers = joins.filter { $0.memberID != leader.memberID }
        async let f1 = sync(followers[0])
        async let f2 = sync(followers[1])
        try await eventually("followers wait in SyncGroup") { await c.shard(for: "app").pendingSyncWaiters() == 2 }
        let l = await sync(leader, ["m1": buf("one"), "m2": buf("two"), "m3": buf("three")])
        let syncs = await [l, f1, f2]
        #expect(syncs.allSatisfy { $0.errorCode == .none })
        let bytes = ["m1": buf("one"), "m2": buf("two"), "m3": buf("three")]
        #expect(syncs.map(\.assignment) == [leader, followers[0], followers[1]].map { bytes[$0.memberID]! })
        #expect(await env.describe("app")?.state == .stable)
        #expect(await c.heartbeat(groupID: "app", memberID: "m2", groupInstanceID: nil, generationID: 1) == .none)
        // The group's metadata record reached the log before the answers.
        #expect(try await env.store.decoded().contains { if case .groupMetadata("app", let v?) = $0 { return v.generationID == 1 && v.members.count == 3 } else { return false } })
    }

    // Kafka: when the leader's group metadata cannot be stored, every held SyncGroup gets the
    // (mapped) append error and the group rebalances (GroupCoordinator.scala 3.6.0 doSyncGroup →
    // resetAndPropagateAssignmentError + maybePrepareRebalance; java classicGroupSyncToClassicGroup
    // with appendGroupMetadataErrorToResponseError: NOT_COORDINATOR stays NOT_COORDINATOR).
    @Test("a failed group store answers every SyncGroup with the error and rebalances")
    func failedGroupStore() async throws {
        let env = await Env()
        let c = env.coordinator
        async let j1 = c.join(groupID: "app", joinInput(newID: "m1"))
        async let j2 = c.join(groupID: "app", joinInput(newID: "m2"))
        try await eventually("two members in the group") { await env.describe("app")?.members.count == 2 }
        for _ in 0..<3 { env.clock.advance(3000); await c.tick() }
        let joins = await [j1, j2]
        let leader = try #require(joins.first { !$0.members.isEmpty })
        let follower = try #require(joins.first { $0.members.isEmpty })
        await env.store.setAppendError(OffsetsTopicStoreError(errorCode: .notCoordinator, description: "not leader"))
        func sync(_ j: JoinGroupResult, _ a: [String: ByteBuffer]) async -> SyncGroupResult {
            await c.sync(groupID: "app", SyncGroupInput(memberID: j.memberID, groupInstanceID: nil, generationID: j.generationID,
                                                        protocolType: nil, protocolName: nil, assignments: a, waiter: 0))
        }
        async let f = sync(follower, [:])
        try await eventually("the follower waits in SyncGroup") { await c.shard(for: "app").pendingSyncWaiters() == 1 }
        let l = await sync(leader, [leader.memberID: buf("l"), follower.memberID: buf("f")])
        let fr = await f
        #expect(l.errorCode == .notCoordinator && l.assignment.readableBytes == 0)
        #expect(fr.errorCode == .notCoordinator && fr.assignment.readableBytes == 0)
        // Kafka's handleSyncGroup: resetAndPropagateAssignmentError, then maybePrepareRebalance.
        #expect(await env.describe("app")?.state == .preparingRebalance)
    }

    @Test("a restarted coordinator loads the same offsets and groups, with tombstones applied")
    func restart() async throws {
        let env = await Env()
        let (joins, syncs) = try await env.stabilize("app", [joinInput(newID: "inst-1-a", instance: "inst-1"), joinInput(newID: "d-1")])
        #expect(syncs.allSatisfy { $0.errorCode == .none })
        let member = joins[1].memberID
        #expect(await env.commit("app", member: member, generation: 1, [("orders", 0, 5), ("orders", 1, 7)]) == [.none, .none])
        #expect(await env.commit("app", member: member, generation: 1, [("orders", 0, 6)]) == [.none])
        #expect(await env.commit("manual", [("t", 0, 100), ("t", 1, 200)]) == [.none, .none])
        let (top, perPartition) = await env.coordinator.deleteOffsets(groupID: "manual", partitions: [.init("t", 1)])
        #expect(top == .none && perPartition == [.none])

        let after = await env.restarted()
        #expect(await after.committed("app").mapValues(\.offset) == [.init("orders", 0): 6, .init("orders", 1): 7])
        #expect(await after.committed("manual").mapValues(\.offset) == [.init("t", 0): 100])
        let app = try #require(await after.describe("app"))
        #expect(app.state == .stable && app.generationID == 1 && app.protocolName == "range")
        let restored = Dictionary(uniqueKeysWithValues: app.members.map { ($0.memberID, $0) })  // join order is concurrent
        #expect(restored.keys.sorted() == ["d-1", "inst-1-a"])
        #expect(restored["inst-1-a"]?.groupInstanceID == "inst-1" && restored["d-1"]?.groupInstanceID == nil)
        #expect(restored["inst-1-a"]?.assignment == buf("inst-1-a-bytes"))
        #expect(restored["d-1"]?.assignment == buf("d-1-bytes"))
        // The static member comes back with a new id and no rebalance (KIP-345).
        let rejoin = await after.coordinator.join(groupID: "app", joinInput(newID: "inst-1-b", instance: "inst-1"))
        #expect(rejoin.errorCode == .none && rejoin.generationID == 1 && rejoin.memberID == "inst-1-b")
        #expect(await after.describe("app")?.state == .stable)
    }

    @Test("while a partition loads, requests get COORDINATOR_LOAD_IN_PROGRESS")
    func loadInProgress() async throws {
        let store = InMemoryOffsetsStore()
        await store.seed(0, [OffsetsTopicRecord.offsetCommit(group: "g", topic: "t", partition: 0,
                                                             value: .init(offset: 9, leaderEpoch: -1, metadata: "", commitTimestampMs: 1)).encode()])
        let clock = ManualClock()
        let c = GroupCoordinator(partitionCount: 1, store: store, limits: .test(), logger: .init(label: "test"), clock: clock.source)
        #expect(await c.isReady(groupID: "g") == .notCoordinator)
        await store.holdReads()
        let loading = Task { await c.load(partitions: [0]) }
        try await eventually("the load started reading") { await store.readsStarted > 0 }
        #expect(await c.isReady(groupID: "g") == .coordinatorLoadInProgress)
        #expect(await c.join(groupID: "g", joinInput(newID: "x")).errorCode == .coordinatorLoadInProgress)
        #expect(await c.commitOffsets(groupID: "g", memberID: "", groupInstanceID: nil, generationID: -1,
                                      offsets: [.init(topicPartition: .init("t", 0), offset: 1, leaderEpoch: -1, metadata: nil)])
                == [.coordinatorLoadInProgress])
        #expect(await c.fetchOffsets(groupID: "g", partitions: nil).map(\.count) == .failure(GroupCoordinatorError(.coordinatorLoadInProgress)))
        await store.releaseReads()
        await loading.value
        #expect(await c.isReady(groupID: "g") == nil)
        #expect(try await c.fetchOffsets(groupID: "g", partitions: nil).get().map(\.1?.offset) == [9])
    }

    // Kafka answers a Heartbeat for a loading group with NONE ("the group is still loading, so
    // respond just blindly": GroupCoordinator.scala 3.6.0 handleHeartbeat,
    // GroupCoordinatorService.java heartbeat). The Java consumer treats any other unexpected code in
    // a heartbeat response as fatal ("Unexpected error in heartbeat response").
    @Test("a Heartbeat while the partition loads is answered NONE")
    func heartbeatWhileLoading() async throws {
        let store = InMemoryOffsetsStore(holdReads: true)
        let c = GroupCoordinator(partitionCount: 1, store: store, limits: .test(), logger: .init(label: "test"), clock: ManualClock().source)
        let loading = Task { await c.load(partitions: [0]) }
        try await eventually("the load started reading") { await store.readsStarted > 0 }
        let heartbeat = await c.heartbeat(groupID: "g", memberID: "m", groupInstanceID: nil, generationID: 1)
        #expect(heartbeat == .none)
        await store.releaseReads()
        await loading.value
    }

    @Test("a partition this coordinator has not loaded answers NOT_COORDINATOR")
    func notLoadedShard() async throws {
        let env = await Env(partitions: 2, load: [0])
        let c = env.coordinator
        #expect(c.partition(for: "a") == 1 && c.partition(for: "hello") == 0)  // 97 % 2, 99162322 % 2
        #expect(await c.join(groupID: "a", joinInput(newID: "x")).errorCode == .notCoordinator)
        #expect(await c.heartbeat(groupID: "a", memberID: "x", groupInstanceID: nil, generationID: 1) == .notCoordinator)
        #expect(await env.commit("a", [("t", 0, 1)]) == [.notCoordinator])
        #expect(await c.fetchOffsets(groupID: "a", partitions: nil).map(\.count) == .failure(GroupCoordinatorError(.notCoordinator)))
        #expect(await c.isReady(groupID: "a") == .notCoordinator)
        #expect(await env.commit("hello", [("t", 0, 1)]) == [.none])
    }

    // Kafka: LeaveGroup for a group the coordinator does not have → top-level NONE with
    // UNKNOWN_MEMBER_ID per member (GroupCoordinator.scala 3.6.0 handleLeaveGroup `case None =>
    // leaveError(Errors.NONE, … UNKNOWN_MEMBER_ID)`; GroupCoordinatorService.java leaveGroup).
    @Test("LeaveGroup for an unknown group: top-level NONE, UNKNOWN_MEMBER_ID per member")
    func leaveUnknownGroup() async {
        let env = await Env()
        let (top, members) = await env.coordinator.leave(groupID: "nobody-here", members: [
            .init(memberID: "m1", groupInstanceID: nil), .init(memberID: "", groupInstanceID: "i1"),
        ])
        #expect(top == .none)
        #expect(members == [.unknownMemberID, .unknownMemberID])
    }
}

extension GroupShard {
    /// Followers currently held in SyncGroup, across this shard's groups.
    func pendingSyncWaiters() -> Int {
        groups.values.reduce(0) { $0 + $1.members.values.filter(\.isAwaitingSync).count }
    }
}
