import KafkaProtocol
import NIOCore

extension Consumer {
    /// Whether this member rebalances incrementally (KIP-429): only when every assignor it offers
    /// is cooperative, as in the Java client, since the group may pick any of them.
    var isCooperative: Bool { configuration.assignors.allSatisfy(\.isCooperative) }

    /// Runs a rebalance: JoinGroup, assign as leader, SyncGroup, then take the new assignment.
    /// Retries until the group is stable.
    ///
    /// Eager protocol: commit and revoke everything before joining. Cooperative protocol (KIP-429):
    /// keep fetching what is owned, send it as owned partitions in JoinGroup, and after SyncGroup
    /// revoke only the partitions that are no longer ours; when some were revoked, rejoin at once so
    /// the next rebalance can hand them to their new owner.
    func rejoin() async throws {
        guard let groupID = configuration.groupID else { return }
        joining = true
        defer { joining = false }
        let cooperative = isCooperative
        if !assigned.isEmpty, !cooperative {
            await revoke(assigned)
        }
        var attempts = 0
        while !isClosed {
            attempts += 1
            do {
                let partitions = try await joinAndSync(groupID: groupID, owned: cooperative ? assigned : [])
                needsRejoin = false
                metrics.rebalances.increment()
                let owned = Set(assigned)
                let revoked = owned.subtracting(partitions).sorted()
                let added = Set(partitions).subtracting(owned).sorted()
                if !revoked.isEmpty {
                    await revoke(revoked)
                    needsRejoin = true  // the partitions just given up are assigned in the next round
                }
                setAssignment(partitions)
                logger.info("joined group", metadata: ["group": "\(groupID)", "generation": "\(generationID)",
                                                       "member": "\(memberID)", "assigned": "\(partitions.count)",
                                                       "added": "\(Self.describe(added))", "revoked": "\(Self.describe(revoked))"])
                startHeartbeats(groupID: groupID)
                await rebalanceHandler?(.assigned(cooperative ? added : assigned))
                return
            } catch let error as ClientError {
                guard attempts < 50, error.isRetriable || Self.rejoinable(error) else { throw error }
                // A member the coordinator no longer knows has lost its partitions (Java's
                // onPartitionsLost): another member may own them already.
                if cooperative, memberID.isEmpty || Self.generationLost(error), !assigned.isEmpty {
                    let lost = assigned
                    setAssignment([])
                    await rebalanceHandler?(.revoked(lost))
                }
                logger.debug("rejoining", metadata: ["group": "\(groupID)", "error": "\(error)"])
                try await Task.sleep(for: configuration.client.retryBackoff)
            }
        }
        throw ClientError.closed
    }

    /// Commits (with auto-commit on), stops reading `partitions` and tells the rebalance handler.
    private func revoke(_ partitions: [TopicPartition]) async {
        if configuration.enableAutoCommit { try? await commit() }
        setAssignment(assigned.filter { !partitions.contains($0) })
        await rebalanceHandler?(.revoked(partitions))
    }

    private static func generationLost(_ error: ClientError) -> Bool {
        guard case .broker(let code, _, _) = error else { return false }
        return code == .illegalGeneration || code == .unknownMemberID
    }

    private static func describe(_ partitions: [TopicPartition]) -> String {
        partitions.map { "\($0.topic)-\($0.partition)" }.joined(separator: ",")
    }

    private static func rejoinable(_ error: ClientError) -> Bool {
        guard case .broker(let code, _, _) = error else { return false }
        return [.rebalanceInProgress, .unknownMemberID, .illegalGeneration, .memberIDRequired].contains(code)
    }

    /// - Parameter owned: the partitions this member keeps reading during the rebalance, sent as
    ///   the subscription's owned partitions (cooperative protocol).
    private func joinAndSync(groupID: String, owned: [TopicPartition]) async throws -> [TopicPartition] {
        let coordinator = try await core.coordinator(forGroup: groupID)
        let metadata = ConsumerProtocol.encode(ConsumerProtocol.Subscription(topics: subscription, userData: nil,
                                                                             ownedPartitions: owned))
        var join = JoinGroupRequest(
            groupID: groupID, sessionTimeoutMs: configuration.sessionTimeout.milliseconds32,
            rebalanceTimeoutMs: configuration.rebalanceTimeout.milliseconds32, memberID: memberID,
            groupInstanceID: configuration.groupInstanceID, protocolType: ConsumerProtocol.protocolType,
            protocols: configuration.assignors.map { .init(name: $0.rawValue, metadata: metadata) })
        // The coordinator holds JoinGroup until every member rejoined: up to the rebalance timeout.
        let joinTimeout = configuration.rebalanceTimeout + configuration.client.requestTimeout
        var response = try await coordinator.send(join, timeout: joinTimeout)
        if response.errorCode == .memberIDRequired {  // KIP-394: rejoin with the id the coordinator gave
            memberID = response.memberID
            join.memberID = response.memberID
            response = try await coordinator.send(join, timeout: joinTimeout)
        }
        switch response.errorCode {
        case .none: break
        case .unknownMemberID, .fencedInstanceID:
            memberID = ""
            throw ClientError.broker(code: response.errorCode, message: nil, context: "JoinGroup '\(groupID)'")
        case .notCoordinator, .coordinatorNotAvailable:
            await core.dropConnection(to: coordinator.brokerID ?? -1)
            throw ClientError.broker(code: response.errorCode, message: nil, context: "JoinGroup '\(groupID)'")
        default:
            throw ClientError.broker(code: response.errorCode, message: nil, context: "JoinGroup '\(groupID)'")
        }
        memberID = response.memberID
        generationID = response.generationID
        assignedPartitionCounts = nil
        let protocolName = response.protocolName ?? configuration.assignors[0].rawValue
        var assignments: [SyncGroupRequest.Assignment] = []
        if response.leader == response.memberID {
            assignments = try await leaderAssignments(response.members, protocolName: protocolName)
        }
        let sync = SyncGroupRequest(groupID: groupID, generationID: generationID, memberID: memberID,
                                    groupInstanceID: configuration.groupInstanceID,
                                    protocolType: ConsumerProtocol.protocolType, protocolName: protocolName,
                                    assignments: assignments)
        let synced = try await coordinator.send(sync, timeout: joinTimeout)
        guard synced.errorCode == .none else {
            throw ClientError.broker(code: synced.errorCode, message: nil, context: "SyncGroup '\(groupID)'")
        }
        return try ConsumerProtocol.decodeAssignment(synced.assignment).partitions
    }

