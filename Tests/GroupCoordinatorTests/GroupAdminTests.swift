import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

// DeleteGroups, OffsetDelete, offset expiry, lag and a large load, through GroupCoordinator over
// the in-memory store. Kafka references: GroupCoordinator.scala (3.6.0) handleDeleteGroups /
// handleDeleteOffsets, GroupMetadata.scala removeExpiredOffsets / isSubscribedToTopic, and
// ClassicGroup.java offsetExpirationCondition / isSubscribedToTopic, OffsetMetadataManager.java
// cleanupExpiredOffsets.

@Suite("Group coordinator: delete, expiry, lag, load")
struct GroupAdminTests {
    @Test("DeleteGroups: NON_EMPTY_GROUP with members, GROUP_ID_NOT_FOUND unknown, offsets gone after reload")
    func deleteGroup() async throws {
        let env = await Env()
        _ = try await env.stabilize("app", [joinInput(newID: "m1")])
        #expect(await env.coordinator.deleteGroup(groupID: "app") == .nonEmptyGroup)
        #expect(await env.coordinator.deleteGroup(groupID: "nope") == .groupIDNotFound)
        #expect(await env.commit("manual", [("t", 0, 1), ("t", 1, 2)]) == [.none, .none])
        #expect(await env.coordinator.deleteGroup(groupID: "manual") == .none)
        #expect(await env.committed("manual").isEmpty)
        #expect(await env.describe("manual") == nil)
        #expect(await env.coordinator.deleteGroup(groupID: "manual") == .groupIDNotFound)

        let after = await env.restarted()
        #expect(await after.committed("manual").isEmpty)
        #expect(await after.describe("manual") == nil)
        #expect(await after.describe("app")?.state == .stable)
    }

    @Test("offsets of a group without group management expire retention after their own commit")
    func simpleGroupExpiry() async throws {
        let env = await Env()
        let shard = env.coordinator.shards[0]
        #expect(await env.commit("manual", [("t", 0, 1)]) == [.none])
        env.clock.advance(5000)
        #expect(await env.commit("manual", [("t", 1, 2)]) == [.none])
        env.clock.advance(4999)
        await shard.expireOffsets(retentionMs: 10_000)
        #expect(await env.committed("manual").count == 2)
        env.clock.advance(1)  // t-0 committed exactly 10000 ms ago: now - commit >= retention
        await shard.expireOffsets(retentionMs: 10_000)
        #expect(await env.committed("manual").keys.sorted() == [GroupTopicPartition("t", 1)])
        #expect(await env.describe("manual")?.state == .empty)
        env.clock.advance(5000)
        await shard.expireOffsets(retentionMs: 10_000)
        #expect(await env.committed("manual").isEmpty)
        #expect(await env.describe("manual") == nil, "an Empty group with no offsets left is removed")
        let after = await env.restarted()
        #expect(await after.committed("manual").isEmpty)
        #expect(await after.describe("manual") == nil)
    }

    @Test("an Empty consumer group's offsets all expire retention after it became Empty")
    func emptyConsumerGroupExpiry() async throws {
        let env = await Env()
        let shard = env.coordinator.shards[0]
        let (joins, _) = try await env.stabilize("app", [joinInput(newID: "m1")])
        #expect(await env.commit("app", member: "m1", generation: joins[0].generationID, [("orders", 0, 5), ("orders", 1, 6)]) == [.none, .none])
        env.clock.advance(60_000)  // the offsets are older than the retention; only Empty-since counts
        let (top, left) = await env.coordinator.leave(groupID: "app", members: [.init(memberID: "m1", groupInstanceID: nil)])
        #expect(top == .none && left == [.none])
        await env.coordinator.tick()
        #expect(await env.describe("app")?.state == .empty)
        env.clock.advance(9999)
        await shard.expireOffsets(retentionMs: 10_000)
        #expect(await env.committed("app").count == 2)
        env.clock.advance(1)
        await shard.expireOffsets(retentionMs: 10_000)
        #expect(await env.committed("app").isEmpty)
        #expect(await env.describe("app") == nil)
        #expect(await env.restarted().committed("app").isEmpty)
    }

