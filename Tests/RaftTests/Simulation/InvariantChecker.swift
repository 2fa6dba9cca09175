@testable import Raft

/// A broken safety property: which one, and what was seen.
struct InvariantViolation: Error, CustomStringConvertible {
    enum Invariant: String {
        /// At most one leader per epoch, ever (Raft §5.2, KIP-595).
        case electionSafety
        /// The same (offset, epoch) names the same entry and the same prefix on every node, ever.
        case logMatching
        /// Every committed entry is in the log of every leader of a later epoch.
        case leaderCompleteness
        /// No two nodes apply different entries at one offset; applied sequences are prefixes of one
        /// history, delivered in order and once per incarnation.
        case stateMachineSafety
        /// A node's high watermark never goes back within one incarnation.
        case highWatermarkMonotonic
        /// What the node holds in memory equals what it asked to persist.
        case persistence
        /// After the faults stop, a leader is elected and a new entry commits on every voter.
        case liveness
    }

    var invariant: Invariant
    var detail: String

    init(_ invariant: Invariant, _ detail: String) {
        self.invariant = invariant
        self.detail = detail
    }

    var description: String { "\(invariant.rawValue): \(detail)" }
}

/// The cluster-wide history the safety properties are checked against. It is fed observations (a
/// node leads an epoch, a node appended an entry, a high watermark moved, the state machine applied
/// an entry) and throws on the first contradiction. It knows nothing of how the observations were
/// made, so tests can feed it fabricated histories to prove each check can fail.
struct InvariantChecker {
    /// The leader of every epoch that ever had one.
    private(set) var leaders: [LeaderEpoch: ReplicaID] = [:]
    /// Prefix hash at every (offset, epoch) ever appended anywhere.
    private var appended: [OffsetAndEpoch: UInt64] = [:]
    /// Prefix hash of the committed history at each offset (index = offset).
    private(set) var committed: [UInt64] = []
    /// The epoch in which each committed offset became committed: the epoch of the leader whose high
    /// watermark first passed it (an entry of epoch 3 can be committed in epoch 5, together with the
    /// first entry of epoch 5).
    private(set) var commitEpochs: [LeaderEpoch] = []

    var committedEnd: Offset { Offset(Int64(committed.count)) }

    /// `node` leads `epoch`. Returns whether this is the first time anyone was seen leading it.
    mutating func observeLeader(_ node: ReplicaID, epoch: LeaderEpoch) throws(InvariantViolation) -> Bool {
        if let existing = leaders[epoch] {
            guard existing == node else {
                throw InvariantViolation(.electionSafety, "nodes \(existing) and \(node) both led epoch \(epoch)")
            }
            return false
        }
        leaders[epoch] = node
        return true
    }

    /// `node` appended `entry`; its log prefix through the entry hashes to `prefix`.
    mutating func observeAppend(_ node: ReplicaID, offset: Offset, epoch: LeaderEpoch, prefix: UInt64) throws(InvariantViolation) {
        let key = OffsetAndEpoch(offset: offset, epoch: epoch)
        if let existing = appended[key] {
            guard existing == prefix else {
                throw InvariantViolation(.logMatching, "node \(node) appended \(key) with a different entry or prefix than another node had")
            }
        } else {
            appended[key] = prefix
        }
    }

    /// A leader of `epoch` must hold every entry committed in an earlier epoch (Raft §5.4.3).
    /// - Parameter prefixHash: the leader's log prefix hash for an exclusive end offset, if it holds it.
    func checkLeaderCompleteness(_ node: ReplicaID, epoch: LeaderEpoch, prefixHash: (Offset) -> UInt64?) throws(InvariantViolation) {
        // The last offset committed before `epoch`; holding it means holding all below it (log matching).
        var end = committed.count
        while end > 0 && commitEpochs[end - 1] >= epoch { end -= 1 }
        guard end > 0 else { return }
        guard prefixHash(Offset(Int64(end))) == committed[end - 1] else {
            throw InvariantViolation(.leaderCompleteness,
                                     "leader \(node) of epoch \(epoch) lacks committed entries below offset \(end) (or holds different ones)")
        }
    }

    /// `node`, in `epoch`, has high watermark `highWatermark`: everything below it in its log is
    /// committed. A leader's high watermark moves before any follower hears of it, so new offsets are
    /// committed in `epoch`.
    /// - Returns: whether the committed history grew.
    mutating func observeCommitted(_ node: ReplicaID, epoch: LeaderEpoch, highWatermark: Offset,
                                   prefixHash: (Offset) -> UInt64?) throws(InvariantViolation) -> Bool {
        let end = Int(highWatermark.rawValue)
        guard end > 0 else { return false }
        if end <= committed.count {
            guard let prefix = prefixHash(highWatermark), prefix == committed[end - 1] else {
                throw InvariantViolation(.stateMachineSafety, "node \(node) committed a different history below \(highWatermark)")
            }
            return false
        }
        let start = committed.count
        guard let base = prefixHash(Offset(Int64(start))), start == 0 || base == committed[start - 1] else {
            throw InvariantViolation(.stateMachineSafety,
                                     "node \(node) committed up to \(highWatermark) but its log disagrees with the committed history at \(start)")
        }
        for offset in start..<end {
            guard let prefix = prefixHash(Offset(Int64(offset + 1))) else {
                throw InvariantViolation(.stateMachineSafety, "node \(node) has high watermark \(highWatermark) but no entry at \(offset)")
            }
            committed.append(prefix)
            commitEpochs.append(epoch)
        }
        return true
    }

    /// `node`'s state machine applied through `offset` and its state hashes to `stateHash`.
    func checkApplied(_ node: ReplicaID, offset: Offset, stateHash: UInt64) throws(InvariantViolation) {
        let index = Int(offset.rawValue)
        guard index < committed.count else {
            throw InvariantViolation(.stateMachineSafety, "node \(node) applied offset \(offset), which is not committed")
        }
        guard committed[index] == stateHash else {
            throw InvariantViolation(.stateMachineSafety, "node \(node) applied a different history through offset \(offset)")
        }
    }

    /// A snapshot ending at `end` with state hash `stateHash` was stored or loaded by `node`.
    func checkSnapshot(_ node: ReplicaID, end: Offset, stateHash: UInt64) throws(InvariantViolation) {
        guard end > 0 else { return }
        try checkApplied(node, offset: end - 1, stateHash: stateHash)
    }

    /// A high watermark may only grow during one incarnation.
    static func checkHighWatermark(_ node: ReplicaID, previous: Offset?, current: Offset?) throws(InvariantViolation) {
        guard let previous else { return }
        guard let current, current >= previous else {
            throw InvariantViolation(.highWatermarkMonotonic,
                                     "node \(node) high watermark went from \(previous) to \(current.map(String.init(describing:)) ?? "unknown")")
        }
    }
}
