import KafkaProtocol
import LogStorage
import NIOCore
import Replication

/// Whether this broker's replica of a partition leads it or follows another broker.
enum ReplicaRole: Sendable {
    /// Leading: follower progress, the ISR with its pending change, and the high watermark.
    case leader(PartitionLeader)
    /// Following `leader` (-1 while the partition has none). `needsTruncation` until the log was
    /// cut back to where it agrees with the leader's (KIP-101, KIP-279).
    case follower(leader: Int32, needsTruncation: Bool)
}

/// The replication settings of one partition, from its topic's configs and the broker's.
struct ReplicationSettings: Sendable, Equatable {
    /// `min.insync.replicas`.
    var minInsyncReplicas = 1
    /// `replica.lag.time.max.ms`.
    var replicaLagTimeMaxMs: Int64 = 30_000
}

/// A client or follower asked a replica that does not lead the partition (NOT_LEADER_OR_FOLLOWER):
/// the client refreshes its metadata and goes to the leader.
struct NotLeaderError: Error, CustomStringConvertible, StorageErrorConvertible {
    var topicPartition: TopicPartition
    var kafkaErrorCode: ErrorCode { .notLeaderOrFollower }
    var description: String { "this broker does not lead \(topicPartition)" }
}

extension ReplicationError: StorageErrorConvertible {
    var kafkaErrorCode: ErrorCode {
        switch self {
        case .notEnoughReplicas: return .notEnoughReplicas
        case .notEnoughReplicasAfterAppend: return .notEnoughReplicasAfterAppend
        }
    }
}

/// A batch copied from the leader failed its CRC-32C: nothing of it is appended.
struct CorruptReplicaBatchError: Error, CustomStringConvertible, StorageErrorConvertible {
    var topicPartition: TopicPartition
    var baseOffset: Int64
    var kafkaErrorCode: ErrorCode { .corruptMessage }
    var description: String { "batch at offset \(baseOffset) of \(topicPartition) from the leader fails its CRC-32C" }
}

/// An acks=all produce waiting in the purgatory for the high watermark to pass `lastOffset`.
struct CommitWaiter {
    var id: UInt64
    var lastOffset: Int64
    var continuation: CheckedContinuation<ErrorCode, Never>
}

/// What a follower's fetch told the leader.
enum FollowerFetchOutcome: Sendable {
    /// Recorded; send this ISR expansion to the controller, if any.
    case recorded(AlterISRRequest?)
    /// The fetch cannot be served: answer with this error.
    case refused(ErrorCode)
}

/// How the metadata changed this replica's role.
enum RoleChange: Sendable, Equatable {
    case unchanged
    case becameLeader
    case becameFollower(leader: Int32)
}

/// What a follower fetches next from its leader.
struct FollowerFetchState: Sendable {
    var leader: Int32
    var leaderEpoch: Int32
    var fetchOffset: Int64
    var logStartOffset: Int64
    var needsTruncation: Bool
    /// The newest epoch in the log's epoch history, asked about before truncating.
    var latestEpoch: Int32?
}

extension Partition {
    /// Milliseconds of a monotonic clock: follower catch-up times and lag never follow wall-clock jumps.
    static func monotonicMs() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    // MARK: Role

    /// Takes the role the metadata gives this broker for the partition (Kafka's
    /// `Partition.makeLeader` / `makeFollower`, driven by partition records as in KRaft).
    ///
    /// - A new leader epoch naming this broker: it leads from its log end offset (recorded as the
    ///   start of the epoch, KIP-101), with its high watermark as it was; every follower gets a full
    ///   `replica.lag.time.max.ms` to fetch.
    /// - The same leader epoch: an ISR change the controller committed.
    /// - Another leader (or none): it follows, truncating first; acks=all produces still waiting are
    ///   answered NOT_LEADER_OR_FOLLOWER, and waiting fetches wake to learn it.
    /// - Throws: ``StorageError`` when `leader-epoch-checkpoint` cannot be written.
    func apply(_ assignment: MetadataImage.PartitionImage) throws -> RoleChange {
        guard assignment.leaderEpoch >= leaderEpoch else { return .unchanged }
        if assignment.leader == brokerID {
            if case .leader(var state) = role, state.leaderEpoch == assignment.leaderEpoch {
                let moved = state.isrCommitted(Set(assignment.isr), partitionEpoch: assignment.partitionEpoch,
                                               leaderLogEndOffset: log.logEndOffset)
                role = .leader(state)
                if moved { highWatermarkAdvanced() }
                return .unchanged
            }
            leaderEpoch = assignment.leaderEpoch
            try log.assignLeaderEpoch(assignment.leaderEpoch)
            var state = PartitionLeader(brokerID: brokerID, leaderEpoch: assignment.leaderEpoch, partitionEpoch: assignment.partitionEpoch,
                                        replicas: assignment.replicas, isr: Set(assignment.isr), logEndOffset: log.logEndOffset,
                                        highWatermark: highWatermark, nowMs: Self.monotonicMs(),
                                        replicaLagTimeMaxMs: replication.replicaLagTimeMaxMs, minISR: replication.minInsyncReplicas)
            state.leaderAppended(logEndOffset: log.logEndOffset)
            role = .leader(state)
            highWatermarkAdvanced()
            return .becameLeader
        }
        if case .follower(let current, _) = role, current == assignment.leader, leaderEpoch == assignment.leaderEpoch { return .unchanged }
        if case .leader(let state) = role {
            followerHighWatermark = state.highWatermark
            failCommitWaiters(.notLeaderOrFollower)
            wakeFetches()
        }
        leaderEpoch = assignment.leaderEpoch
        role = .follower(leader: assignment.leader, needsTruncation: true)
        return .becameFollower(leader: assignment.leader)
    }

