/// What the leader knows about one follower's replica (Kafka's `Replica` state on the leader).
public struct FollowerProgress: Sendable, Equatable {
    /// The follower's log end offset: the offset of its last fetch (it holds everything below).
    /// -1 until the follower fetches in this leader's epoch.
    public var logEndOffset: Int64 = -1
    /// The last time (ms) the follower was known to be caught up: its fetch offset reached the
    /// leader's log end offset at the time of the fetch, or the leader's log end offset at its
    /// previous fetch (Kafka `Replica.updateFetchStateOrThrow`).
    public var lastCaughtUpTimeMs: Int64
    /// When the follower last fetched (ms).
    public var lastFetchTimeMs: Int64
    /// The leader's log end offset when the follower last fetched.
    public var lastFetchLeaderLogEndOffset: Int64 = -1

    /// Progress of a follower the leader has not heard from yet, counted as caught up at
    /// `nowMs` (a new leader gives every ISR member a full `replica.lag.time.max.ms`).
    public init(nowMs: Int64) {
        lastCaughtUpTimeMs = nowMs
        lastFetchTimeMs = nowMs
    }

    /// Records a fetch at `fetchOffset` when the leader's log ends at `leaderLogEndOffset`.
    mutating func recordFetch(fetchOffset: Int64, leaderLogEndOffset: Int64, nowMs: Int64) {
        if fetchOffset >= leaderLogEndOffset {
            lastCaughtUpTimeMs = max(lastCaughtUpTimeMs, nowMs)
        } else if fetchOffset >= lastFetchLeaderLogEndOffset {
            lastCaughtUpTimeMs = max(lastCaughtUpTimeMs, lastFetchTimeMs)
        }
        logEndOffset = fetchOffset
        lastFetchLeaderLogEndOffset = leaderLogEndOffset
        lastFetchTimeMs = nowMs
    }
}