    // Kafka: every expiry run moves an Empty group that has no offsets to Dead and writes its
    // tombstone, whatever the retention (GroupMetadataManager.scala 3.6.0 cleanupGroupMetadata
    // `if (group.is(Empty) && !group.hasOffsets) group.transitionTo(Dead)`; java
    // OffsetMetadataManager.cleanupExpiredOffsets returns true when the group has no offsets →
    // GroupMetadataManager.maybeDeleteGroup).
    @Test("an Empty consumer group without offsets is removed by the next expiry run")
    func emptyGroupWithoutOffsetsRemoved() async throws {
        let env = await Env()
        _ = try await env.stabilize("app", [joinInput(newID: "m1")])
        _ = await env.coordinator.leave(groupID: "app", members: [.init(memberID: "m1", groupInstanceID: nil)])
        await env.coordinator.tick()
        #expect(await env.describe("app")?.state == .empty)
        await env.coordinator.shards[0].expireOffsets(retentionMs: 7 * 24 * 3_600_000)
        let after = await env.describe("app")
        #expect(after == nil)
        #expect(await env.restarted().describe("app") == nil)
    }

    // KIP-496: in a Stable consumer group whose subscriptions are known, offsets of topics no
    // member subscribes to expire retention after their commit (GroupMetadata.scala
    // removeExpiredOffsets `case Some(CONSUMER) if subscribedTopics.isDefined && is(Stable)`;
    // ClassicGroup.java offsetExpirationCondition).
    @Test("a Stable consumer group's offsets for unsubscribed topics expire (KIP-496)")
    func stableGroupUnsubscribedTopicExpiry() async throws {
        let env = await Env()
        let (joins, _) = try await env.stabilize("app", [joinInput(newID: "m1", protocols: [proto("range", ["orders"])])])
        #expect(await env.commit("app", member: "m1", generation: joins[0].generationID, [("orders", 0, 5), ("legacy", 0, 6)]) == [.none, .none])
        for _ in 0..<4 {  // stay alive past the retention
            env.clock.advance(3000)
            #expect(await env.coordinator.heartbeat(groupID: "app", memberID: "m1", groupInstanceID: nil, generationID: 1) == .none)
            await env.coordinator.tick()
        }
        await env.coordinator.shards[0].expireOffsets(retentionMs: 10_000)
        let left = await env.committed("app").keys.sorted()
        #expect(left == [GroupTopicPartition("orders", 0)])
    }

    @Test("OffsetDelete: GROUP_SUBSCRIBED_TO_TOPIC for a topic an active consumer group subscribes to")
    func deleteOffsetsSubscribed() async throws {
        let env = await Env()
        let (joins, _) = try await env.stabilize("app", [joinInput(newID: "m1", protocols: [proto("range", ["orders"])])])
        #expect(await env.commit("app", member: "m1", generation: joins[0].generationID, [("orders", 0, 5), ("payments", 0, 6)]) == [.none, .none])
        let (top, errors) = await env.coordinator.deleteOffsets(groupID: "app", partitions: [.init("orders", 0), .init("payments", 0)])
        #expect(top == .none)
        #expect(errors == [.groupSubscribedToTopic, .none])
        #expect(await env.committed("app").keys.sorted() == [GroupTopicPartition("orders", 0)])
        #expect(await env.restarted().committed("app").keys.sorted() == [GroupTopicPartition("orders", 0)])
        let unknown = await env.coordinator.deleteOffsets(groupID: "nope", partitions: [.init("t", 0)])
        #expect(unknown.0 == .groupIDNotFound && unknown.1.isEmpty)
    }

    @Test("OffsetDelete on a non-Empty group of another protocol type is NON_EMPTY_GROUP")
    func deleteOffsetsOtherProtocolType() async throws {
        let env = await Env()
        var input = joinInput(newID: "w1")
        input.protocolType = "connect"
        _ = try await env.stabilize("connect-cluster", [input])
        let (top, errors) = await env.coordinator.deleteOffsets(groupID: "connect-cluster", partitions: [.init("t", 0)])
        #expect(top == .nonEmptyGroup && errors.isEmpty)
    }

    // Kafka: when the subscriptions cannot be parsed, a consumer group counts as subscribed to
    // every topic (ClassicGroup.java isSubscribedToTopic: `subscribedTopics.map(…)
    // .orElse(usesConsumerGroupProtocol())`; GroupMetadata.scala isSubscribedToTopic `case None =>
    // true`), so OffsetDelete answers GROUP_SUBSCRIBED_TO_TOPIC rather than deleting.
    @Test("OffsetDelete with unreadable subscriptions treats every topic as subscribed")
    func deleteOffsetsUnknownSubscriptions() async throws {
        let env = await Env()
        let garbage = [GroupProtocol(name: "range", metadata: buf([0x00]))]
        let (joins, _) = try await env.stabilize("app", [joinInput(newID: "m1", protocols: garbage)])
        #expect(await env.commit("app", member: "m1", generation: joins[0].generationID, [("orders", 0, 5)]) == [.none])
        let (top, errors) = await env.coordinator.deleteOffsets(groupID: "app", partitions: [.init("orders", 0)])
        #expect(top == .none)
        #expect(errors == [.groupSubscribedToTopic])
        #expect(await env.committed("app").count == 1)
    }

