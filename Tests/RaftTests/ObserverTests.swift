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

    @Test("after the leader dies, an observer finds the new leader within one request timeout of its election",
          arguments: 0..<8)
    func observerFindsNewLeaderPromptly(round: Int) {
        var cluster = TestCluster(voters: [1, 2, 3], observers: [9])
        // Vary who leads and the timing jitter from round to round.
        for _ in 0..<round { cluster.step() }
        let oldLeader = cluster.electLeader()
        cluster.run(ticks: 20)
        #expect(cluster.node(9).leader == oldLeader)

        cluster.crash(oldLeader)
        let elected = cluster.run(upTo: 1_000) { $0.isStable }
        #expect(elected != nil, "the two remaining voters elect a leader")
        let newLeader = cluster.leaders[0]
        let attached = cluster.run(upTo: 1_000) { $0.node(9).role == .follower && $0.node(9).leader == newLeader }
        // Asking one voter at a time could pick the dead one and lose a whole request timeout, again
        // and again; asking all of them bounds the wait by one discovery round.
        #expect(attached != nil && attached! <= cluster.node(9).config.requestTimeoutTicks + 1,
                "observer attached \(attached.map(String.init) ?? "never") ticks after the election")
    }
}
