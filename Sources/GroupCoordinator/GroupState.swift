import NIOCore

/// The states of a classic consumer group, with the names Kafka reports in DescribeGroups and
/// ListGroups (`ClassicGroupState.java`).
///
/// Transitions: Empty → PreparingRebalance → CompletingRebalance → Stable → PreparingRebalance …;
/// any state → Empty when the last member leaves during a rebalance; Empty → Dead when the group is
/// deleted or its offsets expire.
public enum GroupState: String, Sendable, CaseIterable {
    /// No members; the group may still hold committed offsets.
    case empty = "Empty"
    /// Waiting for every member to (re)send JoinGroup; JoinGroup responses are held.
    case preparingRebalance = "PreparingRebalance"
    /// JoinGroup answered; waiting for the leader's SyncGroup with the assignments.
    case completingRebalance = "CompletingRebalance"
    /// Assignments delivered; members heartbeat.
    case stable = "Stable"
    /// Removed from this coordinator; every request gets COORDINATOR_NOT_AVAILABLE so the client
    /// looks the coordinator up again.
    case dead = "Dead"

    /// Parses a state name as clients send it in ListGroups v4 `states_filter` (case-insensitive).
    public init?(name: String) {
        guard let state = Self.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else { return nil }
        self = state
    }
}

/// One protocol a member supports (an assignor for `protocol_type` "consumer"), with the member's
/// opaque metadata for it (a ConsumerProtocolSubscription for consumers).
public struct GroupProtocol: Equatable, Sendable {
    public var name: String
    public var metadata: ByteBuffer

    public init(name: String, metadata: ByteBuffer) {
        self.name = name
        self.metadata = metadata
    }
}

/// Identifies a held request so its response can be delivered when the group gets to it.
public typealias GroupWaiter = UInt64

/// Group timing and size limits (broker configs of the same names).
public struct GroupLimits: Sendable, Equatable {
    /// `group.min.session.timeout.ms`, default 6000.
    public var minSessionTimeoutMs: Int32 = 6000
    /// `group.max.session.timeout.ms`, default 1800000.
    public var maxSessionTimeoutMs: Int32 = 1_800_000
    /// `group.initial.rebalance.delay.ms`, default 3000: how long a rebalance of an Empty group
    /// waits for more members, extended by the same delay while members keep arriving, up to the
    /// rebalance timeout.
    public var initialRebalanceDelayMs: Int64 = 3000
    /// `group.max.size`, default unlimited.
    public var maxSize: Int = Int(Int32.max)
    /// `offset.metadata.max.bytes`, default 4096 (counted in UTF-16 code units, as Java's
    /// `String.length()`).
    public var maxOffsetMetadataBytes: Int = 4096
    /// How long a new member may wait in its first JoinGroup before it is dropped (Kafka's fixed
    /// `NewMemberJoinTimeoutMs`, 5 minutes): a client that went away mid-join does not hold the
    /// group's rebalance open forever.
    public var newMemberJoinTimeoutMs: Int64 = 300_000

    public init() {}
}