    // MARK: Leader

    /// After an append on the leader: wakes waiting fetches and moves the high watermark (at once
    /// when the leader is the whole ISR).
    func leaderLogAdvanced() {
        wakeFollowerFetches()
        guard case .leader(var state) = role else { return }
        let moved = state.leaderAppended(logEndOffset: log.logEndOffset)
        role = .leader(state)
        if moved { highWatermarkAdvanced() }
    }

    /// Records a fetch from follower `replicaID` at `fetchOffset` (its log end offset) in
    /// `currentLeaderEpoch` (Kafka `Partition.updateFollowerFetchState`).
    func recordFollowerFetch(replicaID: Int32, fetchOffset: Int64, currentLeaderEpoch: Int32) -> FollowerFetchOutcome {
        guard case .leader(var state) = role else { return .refused(.notLeaderOrFollower) }
        let fenced = checkLeaderEpoch(currentLeaderEpoch)
        guard fenced == .none else { return .refused(fenced) }
        guard state.replicas.contains(replicaID), replicaID != brokerID else { return .refused(.notLeaderOrFollower) }
        let outcome = state.recordFetch(from: replicaID, fetchOffset: fetchOffset, leaderLogEndOffset: log.logEndOffset,
                                        nowMs: Self.monotonicMs())
        role = .leader(state)
        if outcome.highWatermarkMoved { highWatermarkAdvanced() }
        return .recorded(outcome.alterISR)
    }

    /// The ISR shrink to propose when followers lag (checked periodically by the replica manager).
    func maybeShrinkISR() -> AlterISRRequest? {
        guard case .leader(var state) = role else { return nil }
        let request = state.maybeShrinkISR(nowMs: Self.monotonicMs())
        role = .leader(state)
        return request
    }

    /// The controller answered an ISR change proposed in `leaderEpoch`: `isr` at `partitionEpoch`
    /// is committed, or (nil) the proposal failed and is tried again later.
    func isrChangeAnswered(leaderEpoch epoch: Int32, isr: [Int32]?, partitionEpoch: Int32) {
        guard case .leader(var state) = role, state.leaderEpoch == epoch else { return }
        if let isr {
            if state.isrCommitted(Set(isr), partitionEpoch: partitionEpoch, leaderLogEndOffset: log.logEndOffset) {
                role = .leader(state)
                highWatermarkAdvanced()
                return
            }
        } else {
            state.isrChangeFailed()
        }
        role = .leader(state)
    }

    /// Whether this leader's high watermark is still below the start of its epoch: it took over
    /// with the high watermark it knew as a follower, which may lag the real one until its
    /// followers fetch. Offsets looked up now could be lower than ones already handed out, so
    /// ListOffsets answers OFFSET_NOT_AVAILABLE meanwhile (retriable), as Kafka does.
    var highWatermarkBehindEpochStart: Bool {
        guard case .leader(let state) = role else { return false }
        return state.highWatermark < state.epochStartOffset
    }

    /// The committed ISR, the replicas and the leader's view of each follower (for describe and metrics).
    var replicationSnapshot: (isr: Set<Int32>, replicas: [Int32], followerLag: [Int32: Int64])? {
        guard case .leader(let state) = role else { return nil }
        let end = log.logEndOffset
        var lag: [Int32: Int64] = [:]
        for (id, progress) in state.followers { lag[id] = progress.logEndOffset < 0 ? end : max(0, end - progress.logEndOffset) }
        return (state.isr.committed, state.replicas, lag)
    }

    // MARK: The produce purgatory