    @Test("lag = end offset - committed offset, never negative, nil when the end is unknown")
    func lag() async throws {
        let env = await Env()
        #expect(await env.commit("app", [("orders", 0, 10), ("orders", 1, 50), ("gone", 0, 5)]) == [.none, .none, .none])
        let ends: [GroupTopicPartition: Int64] = [.init("orders", 0): 25, .init("orders", 1): 40]
        let lags = await env.coordinator.lag(groupID: "app") { ends[$0] }
        #expect(lags == [
            PartitionLag(topicPartition: .init("gone", 0), committedOffset: 5, endOffset: nil, lag: nil),
            PartitionLag(topicPartition: .init("orders", 0), committedOffset: 10, endOffset: 25, lag: 15),
            PartitionLag(topicPartition: .init("orders", 1), committedOffset: 50, endOffset: 40, lag: 0),
        ])
        #expect(await env.coordinator.lag(groupID: "nobody") { _ in 1 }.isEmpty)
    }

    @Test("loading 100,000 committed offsets of a few groups in one partition keeps them all")
    func loadHundredThousandOffsets() async throws {
        let store = InMemoryOffsetsStore()
        let groups = ["g0", "g1", "g2", "g3"]
        // Hand-encoded OffsetCommitKey v1 / OffsetCommitValue v3 (layouts checked byte by byte in
        // OffsetsTopicRecordTests), written into one buffer and sliced, to keep the fixture cheap.
        let topics = (0..<25).map { Array("topic-\($0)".utf8) }
        let keySizes = topics.map { 2 + 2 + 2 + 2 + $0.count + 4 }  // version, group, topic, partition
        let valueSize = 2 + 8 + 4 + 2 + 8  // version, offset, leader epoch, metadata "", commit timestamp
        var spans: [(key: Int, value: Int, end: Int)] = []
        spans.reserveCapacity(100_000)
        var total = 0
        for i in 0..<100_000 {
            let k = total
            total += keySizes[i / 4 / 1000]
            spans.append((k, total, total + valueSize))
            total += valueSize
        }
        var raw = [UInt8](repeating: 0, count: total)
        raw.withUnsafeMutableBytes { p in
            var o = 0
            func put<T: FixedWidthInteger>(_ v: T) {
                p.storeBytes(of: v.bigEndian, toByteOffset: o, as: T.self)
                o += MemoryLayout<T>.size
            }
            for i in 0..<100_000 {
                let topic = topics[i / 4 / 1000]
                put(Int16(1)); put(Int16(2)); put(UInt8(ascii: "g")); put(UInt8(ascii: "0") + UInt8(i % 4))
                put(Int16(topic.count))
                for b in topic { put(b) }
                put(Int32(i / 4 % 1000))
                put(Int16(3)); put(Int64(i)); put(Int32(i % 7)); put(Int16(0)); put(Int64(1_700_000_000_000))
            }
            precondition(o == total)
        }
        let all = ByteBuffer(bytes: raw)
        let records = spans.map { (key: all.getSlice(at: $0.key, length: $0.value - $0.key)!,
                                   value: Optional(all.getSlice(at: $0.value, length: $0.end - $0.value)!)) }
        await store.seed(0, records)
        let env = await Env(store: store)
        for (n, g) in groups.enumerated() {
            let committed = await env.coordinator.shards[0].committedOffsets(groupID: g)
            #expect(committed.count == 25_000)
            #expect(committed[GroupTopicPartition("topic-0", 0)] == CommittedOffset(offset: Int64(n), leaderEpoch: Int32(n % 7), metadata: "",
                                                                                    commitTimestampMs: 1_700_000_000_000))
            #expect(committed[GroupTopicPartition("topic-24", 999)]?.offset == Int64(99_996 + n))
            #expect(committed.values.reduce(0) { $0 + $1.offset } == (0..<25_000).reduce(0) { $0 + Int64($1 * 4 + n) })
        }
        let sample = try await env.coordinator.fetchOffsets(groupID: "g1", partitions: [.init("topic-7", 123)]).get()
        #expect(sample.map(\.1?.offset) == [Int64(4 * 7123 + 1)])
        #expect(await env.describe("g2")?.state == .empty)
    }
}
