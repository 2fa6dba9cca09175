import Testing
@testable import Raft

/// KIP-595 "Observers": nodes outside `controller.quorum.voters` replicate but never vote, never run,
/// and never count toward a majority.
@Suite("Observers")
struct ObserverTests {
    @Test("an observer refuses to vote")
    func observerDoesNotVote() throws {
        var observer = try TestNode(config: voteConfig(9))
        #expect(!observer.isVoter)
        for preVote in [false, true] {
            let request = VoteRequest(epoch: 1, lastEndOffsetAndEpoch: OffsetAndEpoch(offset: 0, epoch: 0), preVote: preVote)
            let output = run(&observer) { $0.handle(.vote(request), from: 1) }
            #expect(output.effects.voteResponses.first?.voteGranted == false)
            #expect(output.effects.voteResponses.first?.error == .inconsistentVoterSet)
            #expect(output.persist.isEmpty && observer.votedID == nil)
        }
    }

    @Test("an observer never runs for election, however long it hears nothing")
    func observerNeverRuns() {
        var cluster = TestCluster(voters: [1, 2, 3], observers: [9])
        for voter in cluster.voters { cluster.crash(voter) }
        for _ in 0..<300 {
            cluster.tick(9)
            #expect(cluster.node(9).role == .unattached)
        }
        #expect(cluster.node(9).epoch == 0)
        #expect(cluster.queue.allSatisfy { if case .fetch = $0.message { true } else { false } }, "it only looks for a leader")
    }

    @Test("an observer follows and applies, but does not count toward the high watermark")
    func observerDoesNotCount() {
        var cluster = TestCluster(voters: [1, 2, 3], observers: [9])
        let leader = cluster.electLeader()
        cluster.run(ticks: 20)
        #expect(cluster.node(9).role == .follower && cluster.node(9).leader == leader)
        _ = cluster.propose(1, at: leader)
        cluster.run(ticks: 5)
        #expect(cluster.appliedPayloads(9) == [1])

        let highWatermark = cluster.node(leader).highWatermark
        for voter in cluster.voters where voter != leader { cluster.crash(voter) }
        _ = cluster.propose(2, at: leader)
        for _ in 0..<5 {
            cluster.tick(leader)
            cluster.tick(9)
            cluster.deliverAll()
        }
        #expect(cluster.node(9).logEndOffset == cluster.node(leader).logEndOffset, "the observer has the entry")
        #expect(cluster.node(leader).highWatermark == highWatermark, "leader plus observer is not a majority")
        #expect(cluster.appliedPayloads(9) == [1])
    }
}
