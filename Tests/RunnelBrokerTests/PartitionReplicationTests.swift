import KafkaProtocol
import LogStorage
import NIOCore
import Replication
import SystemPackage
import Testing

@testable import RunnelBroker

/// A leader and its followers as real `Partition` actors on disk, with fetches carried by hand:
/// the high watermark, acks=all, ISR proposals, follower appends and truncation (KIP-101).
@Suite struct PartitionReplicationTests {
    static let tp = TopicPartition("r", 0)
    static let topicID = UUIDBytes.random()

    static func assignment(leader: Int32, epoch: Int32, isr: [Int32] = [1, 2, 3], partitionEpoch: Int32 = 0) -> MetadataImage.PartitionImage {
        .init(partitionID: 0, replicas: [1, 2, 3], isr: isr, leader: leader, leaderEpoch: epoch, partitionEpoch: partitionEpoch)
    }

    static func open(_ dir: String, broker: Int32, assignment: MetadataImage.PartitionImage, minISR: Int = 1) throws -> Partition {
        try Partition(topicPartition: tp, topicID: topicID, leaderEpoch: assignment.leaderEpoch, logDirectory: FilePath("\(dir)/b\(broker)"),
                      config: LogConfig(), appendPolicy: AppendPolicy(), logger: quietLogger, brokerID: broker, assignment: assignment,
                      replication: ReplicationSettings(minInsyncReplicas: minISR, replicaLagTimeMaxMs: 60_000))
    }

    static func batch(_ values: [String], producer: Int64 = -1, sequence: Int32 = -1) -> ByteBuffer {
        var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
        builder.producerID = producer
        builder.producerEpoch = producer >= 0 ? 0 : -1
        builder.baseSequence = sequence
        for v in values { builder.append(key: nil, value: ByteBuffer(string: v)) }
        return builder.build()
    }

    /// One follower fetch: the leader records the fetch offset, the follower appends the answer.
    static func replicate(from leader: Partition, to follower: Partition, follower id: Int32) async throws {
        guard let state = await follower.followerFetchState else { return }
        _ = await leader.recordFollowerFetch(replicaID: id, fetchOffset: state.fetchOffset, currentLeaderEpoch: state.leaderEpoch)
        let read = try await leader.read(from: state.fetchOffset, maxBytes: 1 << 20, isReplica: true)
        try await follower.appendReplicated(read.records, inEpoch: state.leaderEpoch, leaderHighWatermark: read.highWatermark,
                                            leaderLogStartOffset: read.logStartOffset)
    }

    /// A follower's truncation round against `leader` (OffsetForLeaderEpoch carried by hand).
    static func truncate(_ follower: Partition, against leader: Partition) async throws {
        guard let state = await follower.followerFetchState, state.needsTruncation else { return }
        let latest = state.latestEpoch ?? -1
        let answer = await leader.endOffset(forLeaderEpoch: latest)
        try await follower.truncateToLeader(inEpoch: state.leaderEpoch, requestedEpoch: latest, answeredEpoch: answer.epoch,
                                            leaderEndOffset: answer.endOffset)
    }

    @Test func highWatermarkWaitsForTheWholeISRAndAcksAllCompletes() async throws {
        try await withTemporaryDirectory { dir async throws in
            let leader = try Self.open(dir, broker: 1, assignment: Self.assignment(leader: 1, epoch: 1))
            let f2 = try Self.open(dir, broker: 2, assignment: Self.assignment(leader: 1, epoch: 1))
            let f3 = try Self.open(dir, broker: 3, assignment: Self.assignment(leader: 1, epoch: 1))
            for f in [f2, f3] { try await Self.truncate(f, against: leader) }
            let appended = try await leader.append(Self.batch(["a", "b", "c"]), nowMs: 0, requiredAcks: -1)
            #expect(appended.baseOffset == 0 && appended.lastOffset == 2)
            #expect(await leader.highWatermark == 0)
            // Consumers see nothing above the high watermark.
            #expect(try await leader.read(from: 0, maxBytes: 1 << 20, isReplica: false).records.readableBytes == 0)
            async let ack = leader.awaitCommit(lastOffset: appended.lastOffset, timeout: .seconds(30))
            try await Self.replicate(from: leader, to: f2, follower: 2)
            try await Self.replicate(from: leader, to: f3, follower: 3)
            #expect(await f2.logEndOffset == 3)
            #expect(await f3.logEndOffset == 3)
            // The followers' next fetches report offset 3: the high watermark passes the batch.
            try await Self.replicate(from: leader, to: f2, follower: 2)
            #expect(await leader.highWatermark == 0)
            try await Self.replicate(from: leader, to: f3, follower: 3)
            #expect(await leader.highWatermark == 3)
            #expect(await ack == ErrorCode.none)
            // Followers keep the leader's offsets, epochs and bytes, and learn the high watermark.
            try await Self.replicate(from: leader, to: f2, follower: 2)
            #expect(await f2.highWatermark == 3)
            let leaderBytes = try await leader.read(from: 0, maxBytes: 1 << 20, isReplica: true).records
            #expect(try await f2.read(from: 0, maxBytes: 1 << 20, isReplica: true, requireLeader: false).records == leaderBytes)
            let epochEnd = await f2.endOffset(forLeaderEpoch: 1)
            #expect(epochEnd.epoch == 1 && epochEnd.endOffset == 3)
            for p in [leader, f2, f3] { await p.close() }
        }
    }

