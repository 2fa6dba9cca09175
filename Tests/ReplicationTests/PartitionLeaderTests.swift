import Replication
import Testing

/// The leader's rules: high watermark over the maximal ISR, shrink after the lag time, expand at
/// the high watermark and the epoch start, acks=all and min.insync.replicas.
@Suite struct PartitionLeaderTests {
    func leader(isr: Set<Int32> = [1, 2, 3], logEndOffset: Int64 = 10, highWatermark: Int64 = 10, minISR: Int = 2) -> PartitionLeader {
        PartitionLeader(brokerID: 1, leaderEpoch: 5, partitionEpoch: 7, replicas: [1, 2, 3], isr: isr, logEndOffset: logEndOffset,
                        highWatermark: highWatermark, nowMs: 0, replicaLagTimeMaxMs: 100, minISR: minISR)
    }

    @Test func highWatermarkIsTheSmallestISRLogEndAndNeverGoesBack() {
        var l = leader()
        l.leaderAppended(logEndOffset: 20)
        #expect(l.highWatermark == 10)  // followers not heard from yet
        _ = l.recordFetch(from: 2, fetchOffset: 15, leaderLogEndOffset: 20, nowMs: 1)
        #expect(l.highWatermark == 10)
        _ = l.recordFetch(from: 3, fetchOffset: 12, leaderLogEndOffset: 20, nowMs: 1)
        #expect(l.highWatermark == 12)
        _ = l.recordFetch(from: 3, fetchOffset: 20, leaderLogEndOffset: 20, nowMs: 2)
        #expect(l.highWatermark == 15)
        // A follower that truncated and fetches lower does not move it back.
        _ = l.recordFetch(from: 2, fetchOffset: 11, leaderLogEndOffset: 20, nowMs: 3)
        #expect(l.highWatermark == 15)
    }

    @Test func aLaggingFollowerIsProposedForRemovalAndStillCountsUntilCommitted() {
        var l = leader()
        l.leaderAppended(logEndOffset: 20)
        _ = l.recordFetch(from: 2, fetchOffset: 20, leaderLogEndOffset: 20, nowMs: 50)
        _ = l.recordFetch(from: 3, fetchOffset: 14, leaderLogEndOffset: 20, nowMs: 50)
        #expect(l.maybeShrinkISR(nowMs: 100) == nil)  // both caught up at some point within 100 ms
        _ = l.recordFetch(from: 2, fetchOffset: 20, leaderLogEndOffset: 20, nowMs: 150)
        let shrink = l.maybeShrinkISR(nowMs: 150)
        #expect(shrink == AlterISRRequest(leaderEpoch: 5, partitionEpoch: 7, newISR: [1, 2]))
        #expect(l.isr.isChangePending && l.maybeShrinkISR(nowMs: 200) == nil)
        // Until the controller commits the removal, follower 3 holds the high watermark at 14.
        #expect(l.highWatermark == 14)
        l.isrCommitted([1, 2], partitionEpoch: 8, leaderLogEndOffset: 20)
        #expect(l.highWatermark == 20 && l.partitionEpoch == 8 && l.isr.committed == [1, 2])
    }

    @Test func aFollowerRejoinsAtTheHighWatermarkAndEpochStart() {
        var l = leader(isr: [1, 2], logEndOffset: 30, highWatermark: 25)
        var r = l.recordFetch(from: 3, fetchOffset: 20, leaderLogEndOffset: 30, nowMs: 1)
        #expect(r.alterISR == nil)
        // At the high watermark (25) but below the epoch start (30): not yet.
        _ = l.recordFetch(from: 2, fetchOffset: 30, leaderLogEndOffset: 30, nowMs: 1)
        #expect(l.highWatermark == 30)
        r = l.recordFetch(from: 3, fetchOffset: 28, leaderLogEndOffset: 30, nowMs: 2)
        #expect(r.alterISR == nil)
        r = l.recordFetch(from: 3, fetchOffset: 30, leaderLogEndOffset: 30, nowMs: 3)
        #expect(r.alterISR?.newISR == [1, 2, 3])
        // While the expansion is pending, 3 already counts for the high watermark.
        l.leaderAppended(logEndOffset: 40)
        _ = l.recordFetch(from: 2, fetchOffset: 40, leaderLogEndOffset: 40, nowMs: 4)
        #expect(l.highWatermark == 30)
        l.isrChangeFailed()
        #expect(l.highWatermark == 30 && !l.isr.isChangePending)
    }

    @Test func acksAllNeedsMinISR() throws {
        var l = leader(isr: [1], minISR: 2)
        #expect(throws: ReplicationError.notEnoughReplicas(isr: 1, minISR: 2)) { try l.checkEnoughReplicas() }
        l = leader(isr: [1, 2], minISR: 2)
        try l.checkEnoughReplicas()
        l.leaderAppended(logEndOffset: 11)
        #expect(l.acknowledgement(forLastOffset: 10) == .waiting)
        _ = l.recordFetch(from: 2, fetchOffset: 11, leaderLogEndOffset: 11, nowMs: 1)
        #expect(l.acknowledgement(forLastOffset: 10) == .acknowledged)
        // Shrunk below min ISR after the append: the batch is in, but the answer is an error.
        l.leaderAppended(logEndOffset: 12)
        l.isrCommitted([1], partitionEpoch: 9, leaderLogEndOffset: 12)
        #expect(l.acknowledgement(forLastOffset: 11) == .failed(.notEnoughReplicasAfterAppend(isr: 1, minISR: 2)))
    }

    @Test func followerTruncationFollowsKIP279() {
        // Same latest epoch: keep what both have.
        #expect(FollowerTruncation.offset(requestedEpoch: 4, leaderEpoch: 4, leaderEndOffset: 50, followerEndOffset: 60,
                                          followerLogEndOffset: 60, followerHighWatermark: 40) == 50)
        // The leader never had epoch 4: it answers its epoch 3, which ends at 45 there and 47 here.
        #expect(FollowerTruncation.offset(requestedEpoch: 4, leaderEpoch: 3, leaderEndOffset: 45, followerEndOffset: 47,
                                          followerLogEndOffset: 60, followerHighWatermark: 40) == 45)
        // The leader knows nothing: fall back to the high watermark.
        #expect(FollowerTruncation.offset(requestedEpoch: 4, leaderEpoch: -1, leaderEndOffset: -1, followerEndOffset: 60,
                                          followerLogEndOffset: 60, followerHighWatermark: 40) == 40)
    }
}
