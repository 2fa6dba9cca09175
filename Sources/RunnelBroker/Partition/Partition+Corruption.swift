import LogStorage
import Replication

/// What a replica does about stored bytes that failed verification (``LogCorruption``).
enum CorruptionResponse: Sendable, Equatable {
    /// Nothing: the range is gone already (truncated, deleted by retention) or the partition closed.
    case none
    /// A follower cut its log back to the start of the range and fetches it again from its leader.
    case refetching(from: Int64)
    /// A leader with other in-sync replicas asks the controller to hand leadership to one of them
    /// (AlterPartition with an ISR without itself); as a follower it then truncates and refetches.
    case stepDown(AlterISRRequest)
    /// A leader that is the only in-sync replica keeps serving everything before the range and
    /// refuses reads inside it; nothing healthy can rebuild it.
    case servingAround
}

extension Partition {
    /// The closed segments the scrubber checks.
    var scrubTargets: [ScrubTarget] { closed ? [] : log.scrubTargets }

    /// Records `corruption` (found by the scrubber) and starts the repair the replica's role allows.
    /// - Returns: whether the range is news (not recorded before), and what the replica does.
    /// - Throws: ``StorageError`` when truncating the follower's log fails.
    func corruptionFound(_ corruption: LogCorruption) throws -> (isNew: Bool, response: CorruptionResponse) {
        guard !closed else { return (false, .none) }
        let isNew = log.recordCorruption(corruption)
        return (isNew, try repairCorruption())
    }

    private func repairCorruption() throws -> CorruptionResponse {
        guard let firstBad = log.firstCorruptOffset else { return .none }
        switch role {
        case .follower(let leader, let needsTruncation):
            try log.truncate(to: firstBad)
            flusher.truncated(to: log.logEndOffset, handle: try? syncHandleIfSyncing())
            followerHighWatermark = min(followerHighWatermark, log.logEndOffset)
            role = .follower(leader: leader, needsTruncation: needsTruncation)
            return .refetching(from: log.logEndOffset)
        case .leader(let state):
            let others = state.isr.committed.subtracting([brokerID])
            guard !others.isEmpty else { return .servingAround }
            return .stepDown(AlterISRRequest(leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, newISR: others))
        }
    }
}
