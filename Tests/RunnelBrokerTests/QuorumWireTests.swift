import KafkaProtocol
import NIOCore
import Raft
@testable import RunnelBroker
import Testing

/// The Raft messages survive a trip through KRaft's wire RPCs (encoded to bytes and decoded), with
/// the fields Runnel carries in tagged fields.
@Suite struct QuorumWireTests {
    static func wire<M: KafkaMessage>(_ message: M, _ key: ApiKey, _ version: Int16) throws -> M {
        try M.decode(message.encoded(apiKey: key, version: version), apiKey: key, version: version)
    }

    @Test func preVoteSurvivesVoteV1() throws {
        for preVote in [false, true] {
            let request = Raft.VoteRequest(epoch: 5, lastEndOffsetAndEpoch: OffsetAndEpoch(offset: 40, epoch: 4), preVote: preVote)
            let kafka = try Self.wire(QuorumWire.kafka(request, from: 2, to: 3, clusterID: "c"), .vote, QuorumWire.voteVersion)
            #expect(kafka.voterID == 3 && kafka.clusterID == "c")
            let (from, back) = try #require(QuorumWire.raft(kafka))
            #expect(from == 2 && back == request)
        }
        let response = Raft.VoteResponse(epoch: 5, leaderID: nil, voteGranted: true, preVote: true)
        let kafka = try Self.wire(QuorumWire.kafka(response), .vote, QuorumWire.voteVersion)
        #expect(QuorumWire.raft(kafka, preVote: true) == response)
    }

    @Test func fetchCarriesTheFollowersHighWatermark() throws {
        let request = Raft.FetchRequest(epoch: 3, fetchOffset: 10, lastFetchedEpoch: 2, highWatermark: 8, requestID: 99)
        let kafka = try Self.wire(QuorumWire.kafka(request, from: 1, clusterID: "c", maxWaitMs: 500), .fetch, QuorumWire.fetchVersion)
        #expect(QuorumWire.isQuorumFetch(kafka) && kafka.replicaID == 1)
        let (from, back) = try #require(QuorumWire.raft(kafka, requestID: 99))
        #expect(from == 1 && back == request)
        // A consumer's fetch is not a quorum fetch.
        let consumer = KafkaProtocol.FetchRequest(maxWaitMs: 1, minBytes: 1, topics: [.init(topic: "orders", partitions: [])])
        #expect(!QuorumWire.isQuorumFetch(consumer))
    }

    @Test func fetchResponsesCarryEntriesDivergenceAndSnapshots() throws {
        let request = Raft.FetchRequest(epoch: 3, fetchOffset: 1, lastFetchedEpoch: 1, highWatermark: nil, requestID: 4)
        let entries: [LogEntry<MetadataBatch>] = [
            LogEntry(offset: 1, epoch: 3, record: .leaderChange(LeaderChangeMessage(leaderID: 1, voters: [1, 2, 3], grantingVoters: [1, 2]))),
            LogEntry(offset: 2, epoch: 3, record: .data(MetadataBatch([.fenceBroker(brokerID: 2, brokerEpoch: 7)]))),
        ]
        let results: [FetchResult<MetadataBatch>] = [.entries(entries), .entries([]),
                                                     .divergingEpoch(OffsetAndEpoch(offset: 5, epoch: 2)),
                                                     .snapshot(SnapshotID(offset: 100, epoch: 3))]
        for result in results {
            let response = Raft.FetchResponse(epoch: 3, leaderID: 1, highWatermark: 2, requestID: 4, fetchOffset: 1, result: result)
            let kafka = try Self.wire(QuorumWire.kafka(response), .fetch, QuorumWire.fetchVersion)
            let back = try #require(try QuorumWire.raft(kafka, request: request))
            #expect(back.epoch == 3 && back.leaderID == 1 && back.highWatermark == 2 && back.requestID == 4 && back.fetchOffset == 1)
            switch (back.result, result) {
            case (.entries(let a), .entries(let b)): #expect(a == b)
            case (.divergingEpoch(let a), .divergingEpoch(let b)): #expect(a == b)
            case (.snapshot(let a), .snapshot(let b)): #expect(a == b)
            default: Issue.record("result changed kind: \(back.result)")
            }
        }
        let fenced = Raft.FetchResponse<MetadataBatch>(error: .fencedLeaderEpoch, epoch: 4, leaderID: nil, highWatermark: nil,
                                                       requestID: 4, fetchOffset: 1, result: .entries([]))
        let back = try #require(try QuorumWire.raft(try Self.wire(QuorumWire.kafka(fenced), .fetch, 12), request: request))
        #expect(back.error == .fencedLeaderEpoch && back.leaderID == nil && back.highWatermark == nil)
    }

    @Test func quorumEpochRequestsAndSnapshotsRoundTrip() throws {
        let begin = Raft.BeginQuorumEpochRequest(epoch: 6, leaderID: 2)
        #expect(QuorumWire.raft(try Self.wire(QuorumWire.kafka(begin, to: 1, clusterID: "c"), .beginQuorumEpoch, 1)) == begin)
        let end = Raft.EndQuorumEpochRequest(epoch: 6, leaderID: 2, preferredSuccessors: [3, 1])
        #expect(QuorumWire.raft(try Self.wire(QuorumWire.kafka(end, clusterID: "c"), .endQuorumEpoch, 1)) == end)
        let answer = QuorumEpochResponse(error: .unknownLeaderEpoch, epoch: 6, leaderID: 2)
        #expect(QuorumWire.raft(try Self.wire(QuorumWire.kafka(answer), .beginQuorumEpoch, 1)) == answer)

        let request = Raft.FetchSnapshotRequest(epoch: 6, snapshotID: SnapshotID(offset: 50, epoch: 5), requestID: 8)
        let kafka = try Self.wire(QuorumWire.kafka(request, from: 3, clusterID: "c"), .fetchSnapshot, 1)
        let (from, back) = try #require(QuorumWire.raft(kafka, requestID: 8))
        #expect(from == 3 && back == request)
        let snapshot = RaftSnapshot(id: SnapshotID(offset: 50, epoch: 5), payload: Array("image".utf8))
        let response = Raft.FetchSnapshotResponse(epoch: 6, leaderID: 2, requestID: 8, snapshot: snapshot)
        let decoded = QuorumWire.raft(try Self.wire(QuorumWire.kafka(response, requested: snapshot.id), .fetchSnapshot, 1), request: request)
        #expect(decoded == response)
    }
}
