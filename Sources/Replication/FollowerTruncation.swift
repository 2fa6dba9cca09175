/// Where a follower truncates before fetching from a new leader (KIP-101, KIP-279), from the
/// OffsetForLeaderEpoch answer for the follower's latest epoch.
public enum FollowerTruncation {
    /// - Parameters:
    ///   - requestedEpoch: the follower's latest epoch, which it asked the leader about.
    ///   - leaderEpoch: the epoch the leader answered with: the requested one, or the largest
    ///     earlier epoch the leader has (-1 when it has none).
    ///   - leaderEndOffset: where that epoch ends in the leader's log (-1 when unknown).
    ///   - followerEndOffset: the follower's end offset for `leaderEpoch` (its log end offset when
    ///     `leaderEpoch` is its latest).
    ///   - followerLogEndOffset: the follower's log end offset.
    ///   - followerHighWatermark: the follower's high watermark, the fallback when the leader
    ///     knows no epoch (pre-KIP-101 behaviour).
    /// - Returns: the offset to truncate to (the new log end offset, at most the current one).
    public static func offset(requestedEpoch: Int32, leaderEpoch: Int32, leaderEndOffset: Int64, followerEndOffset: Int64,
                              followerLogEndOffset: Int64, followerHighWatermark: Int64) -> Int64 {
        guard leaderEpoch >= 0, leaderEndOffset >= 0 else { return min(followerHighWatermark, followerLogEndOffset) }
        // The leader's log and ours agree up to the end of the newest epoch both have.
        return min(leaderEndOffset, followerEndOffset, followerLogEndOffset)
    }
}
