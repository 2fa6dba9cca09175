import KafkaProtocol
import NIOCore
import Raft

/// Translates between the `Raft` target's messages and KRaft's wire RPCs (KIP-595, KIP-630): Vote
/// (52) v1, BeginQuorumEpoch (53) v1, EndQuorumEpoch (54) v1, Fetch (1) v12 on the
/// `__cluster_metadata` topic with the follower's id as replica id, and FetchSnapshot (59) v1.
///
/// Two fields ride in tagged fields until the codecs reach the versions that define them:
/// - Vote's `PreVote` (KIP-996, Vote v2) as partition tagged field 0 (one byte, 1 = pre-vote);
/// - the follower's high watermark in Fetch (KIP-1166) as partition tagged field 0 (int64), so the
///   leader answers at once when the follower's view of the high watermark is stale.
///
/// Correlation ids that Kafka's wire does not carry (`requestID`, the fetch offset echo, the
/// pre-vote flag of a response) are restored by the sender from the request it sent.
enum QuorumWire {
    static let topic = "__cluster_metadata"
    static let voteVersion: Int16 = 1
    static let quorumEpochVersion: Int16 = 1
    static let fetchVersion: Int16 = 12
    static let fetchSnapshotVersion: Int16 = 1

    static func raftError(_ code: ErrorCode) -> RaftError? {
        switch code {
        case .none: return nil
        case .fencedLeaderEpoch: return .fencedLeaderEpoch
        case .unknownLeaderEpoch: return .unknownLeaderEpoch
        case .snapshotNotFound: return .snapshotNotFound
        case .inconsistentVoterSet: return .inconsistentVoterSet
        default: return .notLeaderOrFollower
        }
    }

    static func errorCode(_ error: RaftError?) -> ErrorCode {
        switch error {
        case nil: return .none
        case .notLeaderOrFollower: return .notLeaderOrFollower
        case .fencedLeaderEpoch: return .fencedLeaderEpoch
        case .unknownLeaderEpoch: return .unknownLeaderEpoch
        case .snapshotNotFound: return .snapshotNotFound
        case .inconsistentVoterSet: return .inconsistentVoterSet
        }
    }

    static func leader(_ id: Int32) -> ReplicaID? { id < 0 ? nil : ReplicaID(id) }

    // MARK: Vote

    static func kafka(_ request: Raft.VoteRequest, from: ReplicaID, to: ReplicaID, clusterID: String) -> KafkaProtocol.VoteRequest {
        var partition = KafkaProtocol.VoteRequest.Partition(
            partitionIndex: 0, candidateEpoch: request.epoch.rawValue, candidateID: from.rawValue,
            lastOffsetEpoch: request.lastEndOffsetAndEpoch.epoch.rawValue, lastOffset: request.lastEndOffsetAndEpoch.offset.rawValue)
        if request.preVote {
            var flag = ByteBuffer()
            flag.writeInteger(UInt8(1))
            partition.taggedFields.set(0, flag)
        }
        return KafkaProtocol.VoteRequest(clusterID: clusterID, voterID: to.rawValue,
                                         topics: [QuorumTopic(topicName: topic, partitions: [partition])])
    }

    static func raft(_ request: KafkaProtocol.VoteRequest) -> (from: ReplicaID, Raft.VoteRequest)? {
        guard let p = request.topics.first?.partitions.first else { return nil }
        let preVote = p.taggedFields.value(for: 0)?.getInteger(at: 0, as: UInt8.self) == 1
        let last = OffsetAndEpoch(offset: Offset(p.lastOffset), epoch: LeaderEpoch(p.lastOffsetEpoch))
        return (ReplicaID(p.candidateID), Raft.VoteRequest(epoch: LeaderEpoch(p.candidateEpoch), lastEndOffsetAndEpoch: last, preVote: preVote))
    }

    static func kafka(_ response: Raft.VoteResponse) -> KafkaProtocol.VoteResponse {
        let p = KafkaProtocol.VoteResponse.Partition(partitionIndex: 0, errorCode: errorCode(response.error),
                                                      leaderID: response.leaderID?.rawValue ?? -1,
                                                      leaderEpoch: response.epoch.rawValue, voteGranted: response.voteGranted)
        return KafkaProtocol.VoteResponse(topics: [QuorumTopic(topicName: topic, partitions: [p])])
    }

    static func raft(_ response: KafkaProtocol.VoteResponse, preVote: Bool) -> Raft.VoteResponse? {
        guard response.errorCode == .none, let p = response.topics.first?.partitions.first else { return nil }
        return Raft.VoteResponse(error: raftError(p.errorCode), epoch: LeaderEpoch(p.leaderEpoch), leaderID: leader(p.leaderID),
                                 voteGranted: p.voteGranted, preVote: preVote)
    }

    // MARK: BeginQuorumEpoch and EndQuorumEpoch