    /// Waits until the high watermark passes `lastOffset` (acks=all), at most `timeout`.
    /// - Returns: NONE once committed; NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR fell below
    ///   `min.insync.replicas`; NOT_LEADER_OR_FOLLOWER when leadership moved meanwhile (the batch may
    ///   or may not survive: the producer retries, and idempotence drops a duplicate);
    ///   REQUEST_TIMED_OUT after `timeout`.
    func awaitCommit(lastOffset: Int64, timeout: Duration) async -> ErrorCode {
        if let outcome = commitOutcome(lastOffset) { return outcome }
        let id = nextCommitWaiterID
        nextCommitWaiterID &+= 1
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            if Task.isCancelled { return }
            await self?.expireCommitWaiter(id)
        }
        let code = await withCheckedContinuation { continuation in
            commitWaiters.append(CommitWaiter(id: id, lastOffset: lastOffset, continuation: continuation))
        }
        timer.cancel()
        return code
    }

    /// acks=all produces waiting for the high watermark.
    var waitingProduces: Int { commitWaiters.count }

    private func commitOutcome(_ lastOffset: Int64) -> ErrorCode? {
        guard case .leader(let state) = role else { return .notLeaderOrFollower }
        switch state.acknowledgement(forLastOffset: lastOffset) {
        case .waiting: return nil
        case .acknowledged: return ErrorCode.none
        case .failed(let error): return error.kafkaErrorCode
        }
    }

    private func expireCommitWaiter(_ id: UInt64) {
        guard let index = commitWaiters.firstIndex(where: { $0.id == id }) else { return }
        commitWaiters.remove(at: index).continuation.resume(returning: .requestTimedOut)
    }

    /// The high watermark moved: answer the produces it passed and wake consumers waiting for data.
    /// Followers learn it from their next fetch (a parked one is not woken for it: that would
    /// answer every follower once per append with nothing new).
    func highWatermarkAdvanced() {
        completeCommitWaiters()
        wakeConsumerFetches()
    }

    private func completeCommitWaiters() {
        guard !commitWaiters.isEmpty else { return }
        var still: [CommitWaiter] = []
        for waiter in commitWaiters {
            if let outcome = commitOutcome(waiter.lastOffset) {
                waiter.continuation.resume(returning: outcome)
            } else {
                still.append(waiter)
            }
        }
        commitWaiters = still
    }

    func failCommitWaiters(_ code: ErrorCode) {
        let all = commitWaiters
        commitWaiters.removeAll()
        for waiter in all { waiter.continuation.resume(returning: code) }
    }

    /// Wakes every waiting fetch, consumers' and followers'.
    func wakeFetches() {
        wakeConsumerFetches()
        wakeFollowerFetches()
    }

    /// Wakes consumer fetches: the high watermark moved (or the role changed).
    private func wakeConsumerFetches() {
        guard !waiters.isEmpty else { return }
        let signals = waiters
        waiters.removeAll()
        for s in signals { s.fire() }
    }

    /// Wakes follower fetches: the log end offset moved.
    private func wakeFollowerFetches() {
        guard !replicaWaiters.isEmpty else { return }
        let signals = replicaWaiters
        replicaWaiters.removeAll()
        for s in signals { s.fire() }
    }

    // MARK: Follower

    /// How many offsets this replica's log end is behind the high watermark it knows of: 0 on the
    /// leader, the leader's high watermark (from the last fetch) minus the log end on a follower.
    var offsetLag: Int64 {
        if isLeader { return max(0, highWatermark - log.logEndOffset) }
        return max(0, leaderHighWatermarkSeen - log.logEndOffset)
    }

    /// Where a follower fetches next, or nil when this replica leads.
    var followerFetchState: FollowerFetchState? {
        guard !closed, case .follower(let leader, let needsTruncation) = role else { return nil }
        return FollowerFetchState(leader: leader, leaderEpoch: leaderEpoch, fetchOffset: log.logEndOffset,
                                  logStartOffset: log.logStartOffset, needsTruncation: needsTruncation,
                                  latestEpoch: log.leaderEpochCache.latestEpoch)
    }

    /// Cuts the log back to where it agrees with the new leader's, from the leader's
    /// OffsetForLeaderEpoch answer for `requestedEpoch` (KIP-101, KIP-279), and starts fetching.
    /// Ignored when the leader epoch changed since the question was asked.
    /// - Parameters:
    ///   - answeredEpoch: the largest epoch at or below `requestedEpoch` the leader has (-1: none).
    ///   - leaderEndOffset: where it ends in the leader's log (-1: unknown).
    /// - Returns: the log end offset afterwards.
    /// - Throws: ``StorageError`` when truncating fails.
    @discardableResult
    func truncateToLeader(inEpoch epoch: Int32, requestedEpoch: Int32, answeredEpoch: Int32, leaderEndOffset: Int64) throws -> Int64 {
        guard !closed, case .follower(let leader, true) = role, leaderEpoch == epoch else { return log.logEndOffset }
        let followerEnd = answeredEpoch >= 0 ? log.leaderEpochCache.endOffset(for: answeredEpoch, logEndOffset: log.logEndOffset).endOffset : -1
        let target = FollowerTruncation.offset(requestedEpoch: requestedEpoch, leaderEpoch: answeredEpoch, leaderEndOffset: leaderEndOffset,
                                               followerEndOffset: followerEnd < 0 ? log.logEndOffset : followerEnd,
                                               followerLogEndOffset: log.logEndOffset, followerHighWatermark: followerHighWatermark)
        // A range that failed verification (a former leader that stepped down for it) is fetched
        // again too.
        let cut = min(target, log.firstCorruptOffset ?? target)
        if cut < log.logEndOffset {
            try log.truncate(to: cut)
            flusher.truncated(to: log.logEndOffset, handle: try? syncHandleIfSyncing())
        }
        followerHighWatermark = min(followerHighWatermark, log.logEndOffset)
        role = .follower(leader: leader, needsTruncation: false)
        return log.logEndOffset
    }

    /// The leader no longer has the records this follower needs next (its log starts later):
    /// drop the whole log and continue from the leader's log start offset (Kafka
    /// `truncateFullyAndStartAt`). Also used when the follower's log is ahead of the leader's.
    func restartFollowerLog(at offset: Int64, inEpoch epoch: Int32) throws {
        guard !closed, case .follower(let leader, _) = role, leaderEpoch == epoch else { return }
        try log.truncateFully(startingAt: offset)
        flusher.truncated(to: log.logEndOffset, handle: try? syncHandleIfSyncing())
        followerHighWatermark = min(followerHighWatermark, offset)
        role = .follower(leader: leader, needsTruncation: false)
    }

    /// Asks for another truncation round before the next fetch (the leader answered
    /// OFFSET_OUT_OF_RANGE for an offset inside its log).
    func requireTruncation(inEpoch epoch: Int32) {
        guard case .follower(let leader, _) = role, leaderEpoch == epoch else { return }
        role = .follower(leader: leader, needsTruncation: true)
    }

    /// Appends what the leader returned for this follower's fetch in `epoch`, keeping the leader's
    /// offsets and epochs; takes the leader's high watermark (bounded by the local log end) and log
    /// start offset (Kafka `Partition.appendRecordsToFollowerOrFutureReplica`).
    /// Every batch's CRC-32C is checked before anything of it is written; batches the log already
    /// holds are skipped, and a partial batch at the end (cut by the byte limit) is left for the next fetch.
    /// - Returns: bytes appended; 0 when the response is stale (the role or epoch changed meanwhile).
    /// - Throws: ``CorruptReplicaBatchError`` (the batches before it are kept) or ``StorageError``.
    @discardableResult
    func appendReplicated(_ records: ByteBuffer, inEpoch epoch: Int32, leaderHighWatermark: Int64,
                          leaderLogStartOffset: Int64) throws -> Int {
        guard !closed, case .follower(_, false) = role, leaderEpoch == epoch else { return 0 }
        var appended = 0
        var at = records.readerIndex
        let end = records.writerIndex
        while end - at >= RecordBatchHeader.size, let header = RecordBatchHeader.peek(records, at: at),
              header.totalSize >= RecordBatchHeader.size, header.totalSize <= end - at {
            defer { at += header.totalSize }
            if header.nextOffset <= log.logEndOffset { continue }
            guard header.magic == 2, RecordBatchHeader.crcMatches(records, at: at, header: header) else {
                throw CorruptReplicaBatchError(topicPartition: topicPartition, baseOffset: header.baseOffset)
            }
            try log.appendAsFollower(records.getSlice(at: at, length: header.totalSize)!, header: header)
            appended += header.totalSize
        }
        if appended > 0 {
            flusher.rolled(log.takeRolledSegmentSyncs())
            flusher.appended(through: log.logEndOffset, handle: try syncHandleIfSyncing())
            writeback.appended(bytes: appended) { try log.activeSyncHandle() }
            // A follower reports its fetch offset without waiting for the sync (see
            // docs/operations.md, "Durable acknowledgement"), but starts it at once.
            if log.config.flushOnAck { flusher.requestSync() }
        }
        if leaderHighWatermark >= 0 {
            leaderHighWatermarkSeen = leaderHighWatermark
            followerHighWatermark = min(leaderHighWatermark, log.logEndOffset)
        }
        if leaderLogStartOffset > log.logStartOffset {
            _ = try log.deleteRecords(beforeOffset: min(leaderLogStartOffset, log.logEndOffset))
        }
        return appended
    }
}
