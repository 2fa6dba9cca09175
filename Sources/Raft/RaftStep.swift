/// A message to send: destination and body.
public struct RaftEnvelope<Payload: Sendable>: Sendable {
    /// The node to deliver it to.
    public var to: ReplicaID
    /// The request or response.
    public var message: RaftMessage<Payload>

    /// A message addressed to `to`.
    /// - Parameters:
    ///   - to: the receiving node.
    ///   - message: the body.
    public init(to: ReplicaID, message: RaftMessage<Payload>) {
        self.to = to
        self.message = message
    }
}

/// What one call into `RaftNode` produced, in the order the driver must act on it.
///
/// ```swift
/// let step = node.tick()
/// try disk.write(step.persist)          // 1. apply in order and fsync
/// let effects = step.persisted()        // 2. only now may anything leave the process
/// network.send(effects.messages)
/// stateMachine.apply(effects)           //    snapshot to load first, then committed entries
/// ```
///
/// The type is noncopyable and `persisted()` consumes it: the messages cannot be reached without
/// saying the persist actions are durable, and cannot be taken twice. A process that dies before
/// `persisted()` simply loses the step; that is safe, because nothing escaped.
public struct RaftStep<Payload: Sendable>: ~Copyable, Sendable {
    /// Changes to make durable, in order, before anything else in this step.
    public let persist: [PersistAction<Payload>]
    let effects: RaftEffects<Payload>

    init(persist: [PersistAction<Payload>], effects: RaftEffects<Payload>) {
        self.persist = persist
        self.effects = effects
    }

    /// Whether the step has nothing at all to do.
    public var isEmpty: Bool {
        persist.isEmpty && effects.messages.isEmpty && effects.committed.isEmpty && effects.snapshotToLoad == nil
    }

    /// Hands out the messages and state-machine work; call it only once every action in `persist` is
    /// durable.
    /// - Returns: what to send and what to apply.
    public consuming func persisted() -> RaftEffects<Payload> { effects }
}

/// The part of a step that may happen only after its persist actions are durable.
public struct RaftEffects<Payload: Sendable>: Sendable {
    /// Requests and responses to send, in any order and over any transport; the protocol tolerates
    /// loss, duplication and reordering.
    public var messages: [RaftEnvelope<Payload>]
    /// If set, replace the state machine with this snapshot before applying `committed`: a follower
    /// installed a snapshot from the leader, or the node just restarted from one.
    public var snapshotToLoad: RaftSnapshot?
    /// Newly committed entries (at or below the high watermark), in offset order, each delivered
    /// exactly once per incarnation of the node. Control records are included so offsets stay dense;
    /// apply `.data` records and skip the rest. After a restart delivery starts again from the latest
    /// snapshot (or offset 0), so the owner sees those entries a second time.
    public var committed: [LogEntry<Payload>]

    /// Effects of a step.
    /// - Parameters:
    ///   - messages: what to send.
    ///   - snapshotToLoad: a snapshot to load first, if any.
    ///   - committed: committed entries to apply, in order.
    public init(messages: [RaftEnvelope<Payload>] = [], snapshotToLoad: RaftSnapshot? = nil,
                committed: [LogEntry<Payload>] = []) {
        self.messages = messages
        self.snapshotToLoad = snapshotToLoad
        self.committed = committed
    }
}