    /// As group leader: decode every member's subscription, look up partition counts and run the
    /// assignor the coordinator chose.
    private func leaderAssignments(_ members: [JoinGroupResponse.Member],
                                   protocolName: String) async throws -> [SyncGroupRequest.Assignment] {
        guard let kind = AssignorKind(rawValue: protocolName) else {
            throw ClientError.invalidArgument("the group chose assignor '\(protocolName)', which this client does not implement")
        }
        let decoded = try members.map { member -> Assignors.Member in
            let subscription = try ConsumerProtocol.decodeSubscription(member.metadata)
            return Assignors.Member(memberID: member.memberID, topics: subscription.topics,
                                    ownedPartitions: subscription.ownedPartitions)
        }
        var counts: [String: Int] = [:]
        for topic in Set(decoded.flatMap(\.topics)) {
            await core.invalidate(topic: topic)
            if let metadata = try? await core.topic(topic) {
                counts[topic] = metadata.partitionCount
                recordLeaders(metadata)
            }
        }
        let plan = Assignors.assign(kind, members: decoded, partitionCounts: counts)
        assignedPartitionCounts = Dictionary(uniqueKeysWithValues: Set(decoded.flatMap(\.topics)).map { ($0, counts[$0] ?? 0) })
        lastMetadataCheck = .now
        return decoded.map { member in
            SyncGroupRequest.Assignment(memberID: member.memberID, assignment: ConsumerProtocol.encode(
                ConsumerProtocol.Assignment(partitions: plan[member.memberID] ?? [], userData: nil)))
        }
    }

    /// As group leader, every `metadata.max.age.ms`: whether a subscribed topic's partition count
    /// changed since the assignment (it was created, or partitions were added); then the group
    /// must rebalance so the new partitions get an owner (the Java client's leader does the same).
    func maybeCheckSubscribedMetadata() async {
        guard let counts = assignedPartitionCounts,
              ContinuousClock.now - lastMetadataCheck >= configuration.client.metadataMaxAge else { return }
        lastMetadataCheck = .now
        for (topic, count) in counts {
            await core.invalidate(topic: topic)
            let current = (try? await core.topic(topic))?.partitionCount ?? 0
            if current != count {
                logger.info("subscribed topic changed, rebalancing", metadata: ["topic": "\(topic)", "partitions": "\(current)"])
                needsRejoin = true
                return
            }
        }
    }

    /// Sends a Heartbeat every `heartbeat.interval.ms` while the member is in a stable group.
    func startHeartbeats(groupID: String) {
        heartbeatTask?.cancel()
        let interval = configuration.heartbeatInterval
        heartbeatTask = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, await self.heartbeatOnce(groupID: groupID) else { return }
            }
        }
    }

    /// - Returns: whether heartbeats should go on.
    private func heartbeatOnce(groupID: String) async -> Bool {
        guard !isClosed, !subscription.isEmpty else { return false }
        guard !joining, !needsRejoin else { return true }
        do {
            let coordinator = try await core.coordinator(forGroup: groupID)
            let response = try await coordinator.send(HeartbeatRequest(
                groupID: groupID, generationID: generationID, memberID: memberID,
                groupInstanceID: configuration.groupInstanceID))
            switch response.errorCode {
            case .none: break
            case .rebalanceInProgress, .illegalGeneration:
                needsRejoin = true
            case .unknownMemberID, .fencedInstanceID:
                memberID = ""
                needsRejoin = true
            case .notCoordinator, .coordinatorNotAvailable:
                await core.dropConnection(to: coordinator.brokerID ?? -1)
            default:
                logger.warning("heartbeat failed", metadata: ["group": "\(groupID)", "error": "\(response.errorCode)"])
            }
        } catch {
            logger.debug("heartbeat failed", metadata: ["group": "\(groupID)", "error": "\(error)"])
        }
        return true
    }

    /// Leaves the group (LeaveGroup) so the others rebalance at once instead of after the session timeout.
    func leaveGroup() async throws {
        heartbeatTask?.cancel()
        heartbeatTask = nil
        guard let groupID = configuration.groupID, !memberID.isEmpty else { return }
        if !assigned.isEmpty {
            let revoked = assigned
            setAssignment([])
            await rebalanceHandler?(.revoked(revoked))
        }
        // Static members stay in the group across restarts (KIP-345): they do not leave.
        if configuration.groupInstanceID == nil {
            let coordinator = try await core.coordinator(forGroup: groupID, attempts: 3)
            _ = try await coordinator.send(LeaveGroupRequest(groupID: groupID, memberID: memberID,
                                                             members: [.init(memberID: memberID)]))
        }
        memberID = ""
        generationID = -1
    }
}
