import KafkaProtocol
import Replication

/// Partition replication as the controller and the hosting broker see it: which partitions this
/// broker follows and from whom, ISR changes sent to the active controller, and the active
/// controller's leader elections (KRaft's `ReplicationControlManager`).
extension Controller {
    // MARK: Broker side

    /// Starts the replica fetchers (cluster brokers only).
    func startReplication() async {
        await replicaManager?.start(controller: self)
    }

    /// Sets the hook that tells the group coordinator about offsets partitions this broker stopped leading.
    func onOffsetsPartitionsLost(_ hook: @escaping @Sendable ([Int32]) async -> Void) { offsetsPartitionsLost = hook }

    /// The hosted partitions another broker leads (or none leads, -1), with their leader.
    func followedPartitions() -> [(TopicPartition, Int32)] {
        var out: [(TopicPartition, Int32)] = []
        for tp in partitions.keys where !isInOfflineDirectory(tp) {
            guard let p = image.topics[tp.topic]?.partitions[tp.partition], p.leader != nodeID else { continue }
            out.append((tp, p.leader))
        }
        return out
    }

    /// What one replica fetcher fetches next: the leader's endpoint (nil while it is not live) and
    /// the partitions of fetcher `index` among `count` that `leader` leads and this broker follows.
    func replicaFetchWork(leader: Int32, index: Int, of count: Int) -> (endpoint: (host: String, port: Int32)?, work: [ReplicaFetcher.Work]) {
        var work: [ReplicaFetcher.Work] = []
        // A replica in an offline log directory fetches nothing (KIP-858): it stays out of the ISR.
        for (tp, partition) in partitions where !isInOfflineDirectory(tp) {
            guard let p = image.topics[tp.topic]?.partitions[tp.partition], p.leader == leader, leader != nodeID,
                  ReplicaManager.fetcherIndex(tp, count: count) == index else { continue }
            work.append(ReplicaFetcher.Work(topicPartition: tp, partition: partition))
        }
        return (brokerEndpoint(leader, listener: interBrokerListenerName), work)
    }

    /// Sends an ISR change a leader proposed to the active controller (AlterPartition v2) and
    /// tells the partition the outcome. Runs on its own task: a fetch never waits for the controller.
    /// - Parameter shrink: whether the change removes lagging followers (else it adds one that caught up).
    nonisolated func proposeISR(_ request: AlterISRRequest, for tp: TopicPartition, topicID: UUIDBytes, partition: Partition, shrink: Bool) {
        Task {
            guard let outcome = await self.sendAlterPartition(request, for: tp, topicID: topicID) else { return }
            let committed = try? outcome.get()
            await partition.isrChangeAnswered(leaderEpoch: request.leaderEpoch, isr: committed?.isr,
                                              partitionEpoch: committed?.partitionEpoch ?? -1)
            switch outcome {
            case .success(let committed):
                self.metrics?.isrChanged(shrink: shrink)
                self.replicationLogger.info("ISR changed", metadata: ["partition": "\(tp)", "isr": "\(committed.isr)",
                                                           "partition.epoch": "\(committed.partitionEpoch)"])
            case .failure(let failure):
                self.replicationLogger.info("ISR change not accepted; the leader retries", metadata: ["partition": "\(tp)",
                                                                                           "proposed": "\(request.newISR.sorted())",
                                                                                           "error": "\(failure.reason)"])
            }
        }
    }

    /// Asks the active controller to hand leadership of `tp` to another in-sync replica, because
    /// this leader's log failed verification (`request.newISR` is the ISR without this broker; see
    /// `Controller.stepDown`). The new partition state reaches this broker as metadata, like any
    /// leader change; a refusal is only logged (the scrubber's next pass asks again).
    nonisolated func proposeStepDown(_ request: AlterISRRequest, for tp: TopicPartition, topicID: UUIDBytes) {
        Task {
            guard let outcome = await self.sendAlterPartition(request, for: tp, topicID: topicID) else { return }
            if case .failure(let failure) = outcome {
                self.replicationLogger.warning("stepping down was not accepted", metadata: ["partition": "\(tp)", "error": "\(failure.reason)"])
            }
        }
    }

