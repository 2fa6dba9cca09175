/// The id of a node in the quorum: `node.id` in Kafka, `ReplicaId`/`VoterId`/`CandidateId` on the wire
/// (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch; KIP-595).
///
/// Voters are the ids listed in `controller.quorum.voters`; any other id is an observer.
public struct ReplicaID: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The id as Kafka encodes it (int32).
    public var rawValue: Int32

    /// Wraps a wire id.
    /// - Parameter rawValue: the int32 node id.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Wraps a wire id.
    /// - Parameter rawValue: the int32 node id.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// Lets tests and configuration write `1` for `ReplicaID(1)`.
    public init(integerLiteral value: Int32) { self.rawValue = value }

    /// Orders ids numerically, so voter lists print and iterate in a stable order.
    public static func < (lhs: ReplicaID, rhs: ReplicaID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The decimal id.
    public var description: String { String(rawValue) }
}

/// The quorum epoch (Kafka's `LeaderEpoch`/`ReplicaEpoch`): bumped by every candidate, and written into
/// every log entry appended by the leader of that epoch (KIP-595 "Leader Election").
///
/// Epoch 0 is the initial epoch before any election; the first candidate runs in epoch 1.
public struct LeaderEpoch: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The epoch as Kafka encodes it (int32).
    public var rawValue: Int32

    /// Wraps a wire epoch.
    /// - Parameter rawValue: the int32 epoch, 0 or more.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Wraps a wire epoch.
    /// - Parameter rawValue: the int32 epoch, 0 or more.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// Lets tests write `3` for `LeaderEpoch(3)`.
    public init(integerLiteral value: Int32) { self.rawValue = value }

    /// The epoch a candidate runs in after this one.
    public var next: LeaderEpoch { LeaderEpoch(rawValue + 1) }

    /// Orders epochs numerically.
    public static func < (lhs: LeaderEpoch, rhs: LeaderEpoch) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The decimal epoch.
    public var description: String { String(rawValue) }
}

/// A position in the replicated log (int64, dense: every entry, control records included, takes one).
///
/// End offsets are exclusive, as in Kafka: a log with entries 0...4 has log end offset 5, and a high
/// watermark of 5 means entries 0...4 are committed.
public struct Offset: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The offset as Kafka encodes it (int64).
    public var rawValue: Int64

    /// Wraps a wire offset.
    /// - Parameter rawValue: the int64 offset, 0 or more.
    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// Wraps a wire offset.
    /// - Parameter rawValue: the int64 offset, 0 or more.
    public init(_ rawValue: Int64) { self.rawValue = rawValue }

    /// Lets tests write `7` for `Offset(7)`.
    public init(integerLiteral value: Int64) { self.rawValue = value }

    /// Orders offsets numerically.
    public static func < (lhs: Offset, rhs: Offset) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The offset `count` entries later (or earlier, for a negative count).
    public static func + (lhs: Offset, count: Int64) -> Offset { Offset(lhs.rawValue + count) }

    /// The offset `count` entries earlier.
    public static func - (lhs: Offset, count: Int64) -> Offset { Offset(lhs.rawValue - count) }

    /// The number of entries from this offset up to (not including) `end`; negative when `end` is
    /// earlier.
    public func distance(to end: Offset) -> Int64 { end.rawValue - rawValue }

    /// The decimal offset.
    public var description: String { String(rawValue) }
}

/// An (offset, epoch) pair, KRaft's `OffsetAndEpoch`.
///
/// Used three ways: a log's end (`offset` = log end offset, `epoch` = epoch of the last entry), the
/// answer to "where does epoch E end" (`DivergingEpoch` in a Fetch response, KIP-595 "Fetch"), and a
/// snapshot id (`offset` = the snapshot's exclusive end offset, `epoch` = the epoch of its last entry).
///
/// Ordering compares the epoch first, then the offset: this is the "log is at least as up to date"
/// order of the Vote rule (KIP-595 "Vote": `LastOffsetEpoch`, then `LastOffset`).
public struct OffsetAndEpoch: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The (exclusive end) offset.
    public var offset: Offset
    /// The epoch.
    public var epoch: LeaderEpoch

    /// Pairs an offset with an epoch.
    /// - Parameters:
    ///   - offset: the offset (for log and snapshot ends, exclusive).
    ///   - epoch: the epoch.
    public init(offset: Offset, epoch: LeaderEpoch) {
        self.offset = offset
        self.epoch = epoch
    }

    /// Epoch first, then offset (KIP-595 "Vote" up-to-date rule).
    public static func < (lhs: OffsetAndEpoch, rhs: OffsetAndEpoch) -> Bool {
        lhs.epoch != rhs.epoch ? lhs.epoch < rhs.epoch : lhs.offset < rhs.offset
    }

    /// `offset@epoch`.
    public var description: String { "\(offset)@\(epoch)" }
}

/// A snapshot id, as KRaft names snapshot files: the exclusive end offset and the epoch of the last
/// entry the snapshot covers (KIP-630).
public typealias SnapshotID = OffsetAndEpoch
