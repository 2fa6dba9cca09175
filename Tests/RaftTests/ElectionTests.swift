import Testing
@testable import Raft

@Suite("Election")
struct ElectionTests {
    @Test("three voters elect one leader, which commits its leader-change record on every voter")
    func threeVotersElectOneLeader() {
        var cluster = TestCluster(voters: [1, 2, 3])
        let leader = cluster.electLeader()
        let epoch = cluster.node(leader).epoch
        #expect(epoch >= 1)
        for id in cluster.voters where id != leader {
            #expect(cluster.node(id).role == .follower)
            #expect(cluster.node(id).leader == leader)
        }
        cluster.run(ticks: 10)
        for id in cluster.voters {
            let changes = cluster.applied[id, default: []].filter {
                if case .leaderChange(let message) = $0.record { return message.leaderID == leader } else { return false }
            }
            #expect(changes.count == 1, "node \(id) applied \(cluster.applied[id, default: []])")
            #expect(cluster.node(id).highWatermark == cluster.node(leader).logEndOffset)
        }
    }

    @Test("a single voter elects itself and commits proposals at once")
    func singleVoter() {
        var cluster = TestCluster(voters: [1])
        let leader = cluster.electLeader()
        #expect(leader == 1)
        let offset = cluster.propose(42, at: 1)
        #expect(offset == 1)
        #expect(cluster.appliedPayloads(1) == [42])
    }
}
