@testable import Raft

/// One node's stable storage: a `RaftPersistentState` (the reference meaning of every persist
/// action) plus the prefix hash of every entry, so log matching can be checked in O(1) per entry.
/// Survives crashes; a restarted node gets exactly `state`.
struct SimulatedDisk {
    private(set) var state = RaftPersistentState<UInt64>()
    /// Prefix hash ending at each entry of `state.log`, aligned with its entries.
    private var prefixes: [UInt64] = []
    /// Prefix hash of everything below `state.log.startOffset` (0 for an empty prefix).
    private var basePrefix: UInt64 = 0

    /// The hash of the log prefix `[0, end)`, if this disk can tell.
    func prefixHash(endingAt end: Offset) -> UInt64? {
        let start = state.log.startOffset
        if end == start { return basePrefix }
        guard end > start, end <= state.log.endOffset else { return nil }
        return prefixes[Int(start.distance(to: end)) - 1]
    }

    private var tailPrefix: UInt64 { prefixes.last ?? basePrefix }

    private func snapshotPrefix(at offset: Offset) -> UInt64? {
        if offset == 0 { return 0 }
        guard let snapshot = state.log.snapshot, snapshot.id.offset == offset else { return nil }
        return decodeSnapshot(snapshot.payload)
    }

    /// Applies one action, reporting each appended entry to `checker` for the log-matching check.
    mutating func apply(_ action: PersistAction<UInt64>, node: ReplicaID, checker: inout InvariantChecker)
        throws(InvariantViolation)
    {
        let log = state.log
        switch action {
        case .setQuorumState, .installSnapshot:
            break
        case .appendEntries(let entries):
            guard entries.first?.offset == log.endOffset else {
                throw InvariantViolation(.persistence, "append at \(entries.first?.offset ?? -1) to a log ending at \(log.endOffset)")
            }
            var prefix = tailPrefix
            for entry in entries {
                prefix = extendPrefix(prefix, with: entry)
                prefixes.append(prefix)
                try checker.observeAppend(node, offset: entry.offset, epoch: entry.epoch, prefix: prefix)
            }
        case .truncateLog(let offset):
            guard offset >= log.startOffset else {
                throw InvariantViolation(.persistence, "truncate to \(offset) below the log start \(log.startOffset)")
            }
            if offset < log.endOffset { prefixes.removeLast(Int(offset.distance(to: log.endOffset))) }
        case .deleteLogPrefix(let offset):
            guard offset > log.startOffset else { break }
            if offset <= log.endOffset {
                basePrefix = prefixHash(endingAt: offset)!
                prefixes.removeFirst(Int(log.startOffset.distance(to: offset)))
            } else {
                guard let prefix = snapshotPrefix(at: offset) else {
                    throw InvariantViolation(.persistence, "log prefix deleted up to \(offset), past the log end, without a snapshot there")
                }
                basePrefix = prefix
                prefixes.removeAll()
            }
        case .resetLog(let offset):
            guard let prefix = snapshotPrefix(at: offset) else {
                throw InvariantViolation(.persistence, "log reset to \(offset) without a snapshot ending there")
            }
            basePrefix = prefix
            prefixes.removeAll()
        }
        state.apply(action)
    }
}