    static func kafka(_ request: Raft.BeginQuorumEpochRequest, to: ReplicaID, clusterID: String) -> KafkaProtocol.BeginQuorumEpochRequest {
        let p = KafkaProtocol.BeginQuorumEpochRequest.Partition(partitionIndex: 0, leaderID: request.leaderID.rawValue,
                                                                leaderEpoch: request.epoch.rawValue)
        return KafkaProtocol.BeginQuorumEpochRequest(clusterID: clusterID, voterID: to.rawValue,
                                                     topics: [QuorumTopic(topicName: topic, partitions: [p])])
    }

    static func raft(_ request: KafkaProtocol.BeginQuorumEpochRequest) -> Raft.BeginQuorumEpochRequest? {
        guard let p = request.topics.first?.partitions.first else { return nil }
        return Raft.BeginQuorumEpochRequest(epoch: LeaderEpoch(p.leaderEpoch), leaderID: ReplicaID(p.leaderID))
    }

    static func kafka(_ request: Raft.EndQuorumEpochRequest, clusterID: String) -> KafkaProtocol.EndQuorumEpochRequest {
        let p = KafkaProtocol.EndQuorumEpochRequest.Partition(partitionIndex: 0, leaderID: request.leaderID.rawValue,
                                                              leaderEpoch: request.epoch.rawValue,
                                                              preferredCandidates: request.preferredSuccessors.map { .init(candidateID: $0.rawValue) })
        return KafkaProtocol.EndQuorumEpochRequest(clusterID: clusterID, topics: [QuorumTopic(topicName: topic, partitions: [p])])
    }

    static func raft(_ request: KafkaProtocol.EndQuorumEpochRequest) -> Raft.EndQuorumEpochRequest? {
        guard let p = request.topics.first?.partitions.first else { return nil }
        let successors = p.preferredSuccessors.isEmpty ? p.preferredCandidates.map(\.candidateID) : p.preferredSuccessors
        return Raft.EndQuorumEpochRequest(epoch: LeaderEpoch(p.leaderEpoch), leaderID: ReplicaID(p.leaderID),
                                          preferredSuccessors: successors.map { ReplicaID($0) })
    }

    static func kafka(_ response: QuorumEpochResponse) -> BeginQuorumEpochResponse {
        let p = BeginQuorumEpochResponse.Partition(partitionIndex: 0, errorCode: errorCode(response.error),
                                                   leaderID: response.leaderID?.rawValue ?? -1, leaderEpoch: response.epoch.rawValue)
        return BeginQuorumEpochResponse(topics: [QuorumTopic(topicName: topic, partitions: [p])])
    }

    static func raft(_ response: BeginQuorumEpochResponse) -> QuorumEpochResponse? {
        guard response.errorCode == .none, let p = response.topics.first?.partitions.first else { return nil }
        return QuorumEpochResponse(error: raftError(p.errorCode), epoch: LeaderEpoch(p.leaderEpoch), leaderID: leader(p.leaderID))
    }

    // MARK: Fetch

    static func kafka(_ request: Raft.FetchRequest, from: ReplicaID, clusterID: String, maxWaitMs: Int32) -> KafkaProtocol.FetchRequest {
        var p = KafkaProtocol.FetchRequest.Partition(partition: 0, currentLeaderEpoch: request.epoch.rawValue,
                                                     fetchOffset: request.fetchOffset.rawValue,
                                                     lastFetchedEpoch: request.lastFetchedEpoch.rawValue, partitionMaxBytes: 8 << 20)
        if let hw = request.highWatermark {
            var value = ByteBuffer()
            value.writeInteger(hw.rawValue)
            p.taggedFields.set(0, value)
        }
        return KafkaProtocol.FetchRequest(clusterID: clusterID, replicaID: from.rawValue, maxWaitMs: maxWaitMs, minBytes: 1,
                                          maxBytes: 8 << 20, topics: [.init(topic: topic, partitions: [p])])
    }

    /// Whether `request` is a quorum fetch (the metadata topic), not a client's.
    static func isQuorumFetch(_ request: KafkaProtocol.FetchRequest) -> Bool {
        request.topics.count == 1 && request.topics[0].topic == topic
    }

    static func raft(_ request: KafkaProtocol.FetchRequest, requestID: UInt64) -> (from: ReplicaID, Raft.FetchRequest)? {
        guard request.replicaID >= 0, let p = request.topics.first?.partitions.first else { return nil }
        let hw = p.taggedFields.value(for: 0)?.getInteger(at: 0, as: Int64.self).map { Offset($0) }
        return (ReplicaID(request.replicaID),
                Raft.FetchRequest(epoch: LeaderEpoch(p.currentLeaderEpoch), fetchOffset: Offset(p.fetchOffset),
                                  lastFetchedEpoch: LeaderEpoch(p.lastFetchedEpoch), highWatermark: hw, requestID: requestID))
    }

