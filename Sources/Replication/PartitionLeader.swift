/// An ISR change a leader asks the controller for (AlterPartition, KIP-497): the whole new ISR,
/// with the epochs the controller checks it against.
public struct AlterISRRequest: Sendable, Equatable {
    public var leaderEpoch: Int32
    /// The partition epoch the proposal is based on; the controller refuses a stale one.
    public var partitionEpoch: Int32
    public var newISR: Set<Int32>

    public init(leaderEpoch: Int32, partitionEpoch: Int32, newISR: Set<Int32>) {
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
        self.newISR = newISR
    }
}

/// Where an acks=all produce stands.
public enum AckState: Sendable, Equatable {
    /// The high watermark has not passed the batch yet.
    case waiting
    /// Committed on the ISR: answer NONE.
    case acknowledged
    /// Answer with this error.
    case failed(ReplicationError)
}

/// Why a produce with acks=all is refused or fails after the append.
public enum ReplicationError: Error, Sendable, Equatable {
    /// NOT_ENOUGH_REPLICAS (19): fewer in-sync replicas than `min.insync.replicas`; nothing written.
    case notEnoughReplicas(isr: Int, minISR: Int)
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND (20): written, but the ISR shrank below the minimum before
    /// the high watermark passed it.
    case notEnoughReplicasAfterAppend(isr: Int, minISR: Int)
}

/// The leader's side of one partition's replication, as a value type with no I/O and no clock:
/// follower progress, the ISR with its pending change, and the high watermark (Kafka
/// `Partition` and `Replica`, KIP-101, KIP-497).
///
/// Rules:
/// - The high watermark is the smallest log end offset over the maximal ISR (the leader's own
///   included) and never goes back.
/// - A follower leaves the ISR when it has not been caught up for `replicaLagTimeMaxMs`.
/// - A follower joins the ISR when its log end offset reaches the high watermark and the start of
///   this leader's epoch (so it holds everything this leader may have acknowledged).
/// - acks=all needs `minISR` members in the committed ISR before the append, and is answered once
///   the high watermark passes the batch.
public struct PartitionLeader: Sendable {
    public let brokerID: Int32
    public let leaderEpoch: Int32
    public private(set) var partitionEpoch: Int32
    public let replicas: [Int32]
    public private(set) var isr: ISRState
    public private(set) var highWatermark: Int64
    /// The leader's log end offset when it took over: the first offset of its epoch.
    public let epochStartOffset: Int64
    public private(set) var followers: [Int32: FollowerProgress] = [:]
    public var replicaLagTimeMaxMs: Int64
    public var minISR: Int

    /// Becomes leader for `leaderEpoch` (LeaderAndIsr, or a PartitionChangeRecord naming this broker).
    /// - Parameters:
    ///   - logEndOffset: the leader's log end offset now (the start of its epoch).
    ///   - highWatermark: the high watermark it had as a follower (it may be behind; it only grows).
    ///   - nowMs: the time, which every ISR member's catch-up clock starts from.
    public init(brokerID: Int32, leaderEpoch: Int32, partitionEpoch: Int32, replicas: [Int32], isr: Set<Int32>,
                logEndOffset: Int64, highWatermark: Int64, nowMs: Int64, replicaLagTimeMaxMs: Int64 = 30_000, minISR: Int = 1) {
        self.brokerID = brokerID
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
        self.replicas = replicas
        self.isr = ISRState(committed: isr)
        self.highWatermark = min(highWatermark, logEndOffset)
        self.epochStartOffset = logEndOffset
        self.replicaLagTimeMaxMs = replicaLagTimeMaxMs
        self.minISR = minISR
        for r in replicas where r != brokerID { followers[r] = FollowerProgress(nowMs: nowMs) }
    }

    /// Refuses acks=all when the committed ISR is below `minISR` (checked before the append).
    public func checkEnoughReplicas() throws(ReplicationError) {
        if isr.committed.count < minISR { throw .notEnoughReplicas(isr: isr.committed.count, minISR: minISR) }
    }