    /// Why an AlterPartition proposal was not committed.
    struct AlterPartitionFailure: Error { var reason: String }

    /// Sends one partition's AlterPartition v2 to the active controller (itself when it is).
    /// - Returns: the committed ISR and partition epoch, the failure, or nil when no controller is known.
    private func sendAlterPartition(_ request: AlterISRRequest, for tp: TopicPartition, topicID: UUIDBytes) async
        -> Result<(isr: [Int32], partitionEpoch: Int32), AlterPartitionFailure>?
    {
        let body = AlterPartitionRequest(brokerID: nodeID, brokerEpoch: brokerEpoch, topics: [
            .init(topicID: topicID, partitions: [
                .init(partitionIndex: tp.partition, leaderEpoch: request.leaderEpoch,
                      newISR: request.newISR.sorted().map { .init(brokerID: $0) }, partitionEpoch: request.partitionEpoch),
            ]),
        ])
        let response: AlterPartitionResponse
        do {
            if await isActiveController {
                response = await alterPartition(body, version: 2)
            } else if let channel = controllerChannel {
                response = try await channel.send(body, version: 2, timeout: .seconds(5))
            } else {
                return nil
            }
        } catch {
            return .failure(AlterPartitionFailure(reason: "\(error)"))
        }
        guard response.errorCode == .none else { return .failure(AlterPartitionFailure(reason: "\(response.errorCode)")) }
        guard let answer = response.topics.first?.partitions.first else { return .failure(AlterPartitionFailure(reason: "no answer")) }
        guard answer.errorCode == .none else { return .failure(AlterPartitionFailure(reason: "\(answer.errorCode)")) }
        return .success((answer.isr, answer.partitionEpoch))
    }

