import KafkaProtocol

/// The active controller's side of ISR changes (AlterPartition, KIP-497, KIP-841, KIP-903): a
/// partition leader proposes a new ISR based on the partition epoch it knows; the controller
/// checks it against the image and commits a `PartitionChangeRecord`, which bumps the partition
/// epoch. Used by partition replication (the replication issue); the checks follow Kafka's
/// `ReplicationControlManager.alterPartition`.
extension Controller {
    /// Validates and applies every partition change in `request`.
    /// - Returns: per partition NONE with the new state, or the refusal: STALE_BROKER_EPOCH for an
    ///   unknown requester epoch, UNKNOWN_TOPIC_OR_PARTITION / UNKNOWN_TOPIC_ID, NOT_LEADER_OR_FOLLOWER
    ///   when the requester does not lead, FENCED_LEADER_EPOCH for another leader epoch,
    ///   INVALID_UPDATE_VERSION for a stale partition epoch, INVALID_REQUEST for an ISR outside the
    ///   replicas or without the leader, INELIGIBLE_REPLICA for a fenced member or (v3) a member
    ///   named with another broker epoch; NOT_CONTROLLER on a node that is not the active controller.
    func alterPartition(_ request: AlterPartitionRequest, version: Int16) async -> AlterPartitionResponse {
        guard await isActiveController else { return AlterPartitionResponse(errorCode: .notController, topics: []) }
        return await serialized {
            guard let requester = image.brokers[request.brokerID], request.brokerEpoch == -1 || requester.epoch == request.brokerEpoch else {
                return AlterPartitionResponse(errorCode: .staleBrokerEpoch, topics: [])
            }
            var topics: [AlterPartitionResponse.Topic] = []
            for topic in request.topics {
                let image = topic.topicID == .zero ? self.image.topics[topic.topicName] : self.image.topic(id: topic.topicID)
                var results: [AlterPartitionResponse.Partition] = []
                for change in topic.partitions {
                    guard let image, let current = image.partitions[change.partitionIndex] else {
                        results.append(.init(partitionIndex: change.partitionIndex,
                                             errorCode: version >= 2 ? .unknownTopicID : .unknownTopicOrPartition))
                        continue
                    }
                    results.append(await apply(change, to: current, topicID: image.topicID, requester: request.brokerID, version: version))
                }
                topics.append(.init(topicName: topic.topicName, topicID: topic.topicID, partitions: results))
            }
            return AlterPartitionResponse(topics: topics)
        }
    }

    private func apply(_ change: AlterPartitionRequest.Partition, to current: MetadataImage.PartitionImage, topicID: UUIDBytes,
                       requester: Int32, version: Int16) async -> AlterPartitionResponse.Partition {
        func refuse(_ code: ErrorCode) -> AlterPartitionResponse.Partition {
            .init(partitionIndex: change.partitionIndex, errorCode: code)
        }
        guard current.leader == requester else { return refuse(.notLeaderOrFollower) }
        guard change.leaderEpoch == current.leaderEpoch else { return refuse(.fencedLeaderEpoch) }
        guard change.partitionEpoch == current.partitionEpoch else { return refuse(.invalidUpdateVersion) }
        let newISR = change.newISR.map(\.brokerID)
        guard Set(newISR).count == newISR.count, newISR.allSatisfy(current.replicas.contains) else {
            return refuse(.invalidRequest)
        }
        if !newISR.contains(requester) {
            return await stepDown(change, to: current, topicID: topicID, requester: requester)
        }
        for member in change.newISR {
            guard let broker = image.brokers[member.brokerID], !broker.fenced, !broker.inControlledShutdown else {
                return refuse(.ineligibleReplica)
            }
            if version >= 3, member.brokerEpoch != -1, member.brokerEpoch != broker.epoch { return refuse(.ineligibleReplica) }
        }
        let isr = newISR.sorted()
        if isr != current.isr.sorted() {
            do {
                try await commit([.partitionChange(.init(partitionID: change.partitionIndex, topicID: topicID, isr: isr))])
            } catch let error as ControllerWriteError {
                return refuse(error.code)
            } catch {
                return refuse(.unknownServerError)
            }
        }
        let after = image.topic(id: topicID)?.partitions[change.partitionIndex] ?? current
        return .init(partitionIndex: change.partitionIndex, leaderID: after.leader, leaderEpoch: after.leaderEpoch, isr: after.isr,
                     leaderRecoveryState: change.leaderRecoveryState, partitionEpoch: after.partitionEpoch)
    }

    /// Runnel extension: a leader proposing an ISR without itself steps down, because its copy of
    /// the log failed verification (the scrubber found a corrupt range) or its log directory went
    /// offline (KIP-858's effect, reached from the broker's side). The proposal must be a
    /// non-empty subset of the committed ISR; the first of its replicas in assignment order that
    /// is eligible becomes leader (a new leader epoch), so the old leader follows and fetches the
    /// range again. Kafka's own brokers never send such a proposal (its check refuses it as
    /// INVALID_REQUEST, which this keeps for anything that is not a subset).
    private func stepDown(_ change: AlterPartitionRequest.Partition, to current: MetadataImage.PartitionImage, topicID: UUIDBytes,
                          requester: Int32) async -> AlterPartitionResponse.Partition {
        let proposed = Set(change.newISR.map(\.brokerID))
        guard !proposed.isEmpty, proposed.isSubset(of: Set(current.isr)),
              let next = current.replicas.first(where: { proposed.contains($0) && isEligibleReplica($0) })
        else { return .init(partitionIndex: change.partitionIndex, errorCode: .invalidRequest) }
        do {
            try await commit([.partitionChange(.init(partitionID: change.partitionIndex, topicID: topicID,
                                                     isr: proposed.sorted(), leader: next))])
        } catch let error as ControllerWriteError {
            return .init(partitionIndex: change.partitionIndex, errorCode: error.code)
        } catch {
            return .init(partitionIndex: change.partitionIndex, errorCode: .unknownServerError)
        }
        replicationLogger.warning("leader stepped down: its log failed verification or its log dir is offline",
                                  metadata: ["topicID": "\(topicID)", "partition": "\(change.partitionIndex)",
                                             "from": "\(requester)", "to": "\(next)"])
        let after = image.topic(id: topicID)?.partitions[change.partitionIndex] ?? current
        return .init(partitionIndex: change.partitionIndex, leaderID: after.leader, leaderEpoch: after.leaderEpoch, isr: after.isr,
                     leaderRecoveryState: change.leaderRecoveryState, partitionEpoch: after.partitionEpoch)
    }
}
