import KafkaProtocol

/// The active controller's side of broker lifecycles (KIP-631): registration, heartbeats,
/// fencing after `broker.session.timeout.ms` without a heartbeat, and unfencing once a broker has
/// caught up with the metadata log.
extension Controller {
    /// BrokerRegistration: records the broker (fenced until its first caught-up heartbeat) and
    /// returns its new broker epoch, the offset of its registration record.
    /// - Throws: ``ControllerWriteError`` (NOT_CONTROLLER, INCONSISTENT_CLUSTER_ID).
    func registerBroker(_ request: BrokerRegistrationRequest) async throws -> Int64 {
        guard request.clusterID == clusterID else {
            throw ControllerWriteError(code: .inconsistentClusterID,
                                       message: "broker \(request.brokerID) belongs to cluster \(request.clusterID), this is \(clusterID)")
        }
        return try await serialized {
            guard let quorum else { throw ControllerWriteError(code: .notController, message: "a standalone node has no brokers to register") }
            // Another live process holds this id (Kafka's DUPLICATE_BROKER_REGISTRATION): a different
            // incarnation, unfenced and heartbeating within the session timeout. A broker that
            // restarted after a kill waits for its old session to expire.
            if let existing = image.brokers[request.brokerID], existing.incarnationID != request.incarnationID, !existing.fenced,
               let last = lastHeartbeat[request.brokerID],
               ContinuousClock.now - last < .milliseconds(config.int("broker.session.timeout.ms")) {
                throw ControllerWriteError(code: .duplicateBrokerRegistration,
                                           message: "broker \(request.brokerID) is already registered by another running process")
            }
            let epoch = await quorum.logEndOffset
            let endpoints = request.listeners.map {
                MetadataRecord.BrokerEndpoint(name: $0.name, host: $0.host, port: $0.port, securityProtocol: $0.securityProtocol)
            }
            let features = request.features.map {
                MetadataRecord.BrokerFeature(name: $0.name, minSupportedVersion: $0.minSupportedVersion, maxSupportedVersion: $0.maxSupportedVersion)
            }
            let record = MetadataRecord.RegisterBrokerRecordData(brokerID: request.brokerID, incarnationID: request.incarnationID,
                                                                 brokerEpoch: epoch, endpoints: endpoints, features: features,
                                                                 rack: request.rack, fenced: true, logDirs: request.logDirs)
            // A broker that registers again (it restarted) gives up the leadership it held, so it
            // never resumes an old leader epoch; it leads again, in a new epoch, once unfenced.
            var records: [MetadataRecord] = [.registerBroker(record)]
            if let previous = image.brokers[request.brokerID], !previous.fenced {
                records += fencingRecords(previous).dropFirst()
            }
            try await commit(records)
            lastHeartbeat[request.brokerID] = .now
            controllerLogger.info("registered broker", metadata: ["broker": "\(request.brokerID)", "broker.epoch": "\(epoch)"])
            return epoch
        }
    }

    /// BrokerHeartbeat: keeps the broker's session alive; unfences it once it has applied the
    /// metadata log up to its own registration; fences it when it asks to shut down (controlled
    /// shutdown), which moves the leadership of its partitions to other in-sync replicas in the same
    /// metadata batch.
    func brokerHeartbeat(_ request: BrokerHeartbeatRequest) async -> BrokerHeartbeatResponse {
        guard await isActiveController else { return BrokerHeartbeatResponse(errorCode: .notController) }
        guard let broker = image.brokers[request.brokerID] else { return BrokerHeartbeatResponse(errorCode: .brokerIDNotRegistered) }
        guard broker.epoch == request.brokerEpoch else { return BrokerHeartbeatResponse(errorCode: .staleBrokerEpoch) }
        lastHeartbeat[request.brokerID] = .now
        noteOfflineLogDirectories(request.offlineLogDirs, of: broker)
        // The broker reports the end of what it applied; its registration record sits at offset `epoch`.
        let caughtUp = request.currentMetadataOffset > broker.epoch
        do {
            if request.wantShutDown {
                if !broker.fenced {
                    try await serialized { try await commit(fencingRecords(broker)) }
                    controllerLogger.info("fenced broker for controlled shutdown", metadata: ["broker": "\(broker.brokerID)"])
                }
                return BrokerHeartbeatResponse(isCaughtUp: caughtUp, isFenced: true, shouldShutDown: true)
            }
            if broker.fenced, caughtUp, !request.wantFence {
                try await serialized {
                    guard image.brokers[broker.brokerID]?.epoch == broker.epoch, image.brokers[broker.brokerID]?.fenced == true else { return }
                    try await commit(unfencingRecords(broker))
                }
                controllerLogger.info("unfenced broker", metadata: ["broker": "\(broker.brokerID)", "broker.epoch": "\(broker.epoch)"])
            }
        } catch let error as ControllerWriteError {
            return BrokerHeartbeatResponse(errorCode: error.code)
        } catch {
            return BrokerHeartbeatResponse(errorCode: .unknownServerError)
        }
        let fenced = image.brokers[request.brokerID]?.fenced ?? true
        return BrokerHeartbeatResponse(isCaughtUp: caughtUp, isFenced: fenced, shouldShutDown: false)
    }