    /// Shrinks the ISR of led partitions whose followers lag, every half `replica.lag.time.max.ms`
    /// (Kafka's `isr-expiration` task), until cancelled.
    func runISRMaintenance() async {
        guard cluster?.isBroker == true else { return }
        let period = Duration.milliseconds(max(50, config.int("replica.lag.time.max.ms") / 2))
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            for (tp, partition) in partitions {
                guard let request = await partition.maybeShrinkISR(), let topicID = image.topics[tp.topic]?.topicID else { continue }
                replicationLogger.info("follower lags: shrinking the ISR", metadata: ["partition": "\(tp)", "proposed": "\(request.newISR.sorted())"])
                proposeISR(request, for: tp, topicID: topicID, partition: partition, shrink: true)
            }
        }
    }

    // MARK: Active controller: elections

    /// Whether `brokerID` may lead or join an ISR: registered, unfenced and not shutting down.
    func isEligibleReplica(_ brokerID: Int32) -> Bool {
        guard cluster != nil else { return brokerID == nodeID }
        guard let broker = image.brokers[brokerID] else { return false }
        return !broker.fenced && !broker.inControlledShutdown
    }

    /// Whether `topic` allows electing a replica outside the ISR.
    func uncleanElectionEnabled(_ topic: MetadataImage.TopicImage) -> Bool {
        (topic.configs["unclean.leader.election.enable"] ?? config.topicDefaults["unclean.leader.election.enable"]) == "true"
    }

    /// The partition changes when `brokerID` leaves (fenced, or in controlled shutdown): partitions
    /// it leads get a new leader from the rest of the ISR, preferring the replica order, and lose it
    /// from their ISR; with no eligible in-sync replica they keep no leader (-1) and their ISR, so
    /// the last in-sync replica can lead again when it returns, unless `unclean.leader.election.enable`
    /// lets a live out-of-sync replica lead. Partitions it follows drop it from the ISR, but never
    /// to an empty ISR (Kafka `ReplicationControlManager.handleBrokerFenced`).
    func leavingBrokerChanges(_ brokerID: Int32) -> [MetadataRecord] {
        var records: [MetadataRecord] = []
        for topic in image.topics.values.sorted(by: { $0.name < $1.name }) {
            for p in topic.partitions.values.sorted(by: { $0.partitionID < $1.partitionID }) {
                let remaining = p.isr.filter { $0 != brokerID }
                if p.leader == brokerID {
                    if let next = p.replicas.first(where: { $0 != brokerID && remaining.contains($0) && isEligibleReplica($0) }) {
                        records.append(.partitionChange(.init(partitionID: p.partitionID, topicID: topic.topicID, isr: remaining, leader: next)))
                    } else if uncleanElectionEnabled(topic),
                              let any = p.replicas.first(where: { $0 != brokerID && isEligibleReplica($0) }) {
                        controllerLogger.warning("unclean leader election: no in-sync replica is live", metadata: [
                            "partition": "\(topic.name)-\(p.partitionID)", "leader": "\(any)", "isr": "\(p.isr)"])
                        records.append(.partitionChange(.init(partitionID: p.partitionID, topicID: topic.topicID, isr: [any], leader: any)))
                    } else {
                        records.append(.partitionChange(.init(partitionID: p.partitionID, topicID: topic.topicID,
                                                              leader: MetadataRecord.PartitionChangeRecordData.noLeader)))
                    }
                } else if p.isr.contains(brokerID), !remaining.isEmpty {
                    records.append(.partitionChange(.init(partitionID: p.partitionID, topicID: topic.topicID, isr: remaining)))
                }
            }
        }
        return records
    }

    /// The partitions `brokerID` can lead again once unfenced: those without a leader whose ISR
    /// holds it, or (with `unclean.leader.election.enable`) whose replicas hold it.
    func returningBrokerChanges(_ brokerID: Int32) -> [MetadataRecord] {
        var records: [MetadataRecord] = []
        for topic in image.topics.values.sorted(by: { $0.name < $1.name }) {
            for p in topic.partitions.values.sorted(by: { $0.partitionID < $1.partitionID }) where p.leader == -1 {
                if p.isr.contains(brokerID) {
                    records.append(.partitionChange(.init(partitionID: p.partitionID, topicID: topic.topicID, leader: brokerID)))
                } else if p.replicas.contains(brokerID), uncleanElectionEnabled(topic) {
                    controllerLogger.warning("unclean leader election: a replica outside the ISR leads", metadata: [
                        "partition": "\(topic.name)-\(p.partitionID)", "leader": "\(brokerID)", "isr": "\(p.isr)"])
                    records.append(.partitionChange(.init(partitionID: p.partitionID, topicID: topic.topicID, isr: [brokerID], leader: brokerID)))
                }
            }
        }
        return records
    }

    /// Preferred-leader elections (`auto.leader.rebalance.enable`, KIP-183's preferred replica):
    /// partitions whose first replica is live and in the ISR but does not lead get it back as leader.
    func preferredLeaderChanges(only: Set<TopicPartition>? = nil) -> [MetadataRecord] {
        var records: [MetadataRecord] = []
        for topic in image.topics.values.sorted(by: { $0.name < $1.name }) {
            for p in topic.partitions.values.sorted(by: { $0.partitionID < $1.partitionID }) {
                if let only, !only.contains(TopicPartition(topic.name, p.partitionID)) { continue }
                guard let preferred = p.replicas.first, preferred != p.leader, p.isr.contains(preferred),
                      isEligibleReplica(preferred) else { continue }
                records.append(.partitionChange(.init(partitionID: p.partitionID, topicID: topic.topicID, leader: preferred)))
            }
        }
        return records
    }

    /// Runs one round of preferred-leader elections on the active controller.
    func rebalanceLeaders() async {
        guard cluster != nil, await isActiveController else { return }
        do {
            try await serialized {
                let changes = preferredLeaderChanges()
                guard !changes.isEmpty else { return }
                try await commit(changes)
                controllerLogger.info("moved leadership back to preferred replicas", metadata: ["partitions": "\(changes.count)"])
            }
        } catch {
            controllerLogger.debug("preferred leader election failed", metadata: ["error": "\(error)"])
        }
    }

    /// Replicas for `count` new partitions with `replicationFactor` replicas each: the leaders from
    /// ``placeLeaders(count:brokers:)``, each followed by the next brokers in id order (Kafka's
    /// striped placement without racks), so followers spread as evenly as leaders.
    func placeReplicas(count: Int, replicationFactor: Int, brokers: [Int32]) -> [[Int32]] {
        let leaders = placeLeaders(count: count, brokers: brokers)
        return leaders.enumerated().map { index, leader in
            let start = brokers.firstIndex(of: leader)!
            // Shift the followers by the partition index as well, so two partitions with the
            // same leader do not always share the same followers.
            var replicas = [leader]
            var step = 1 + (index / brokers.count) % max(1, brokers.count - 1)
            while replicas.count < replicationFactor {
                let candidate = brokers[(start + step) % brokers.count]
                if !replicas.contains(candidate) { replicas.append(candidate) }
                step += 1
            }
            return replicas
        }
    }
}