    /// Where an acks=all append whose last offset is `lastOffset` stands.
    public func acknowledgement(forLastOffset lastOffset: Int64) -> AckState {
        guard highWatermark > lastOffset else { return .waiting }
        if isr.committed.count < minISR { return .failed(.notEnoughReplicasAfterAppend(isr: isr.committed.count, minISR: minISR)) }
        return .acknowledged
    }

    /// The leader appended; its log now ends at `logEndOffset`.
    /// - Returns: whether the high watermark moved.
    @discardableResult
    public mutating func leaderAppended(logEndOffset: Int64) -> Bool {
        advanceHighWatermark(leaderLogEndOffset: logEndOffset)
    }

    /// A follower fetched at `fetchOffset` in this epoch.
    /// - Returns: whether the high watermark moved, and an ISR expansion to send if the follower
    ///   just caught up.
    public mutating func recordFetch(from follower: Int32, fetchOffset: Int64, leaderLogEndOffset: Int64,
                                     nowMs: Int64) -> (highWatermarkMoved: Bool, alterISR: AlterISRRequest?) {
        guard followers[follower] != nil else { return (false, nil) }
        followers[follower]!.recordFetch(fetchOffset: fetchOffset, leaderLogEndOffset: leaderLogEndOffset, nowMs: nowMs)
        var request: AlterISRRequest?
        if !isr.isChangePending, !isr.committed.contains(follower), fetchOffset >= highWatermark, fetchOffset >= epochStartOffset {
            request = propose(isr.committed.union([follower]))
        }
        let moved = advanceHighWatermark(leaderLogEndOffset: leaderLogEndOffset)
        return (moved, request)
    }

    /// Followers in the ISR that have not been caught up for `replicaLagTimeMaxMs` (never the leader).
    public func laggingFollowers(nowMs: Int64) -> Set<Int32> {
        Set(isr.committed.filter { id in
            guard id != brokerID, let progress = followers[id] else { return false }
            return nowMs - progress.lastCaughtUpTimeMs > replicaLagTimeMaxMs
        })
    }

    /// The ISR shrink to send, if a follower lags and no change is pending.
    public mutating func maybeShrinkISR(nowMs: Int64) -> AlterISRRequest? {
        guard !isr.isChangePending else { return nil }
        let lagging = laggingFollowers(nowMs: nowMs)
        guard !lagging.isEmpty else { return nil }
        return propose(isr.committed.subtracting(lagging))
    }

    /// The controller answered, or the metadata log told: `isr` at `partitionEpoch` is committed
    /// (the proposal, or what the controller holds when it refused a stale one).
    ///
    /// Only a newer partition epoch replaces a pending proposal: a late update carrying the epoch
    /// the proposal was based on must not clear it, or the high watermark would stop waiting for a
    /// replica the controller may be adding right now (found by the replication simulation).
    /// - Returns: whether the high watermark moved.
    @discardableResult
    public mutating func isrCommitted(_ committed: Set<Int32>, partitionEpoch: Int32, leaderLogEndOffset: Int64) -> Bool {
        guard partitionEpoch > self.partitionEpoch || (partitionEpoch == self.partitionEpoch && !isr.isChangePending) else { return false }
        self.partitionEpoch = partitionEpoch
        isr.commit(committed)
        return advanceHighWatermark(leaderLogEndOffset: leaderLogEndOffset)
    }

    /// The controller did not answer or refused without telling the current ISR: retry later.
    public mutating func isrChangeFailed() { isr.reject() }

    private mutating func propose(_ newISR: Set<Int32>) -> AlterISRRequest {
        isr.propose(newISR)
        return AlterISRRequest(leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch, newISR: newISR)
    }

    /// Moves the high watermark to the smallest log end offset over the maximal ISR, never back.
    private mutating func advanceHighWatermark(leaderLogEndOffset: Int64) -> Bool {
        var candidate = leaderLogEndOffset
        for member in isr.maximal where member != brokerID {
            guard let progress = followers[member], progress.logEndOffset >= 0 else { return false }
            candidate = min(candidate, progress.logEndOffset)
        }
        guard candidate > highWatermark else { return false }
        highWatermark = candidate
        return true
    }
}