    /// Records the offline log directories `broker` reported (KIP-858 `offline_log_dirs`) and logs
    /// each change. The broker itself hands over the leadership of the partitions it led there
    /// (``Controller/maybeHandleOfflineDirectories()``) and fetches nothing for its replicas there,
    /// so they leave the ISR; this controller keeps the report for operators.
    func noteOfflineLogDirectories(_ reported: [UUIDBytes], of broker: MetadataImage.BrokerImage) {
        let now = Set(reported)
        let before = offlineLogDirectoriesByBroker[broker.brokerID] ?? []
        guard now != before else { return }
        offlineLogDirectoriesByBroker[broker.brokerID] = now.isEmpty ? nil : now
        let unknown = now.subtracting(broker.logDirs)
        controllerLogger.log(level: now.isEmpty ? .info : .warning,
                             now.isEmpty ? "broker reports no offline log dirs" : "broker reports offline log dirs", metadata: [
            "broker": "\(broker.brokerID)", "offline.log.dirs": "\(now.map(\.description).sorted())",
            "registered.log.dirs": "\(broker.logDirs.count)", "unregistered": "\(unknown.map(\.description).sorted())",
        ])
    }

    /// Active controller: fences every unfenced broker whose last heartbeat is older than
    /// `broker.session.timeout.ms`. A broker the controller never heard from (it just became
    /// active) gets a full session from now.
    func fenceExpiredBrokers() async {
        guard cluster != nil, await isActiveController else {
            lastHeartbeat.removeAll()
            return
        }
        let timeout = Duration.milliseconds(config.int("broker.session.timeout.ms"))
        let now = ContinuousClock.now
        for broker in image.brokers.values where !broker.fenced {
            guard let last = lastHeartbeat[broker.brokerID] else {
                lastHeartbeat[broker.brokerID] = now
                continue
            }
            guard now - last > timeout else { continue }
            do {
                try await serialized {
                    guard image.brokers[broker.brokerID]?.epoch == broker.epoch, image.brokers[broker.brokerID]?.fenced == false else { return }
                    try await commit(fencingRecords(broker))
                }
                controllerLogger.warning("fenced broker: no heartbeat within broker.session.timeout.ms",
                               metadata: ["broker": "\(broker.brokerID)", "broker.session.timeout.ms": "\(config.int("broker.session.timeout.ms"))"])
            } catch {
                controllerLogger.debug("could not fence a broker", metadata: ["broker": "\(broker.brokerID)", "error": "\(error)"])
            }
        }
    }

    /// Fencing `broker`, with the leader and ISR changes it causes (``leavingBrokerChanges(_:)``).
    func fencingRecords(_ broker: MetadataImage.BrokerImage) -> [MetadataRecord] {
        [.fenceBroker(brokerID: broker.brokerID, brokerEpoch: broker.epoch)] + leavingBrokerChanges(broker.brokerID)
    }

    /// Unfencing `broker`, with the partitions it can lead again (``returningBrokerChanges(_:)``).
    func unfencingRecords(_ broker: MetadataImage.BrokerImage) -> [MetadataRecord] {
        [.unfenceBroker(brokerID: broker.brokerID, brokerEpoch: broker.epoch)] + returningBrokerChanges(broker.brokerID)
    }

    /// Whether `brokerID` is registered and unfenced (its partitions have a leader).
    func isLive(_ brokerID: Int32) -> Bool {
        guard cluster != nil else { return brokerID == nodeID }
        guard let broker = image.brokers[brokerID] else { return false }
        return !broker.fenced
    }

    /// The error for a request about a partition this node does not host: NOT_LEADER_OR_FOLLOWER
    /// when it exists elsewhere in the cluster (the client refreshes its metadata and goes to the
    /// leader), UNKNOWN_TOPIC_OR_PARTITION when it does not exist.
    func missingPartitionError(_ tp: TopicPartition) -> ErrorCode {
        image.topics[tp.topic]?.partitions[tp.partition] != nil ? .notLeaderOrFollower : .unknownTopicOrPartition
    }

    /// The endpoint of broker `id` named `listener` (else its first registered listener), if it is live.
    func brokerEndpoint(_ id: Int32, listener: String? = nil) -> (host: String, port: Int32)? {
        guard cluster != nil, let broker = image.brokers[id], !broker.fenced,
              let endpoint = broker.endpoints.first(where: { $0.name == listener }) ?? broker.endpoints.first else { return nil }
        return (endpoint.host, Int32(endpoint.port))
    }

    /// The broker Metadata and DescribeCluster name as controller: the active controller when it is
    /// a live broker (then every broker names the same one), else a broker that forwards admin
    /// requests to it: this one, or the live broker with the lowest id on a controller-only node.
    /// Clients cannot reach controller-only nodes, as in KRaft. While the quorum has no leader this
    /// broker is named, so admin clients get this broker's answer rather than waiting on a node
    /// that may be down.
    func advertisedControllerID() async -> Int32 {
        guard cluster != nil else { return nodeID }
        if let active = await activeControllerID, isLive(active) { return active }
        if hostsPartitions, isLive(nodeID) { return nodeID }
        return image.brokers.values.filter { !$0.fenced }.map(\.brokerID).min() ?? -1
    }
}