    @Test func acksAllIsRefusedBelowMinISRAndTimesOutOrFailsOnLeadershipLoss() async throws {
        try await withTemporaryDirectory { dir async throws in
            let leader = try Self.open(dir, broker: 1, assignment: Self.assignment(leader: 1, epoch: 1, isr: [1]), minISR: 2)
            // NOT_ENOUGH_REPLICAS before anything is written; acks=1 is still accepted.
            await #expect(throws: ReplicationError.notEnoughReplicas(isr: 1, minISR: 2)) {
                try await leader.append(Self.batch(["x"]), nowMs: 0, requiredAcks: -1)
            }
            #expect(await leader.logEndOffset == 0)
            _ = try await leader.append(Self.batch(["x"]), nowMs: 0, requiredAcks: 1)
            #expect(await leader.logEndOffset == 1)

            // ISR of three: a follower that never fetches holds the high watermark; the produce times out.
            let other = try Self.open(dir, broker: 2, assignment: Self.assignment(leader: 2, epoch: 4))
            let appended = try await other.append(Self.batch(["y"]), nowMs: 0, requiredAcks: -1)
            #expect(await other.awaitCommit(lastOffset: appended.lastOffset, timeout: .milliseconds(50)) == .requestTimedOut)
            // Leadership moves while a produce waits: NOT_LEADER_OR_FOLLOWER, and appends are refused.
            async let waiting = other.awaitCommit(lastOffset: appended.lastOffset, timeout: .seconds(30))
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await other.apply(Self.assignment(leader: 3, epoch: 5)) == .becameFollower(leader: 3))
            #expect(await waiting == .notLeaderOrFollower)
            await #expect(throws: NotLeaderError.self) { try await other.append(Self.batch(["z"]), nowMs: 0) }
            #expect(await other.checkLeaderEpoch(-1) == .notLeaderOrFollower)
            // A stale assignment (older leader epoch) changes nothing.
            #expect(try await other.apply(Self.assignment(leader: 2, epoch: 4)) == .unchanged)
            await leader.close()
            await other.close()
        }
    }

    @Test func aCaughtUpFollowerIsProposedForTheISRAndFencedEpochsAreRefused() async throws {
        try await withTemporaryDirectory { dir async throws in
            let leader = try Self.open(dir, broker: 1, assignment: Self.assignment(leader: 1, epoch: 2, isr: [1, 2]))
            _ = try await leader.append(Self.batch(["a"]), nowMs: 0)
            _ = await leader.recordFollowerFetch(replicaID: 2, fetchOffset: 1, currentLeaderEpoch: 2)
            #expect(await leader.highWatermark == 1)
            // Broker 3 is outside the ISR: behind the high watermark it is not proposed.
            let early = await leader.recordFollowerFetch(replicaID: 3, fetchOffset: 0, currentLeaderEpoch: 2)
            guard case .recorded(let proposal) = early, proposal == nil else {
                Issue.record("a lagging follower was proposed: \(early)")
                return
            }
            guard case .recorded(let expansion?) = await leader.recordFollowerFetch(replicaID: 3, fetchOffset: 1, currentLeaderEpoch: 2) else {
                Issue.record("a caught-up follower was not proposed")
                return
            }
            #expect(expansion.newISR == [1, 2, 3] && expansion.leaderEpoch == 2 && expansion.partitionEpoch == 0)
            // The controller commits it (partition epoch 1).
            await leader.isrChangeAnswered(leaderEpoch: 2, isr: [1, 2, 3], partitionEpoch: 1)
            #expect(await leader.replicationSnapshot?.isr == [1, 2, 3])
            // Fencing: an older epoch is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH, a
            // broker outside the replicas NOT_LEADER_OR_FOLLOWER.
            guard case .refused(.fencedLeaderEpoch) = await leader.recordFollowerFetch(replicaID: 2, fetchOffset: 1, currentLeaderEpoch: 1),
                  case .refused(.unknownLeaderEpoch) = await leader.recordFollowerFetch(replicaID: 2, fetchOffset: 1, currentLeaderEpoch: 3),
                  case .refused(.notLeaderOrFollower) = await leader.recordFollowerFetch(replicaID: 9, fetchOffset: 1, currentLeaderEpoch: 2)
            else {
                Issue.record("a follower fetch with a wrong epoch or id was not refused")
                return
            }
            await leader.close()
        }
    }

    @Test func aFormerLeaderTruncatesItsUnreplicatedTailToTheNewLeader() async throws {
        try await withTemporaryDirectory { dir async throws in
            // Broker 1 leads epoch 1 and writes 2 batches; only the first reaches broker 2.
            let old = try Self.open(dir, broker: 1, assignment: Self.assignment(leader: 1, epoch: 1, isr: [1, 2]))
            let next = try Self.open(dir, broker: 2, assignment: Self.assignment(leader: 1, epoch: 1, isr: [1, 2]))
            try await Self.truncate(next, against: old)
            _ = try await old.append(Self.batch(["a", "b"]), nowMs: 0)
            try await Self.replicate(from: old, to: next, follower: 2)
            _ = try await old.append(Self.batch(["lost"]), nowMs: 0)
            #expect(await old.logEndOffset == 3)
            #expect(await next.logEndOffset == 2)
            // Broker 1 is fenced; broker 2 leads epoch 2 and appends its own batch.
            #expect(try await next.apply(Self.assignment(leader: 2, epoch: 2, isr: [1, 2])) == .becameLeader)
            // Its high watermark (0, what it knew as a follower) is below the start of its epoch (2)
            // until its follower fetches: ListOffsets answers OFFSET_NOT_AVAILABLE meanwhile.
            #expect(await next.highWatermarkBehindEpochStart)
            _ = try await next.append(Self.batch(["c", "d"]), nowMs: 0)
            #expect(try await old.apply(Self.assignment(leader: 2, epoch: 2, isr: [1, 2])) == .becameFollower(leader: 2))
            // The old leader asks where its epoch 1 ends on the new leader (offset 2) and cuts there.
            try await Self.truncate(old, against: next)
            #expect(await old.logEndOffset == 2)
            try await Self.replicate(from: next, to: old, follower: 1)
            #expect(await old.logEndOffset == 4)
            #expect(await next.highWatermark == 2)
            #expect(await !next.highWatermarkBehindEpochStart)
            let a = try await next.read(from: 0, maxBytes: 1 << 20, isReplica: true).records
            let b = try await old.read(from: 0, maxBytes: 1 << 20, isReplica: true, requireLeader: false).records
            #expect(a == b)
            await old.close()
            await next.close()
        }
    }

    @Test func idempotentProducerStateFollowsTheLogToTheNewLeader() async throws {
        try await withTemporaryDirectory { dir async throws in
            let leader = try Self.open(dir, broker: 1, assignment: Self.assignment(leader: 1, epoch: 1, isr: [1, 2]))
            let follower = try Self.open(dir, broker: 2, assignment: Self.assignment(leader: 1, epoch: 1, isr: [1, 2]))
            try await Self.truncate(follower, against: leader)
            let batch = Self.batch(["p0", "p1"], producer: 77, sequence: 0)
            let first = try await leader.append(batch, nowMs: 0)
            try await Self.replicate(from: leader, to: follower, follower: 2)
            #expect(try await follower.apply(Self.assignment(leader: 2, epoch: 2, isr: [2])) == .becameLeader)
            // The producer retries the batch against the new leader: answered with the original offsets.
            let retry = try await follower.append(batch, nowMs: 0)
            #expect(retry.baseOffset == first.baseOffset && retry.lastOffset == first.lastOffset)
            #expect(await follower.logEndOffset == 2)
            await leader.close()
            await follower.close()
        }
    }

    @Test func aCorruptBatchFromTheLeaderIsNotAppended() async throws {
        try await withTemporaryDirectory { dir async throws in
            let leader = try Self.open(dir, broker: 1, assignment: Self.assignment(leader: 1, epoch: 1, isr: [1, 2]))
            let follower = try Self.open(dir, broker: 2, assignment: Self.assignment(leader: 1, epoch: 1, isr: [1, 2]))
            try await Self.truncate(follower, against: leader)
            _ = try await leader.append(Self.batch(["good"]), nowMs: 0)
            _ = try await leader.append(Self.batch(["flipped"]), nowMs: 0)
            var bytes = try await leader.read(from: 0, maxBytes: 1 << 20, isReplica: true).records
            // Flip one bit in the second batch's last byte.
            let last = bytes.writerIndex - 1
            bytes.setInteger(bytes.getInteger(at: last, as: UInt8.self)! ^ 0x01, at: last)
            await #expect(throws: CorruptReplicaBatchError.self) {
                try await follower.appendReplicated(bytes, inEpoch: 1, leaderHighWatermark: 0, leaderLogStartOffset: 0)
            }
            // The good batch before it is kept; nothing of the flipped one.
            #expect(await follower.logEndOffset == 1)
            await leader.close()
            await follower.close()
        }
    }
}