extension Controller {
    /// ElectLeaders on the active controller: for each partition (every partition when nil), a
    /// preferred election (type 0) gives leadership to the first replica if it is live and in the
    /// ISR; an unclean one (type 1) elects a live replica only for a partition with no leader, from
    /// the ISR first. All changes commit as one metadata batch.
    /// - Returns: per partition NONE, or ELECTION_NOT_NEEDED (already led by the preferred replica,
    ///   or has a leader for unclean), PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE,
    ///   UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST (unknown type), or the commit's error.
    func electLeaders(type: Int8, partitions requested: [TopicPartition]?) async -> [(TopicPartition, (code: ErrorCode, message: String?))] {
        await serialized {
            var targets: [TopicPartition] = requested ?? image.topics.values.flatMap { t in t.partitions.keys.map { TopicPartition(t.name, $0) } }
            targets.sort { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
            var outcomes: [(TopicPartition, (code: ErrorCode, message: String?))] = []
            var records: [MetadataRecord] = []
            var changed: [Int] = []
            for tp in targets {
                guard let topic = image.topics[tp.topic], let p = topic.partitions[tp.partition] else {
                    outcomes.append((tp, (.unknownTopicOrPartition, "This server does not host this topic-partition.")))
                    continue
                }
                switch type {
                case ElectLeadersRequest.preferred:
                    guard let preferred = p.replicas.first else { outcomes.append((tp, (.preferredLeaderNotAvailable, nil))); continue }
                    if preferred == p.leader {
                        outcomes.append((tp, (.electionNotNeeded, "Leader election not needed for topic partition.")))
                    } else if p.isr.contains(preferred), isEligibleReplica(preferred) {
                        changed.append(outcomes.count)
                        outcomes.append((tp, (.none, nil)))
                        records.append(.partitionChange(.init(partitionID: p.partitionID, topicID: topic.topicID, leader: preferred)))
                    } else {
                        outcomes.append((tp, (.preferredLeaderNotAvailable,
                                              "Failed to elect leader for partition \(tp) under strategy PreferredReplicaPartitionLeaderElectionStrategy")))
                    }
                case ElectLeadersRequest.unclean:
                    if p.leader >= 0, isEligibleReplica(p.leader) {
                        outcomes.append((tp, (.electionNotNeeded, "Leader election not needed for topic partition.")))
                    } else if let next = p.replicas.first(where: { p.isr.contains($0) && isEligibleReplica($0) }) {
                        changed.append(outcomes.count)
                        outcomes.append((tp, (.none, nil)))
                        records.append(.partitionChange(.init(partitionID: p.partitionID, topicID: topic.topicID, leader: next)))
                    } else if let any = p.replicas.first(where: isEligibleReplica) {
                        controllerLogger.warning("unclean leader election requested: a replica outside the ISR leads",
                                       metadata: ["partition": "\(tp)", "leader": "\(any)", "isr": "\(p.isr)"])
                        changed.append(outcomes.count)
                        outcomes.append((tp, (.none, nil)))
                        records.append(.partitionChange(.init(partitionID: p.partitionID, topicID: topic.topicID, isr: [any], leader: any)))
                    } else {
                        outcomes.append((tp, (.eligibleLeadersNotAvailable, "No live replica of \(tp) can lead.")))
                    }
                default:
                    outcomes.append((tp, (.invalidRequest, "Unknown election type \(type).")))
                }
            }
            do {
                try await commit(records)
            } catch {
                let code = (error as? ControllerWriteError)?.code ?? .unknownServerError
                for i in changed { outcomes[i].1 = (code, "\(error)") }
            }
            return outcomes
        }
    }
}