    static func kafka(_ response: Raft.FetchResponse<MetadataBatch>) -> KafkaProtocol.FetchResponse {
        var p = KafkaProtocol.FetchResponse.PartitionData(partitionIndex: 0, errorCode: errorCode(response.error),
                                                          highWatermark: response.highWatermark?.rawValue ?? -1)
        p.currentLeader = .init(leaderID: response.leaderID?.rawValue ?? -1, leaderEpoch: response.epoch.rawValue)
        switch response.result {
        case .entries(let entries):
            var records = ByteBuffer()
            for entry in entries {
                var batch = MetadataEntryCodec.encode(entry)
                records.writeBuffer(&batch)
            }
            p.records = records
        case .divergingEpoch(let diverging):
            p.divergingEpoch = .init(epoch: diverging.epoch.rawValue, endOffset: diverging.offset.rawValue)
        case .snapshot(let id):
            p.snapshotID = .init(endOffset: id.offset.rawValue, epoch: id.epoch.rawValue)
        }
        return KafkaProtocol.FetchResponse(throttleTimeMs: 0, errorCode: .none, sessionID: 0,
                                           responses: [.init(topic: topic, partitions: [p])])
    }

    static func raft(_ response: KafkaProtocol.FetchResponse, request: Raft.FetchRequest) throws -> Raft.FetchResponse<MetadataBatch>? {
        guard response.errorCode == .none, let p = response.responses.first?.partitions.first else { return nil }
        let result: FetchResult<MetadataBatch>
        if p.divergingEpoch.endOffset >= 0 {
            result = .divergingEpoch(OffsetAndEpoch(offset: Offset(p.divergingEpoch.endOffset), epoch: LeaderEpoch(p.divergingEpoch.epoch)))
        } else if p.snapshotID.endOffset >= 0 {
            result = .snapshot(Raft.SnapshotID(offset: Offset(p.snapshotID.endOffset), epoch: LeaderEpoch(p.snapshotID.epoch)))
        } else {
            result = .entries(try MetadataEntryCodec.decodeAll(p.records))
        }
        return Raft.FetchResponse(error: raftError(p.errorCode), epoch: LeaderEpoch(p.currentLeader.leaderEpoch),
                                  leaderID: leader(p.currentLeader.leaderID),
                                  highWatermark: p.highWatermark < 0 ? nil : Offset(p.highWatermark),
                                  requestID: request.requestID, fetchOffset: request.fetchOffset, result: result)
    }

    // MARK: FetchSnapshot

    static func kafka(_ request: Raft.FetchSnapshotRequest, from: ReplicaID, clusterID: String) -> KafkaProtocol.FetchSnapshotRequest {
        let p = KafkaProtocol.FetchSnapshotRequest.Partition(
            partition: 0, currentLeaderEpoch: request.epoch.rawValue,
            snapshotID: .init(endOffset: request.snapshotID.offset.rawValue, epoch: request.snapshotID.epoch.rawValue), position: 0)
        return KafkaProtocol.FetchSnapshotRequest(clusterID: clusterID, replicaID: from.rawValue,
                                                  topics: [QuorumTopic(topicName: topic, partitions: [p])])
    }

    static func raft(_ request: KafkaProtocol.FetchSnapshotRequest, requestID: UInt64) -> (from: ReplicaID, Raft.FetchSnapshotRequest)? {
        guard request.replicaID >= 0, let p = request.topics.first?.partitions.first else { return nil }
        let id = Raft.SnapshotID(offset: Offset(p.snapshotID.endOffset), epoch: LeaderEpoch(p.snapshotID.epoch))
        return (ReplicaID(request.replicaID), Raft.FetchSnapshotRequest(epoch: LeaderEpoch(p.currentLeaderEpoch), snapshotID: id, requestID: requestID))
    }

    static func kafka(_ response: Raft.FetchSnapshotResponse, requested: Raft.SnapshotID) -> KafkaProtocol.FetchSnapshotResponse {
        var bytes = ByteBuffer()
        bytes.writeBytes(response.snapshot?.payload ?? [])
        let id = response.snapshot?.id ?? requested
        let p = KafkaProtocol.FetchSnapshotResponse.Partition(
            index: 0, errorCode: errorCode(response.error),
            snapshotID: .init(endOffset: id.offset.rawValue, epoch: id.epoch.rawValue),
            currentLeader: .init(leaderID: response.leaderID?.rawValue ?? -1, leaderEpoch: response.epoch.rawValue),
            size: Int64(bytes.readableBytes), position: 0, unalignedRecords: bytes)
        return KafkaProtocol.FetchSnapshotResponse(topics: [QuorumTopic(topicName: topic, partitions: [p])])
    }

    static func raft(_ response: KafkaProtocol.FetchSnapshotResponse, request: Raft.FetchSnapshotRequest) -> Raft.FetchSnapshotResponse? {
        guard response.errorCode == .none, let p = response.topics.first?.partitions.first else { return nil }
        let error = raftError(p.errorCode)
        var snapshot: RaftSnapshot?
        if error == nil {
            var bytes = p.unalignedRecords
            snapshot = RaftSnapshot(id: Raft.SnapshotID(offset: Offset(p.snapshotID.endOffset), epoch: LeaderEpoch(p.snapshotID.epoch)),
                                    payload: bytes.readBytes(length: bytes.readableBytes) ?? [])
        }
        return Raft.FetchSnapshotResponse(error: error, epoch: LeaderEpoch(p.currentLeader.leaderEpoch),
                                          leaderID: leader(p.currentLeader.leaderID), requestID: request.requestID, snapshot: snapshot)
    }
}
