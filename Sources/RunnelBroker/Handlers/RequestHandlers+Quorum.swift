import KafkaProtocol
import Raft

/// The requests nodes of a cluster send each other: the metadata quorum's RPCs (KIP-595, KIP-630)
/// and the broker lifecycle (KIP-631, KIP-730). A standalone node answers them with an error.
extension RequestHandlers {
    private func sameCluster(_ id: String?) -> Bool { id == nil || id == clusterID }

    /// Hands a Raft request to the quorum, parked meanwhile (a Fetch waits for new entries, and
    /// the answer is the Raft node's work, not this request's handler's).
    private static func inbound(_ quorum: QuorumDriver, _ message: RaftMessage<MetadataBatch>, from peer: ReplicaID) async -> RaftMessage<MetadataBatch>? {
        await RequestTimer.parked { await quorum.handleInbound(message, from: peer) }
    }

    func vote(_ request: KafkaProtocol.VoteRequest, version: Int16) async -> KafkaProtocol.VoteResponse {
        guard let quorum = controller.quorum else { return KafkaProtocol.VoteResponse(errorCode: .unsupportedVersion, topics: []) }
        guard sameCluster(request.clusterID) else { return KafkaProtocol.VoteResponse(errorCode: .inconsistentClusterID, topics: []) }
        guard let (from, raft) = QuorumWire.raft(request) else { return KafkaProtocol.VoteResponse(errorCode: .invalidRequest, topics: []) }
        guard case .voteResponse(let answer)? = await Self.inbound(quorum, .vote(raft), from: from) else {
            return KafkaProtocol.VoteResponse(errorCode: .requestTimedOut, topics: [])
        }
        return QuorumWire.kafka(answer)
    }

    func beginQuorumEpoch(_ request: KafkaProtocol.BeginQuorumEpochRequest, version: Int16) async -> BeginQuorumEpochResponse {
        guard let quorum = controller.quorum else { return BeginQuorumEpochResponse(errorCode: .unsupportedVersion, topics: []) }
        guard sameCluster(request.clusterID) else { return BeginQuorumEpochResponse(errorCode: .inconsistentClusterID, topics: []) }
        guard let raft = QuorumWire.raft(request) else { return BeginQuorumEpochResponse(errorCode: .invalidRequest, topics: []) }
        guard case .beginQuorumEpochResponse(let answer)? = await Self.inbound(quorum, .beginQuorumEpoch(raft), from: raft.leaderID) else {
            return BeginQuorumEpochResponse(errorCode: .requestTimedOut, topics: [])
        }
        return QuorumWire.kafka(answer)
    }

    func endQuorumEpoch(_ request: KafkaProtocol.EndQuorumEpochRequest, version: Int16) async -> EndQuorumEpochResponse {
        guard let quorum = controller.quorum else { return EndQuorumEpochResponse(errorCode: .unsupportedVersion, topics: []) }
        guard sameCluster(request.clusterID) else { return EndQuorumEpochResponse(errorCode: .inconsistentClusterID, topics: []) }
        guard let raft = QuorumWire.raft(request) else { return EndQuorumEpochResponse(errorCode: .invalidRequest, topics: []) }
        guard case .endQuorumEpochResponse(let answer)? = await Self.inbound(quorum, .endQuorumEpoch(raft), from: raft.leaderID) else {
            return EndQuorumEpochResponse(errorCode: .requestTimedOut, topics: [])
        }
        return QuorumWire.kafka(answer)
    }

    /// Fetch on `__cluster_metadata` from another node (KIP-595 "Fetch"): long-polled by the leader.
    func quorumFetch(_ request: KafkaProtocol.FetchRequest, version: Int16) async -> KafkaProtocol.FetchResponse {
        guard let quorum = controller.quorum else {
            return KafkaProtocol.FetchResponse(throttleTimeMs: 0, errorCode: .unknownTopicOrPartition, sessionID: 0, responses: [])
        }
        guard sameCluster(request.clusterID) else {
            return KafkaProtocol.FetchResponse(throttleTimeMs: 0, errorCode: .inconsistentClusterID, sessionID: 0, responses: [])
        }
        let requestID = await quorum.nextFetchID()
        guard let (from, raft) = QuorumWire.raft(request, requestID: requestID) else {
            return KafkaProtocol.FetchResponse(throttleTimeMs: 0, errorCode: .invalidRequest, sessionID: 0, responses: [])
        }
        guard case .fetchResponse(let answer)? = await Self.inbound(quorum, .fetch(raft), from: from) else {
            return KafkaProtocol.FetchResponse(throttleTimeMs: 0, errorCode: .requestTimedOut, sessionID: 0, responses: [])
        }
        return QuorumWire.kafka(answer)
    }

    func fetchSnapshot(_ request: KafkaProtocol.FetchSnapshotRequest, version: Int16) async -> KafkaProtocol.FetchSnapshotResponse {
        guard let quorum = controller.quorum else { return KafkaProtocol.FetchSnapshotResponse(errorCode: .unsupportedVersion, topics: []) }
        guard sameCluster(request.clusterID) else { return KafkaProtocol.FetchSnapshotResponse(errorCode: .inconsistentClusterID, topics: []) }
        let requestID = await quorum.nextFetchID()
        guard let (from, raft) = QuorumWire.raft(request, requestID: requestID) else {
            return KafkaProtocol.FetchSnapshotResponse(errorCode: .invalidRequest, topics: [])
        }
        guard case .fetchSnapshotResponse(let answer)? = await Self.inbound(quorum, .fetchSnapshot(raft), from: from) else {
            return KafkaProtocol.FetchSnapshotResponse(errorCode: .requestTimedOut, topics: [])
        }
        return QuorumWire.kafka(answer, requested: raft.snapshotID)
    }

    func brokerRegistration(_ request: BrokerRegistrationRequest, version: Int16) async -> BrokerRegistrationResponse {
        do {
            return BrokerRegistrationResponse(brokerEpoch: try await controller.registerBroker(request))
        } catch let error as ControllerWriteError {
            return BrokerRegistrationResponse(errorCode: error.code)
        } catch {
            return BrokerRegistrationResponse(errorCode: .unknownServerError)
        }
    }

    func brokerHeartbeat(_ request: BrokerHeartbeatRequest, version: Int16) async -> BrokerHeartbeatResponse {
        await controller.brokerHeartbeat(request)
    }

    /// AllocateProducerIds (KIP-730): a block of producer ids for a broker, from the active controller.
    func allocateProducerIds(_ request: AllocateProducerIdsRequest, version: Int16) async -> AllocateProducerIdsResponse {
        guard await controller.isActiveController else {
            return AllocateProducerIdsResponse(errorCode: .notController, producerIDStart: -1, producerIDLen: 0)
        }
        do {
            let block = try await controller.reserveProducerIDBlock(brokerID: request.brokerID, brokerEpoch: request.brokerEpoch)
            return AllocateProducerIdsResponse(producerIDStart: block.lowerBound, producerIDLen: Int32(block.count))
        } catch let error as ControllerWriteError {
            return AllocateProducerIdsResponse(errorCode: error.code, producerIDStart: -1, producerIDLen: 0)
        } catch {
            return AllocateProducerIdsResponse(errorCode: .unknownServerError, producerIDStart: -1, producerIDLen: 0)
        }
    }
}
