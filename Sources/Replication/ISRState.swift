/// The in-sync replica set as a leader sees it (KIP-497): the ISR the controller committed, and at
/// most one change sent to the controller (AlterPartition) and not answered yet.
///
/// While a change is pending the leader uses the *maximal* ISR for the high watermark and for
/// acks=all: the committed ISR plus any replica being added. A replica being removed still counts
/// until the removal is committed, so the high watermark waits for it or for the controller, never
/// for neither (Kafka `PartitionState`: `isr` vs `maximalIsr`).
public struct ISRState: Sendable, Equatable {
    /// The ISR in the metadata log.
    public private(set) var committed: Set<Int32>
    /// The ISR proposed to the controller, if a proposal is in flight.
    public private(set) var pending: Set<Int32>?

    public init(committed: Set<Int32>) {
        self.committed = committed
    }

    /// The committed ISR with pending additions: who must hold an offset before it is committed.
    public var maximal: Set<Int32> { committed.union(pending ?? []) }

    /// Whether a change is waiting for the controller.
    public var isChangePending: Bool { pending != nil }

    mutating func propose(_ isr: Set<Int32>) { pending = isr }

    /// The controller committed `isr` (this leader's proposal or not).
    mutating func commit(_ isr: Set<Int32>) {
        committed = isr
        pending = nil
    }

    /// The controller refused the proposal (a stale partition epoch, a fenced replica): keep the
    /// committed ISR and try again later.
    mutating func reject() { pending = nil }
}
