import GroupCoordinator
import KafkaProtocol

extension RequestHandlers {
    /// OffsetCommit v2-8. Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION; the rest are
    /// committed together and acknowledged once appended to `__consumer_offsets`. v2-4's
    /// `retention_time_ms` is ignored: offsets expire by `offsets.retention.minutes` (KIP-211).
    /// Needs READ on the group (else GROUP_AUTHORIZATION_FAILED on every partition) and on each
    /// topic (else TOPIC_AUTHORIZATION_FAILED on its partitions).
    func offsetCommit(_ request: OffsetCommitRequest, client: ClientInfo) async -> OffsetCommitResponse {
        if let refused = groupAuthorizationError(.read, group: request.groupID) {
            return OffsetCommitResponse(topics: request.topics.map { t in
                OffsetCommitResponse.Topic(name: t.name, partitions: t.partitions.map { .init(partitionIndex: $0.partitionIndex, errorCode: refused) })
            })
        }
        let image = await controller.image
        var inputs: [OffsetCommitInput] = []
        var slots: [(topic: Int, partition: Int)] = []
        var topics = request.topics.map { t in
            OffsetCommitResponse.Topic(name: t.name, partitions: t.partitions.map { OffsetCommitResponse.Partition(partitionIndex: $0.partitionIndex) })
        }
        for (ti, t) in request.topics.enumerated() {
            let topicRefused = topicAuthorizationError(.read, topic: t.name)
            for (pi, p) in t.partitions.enumerated() {
                if let topicRefused {
                    topics[ti].partitions[pi].errorCode = topicRefused
                    continue
                }
                guard image.topics[t.name]?.partitions[p.partitionIndex] != nil else {
                    topics[ti].partitions[pi].errorCode = .unknownTopicOrPartition
                    continue
                }
                inputs.append(OffsetCommitInput(topicPartition: GroupTopicPartition(t.name, p.partitionIndex), offset: p.committedOffset,
                                                leaderEpoch: client.version >= 6 ? p.committedLeaderEpoch : -1,
                                                metadata: p.committedMetadata))
                slots.append((ti, pi))
            }
        }
        if !inputs.isEmpty {
            let errors = await groups.commitOffsets(groupID: request.groupID, memberID: request.memberID,
                                                    groupInstanceID: client.version >= 7 ? request.groupInstanceID : nil,
                                                    generationID: request.generationIDOrMemberEpoch, offsets: inputs)
            for (slot, error) in zip(slots, errors) { topics[slot.topic].partitions[slot.partition].errorCode = error }
        }
        return OffsetCommitResponse(topics: topics)
    }

    /// OffsetFetch v1-8 (v8: several groups, KIP-709). Partitions without a commit answer offset -1,
    /// leader epoch -1 and metadata "" with no error; `topics` null (v2+) means every committed
    /// partition. `require_stable` (v7+) needs nothing: without transactions no offset is pending.
    func offsetFetch(_ request: OffsetFetchRequest, client: ClientInfo) async -> OffsetFetchResponse {
        var answers: [OffsetFetchResponse.Group] = []
        for g in request.requestedGroups(version: client.version) {
            if let refused = groupAuthorizationError(.describe, group: g.groupID) {
                answers.append(OffsetFetchResponse.Group(groupID: g.groupID, topics: [], errorCode: refused))
                continue
            }
            let (code, topics) = await fetchOffsets(groupID: g.groupID, topics: g.topics)
            answers.append(OffsetFetchResponse.Group(groupID: g.groupID, topics: topics, errorCode: code))
        }
        if client.version >= 8 { return OffsetFetchResponse(groups: answers) }
        let (code, topics) = (answers[0].errorCode, answers[0].topics)
        if client.version >= 2 { return OffsetFetchResponse(topics: code == .none ? topics : [], errorCode: code) }
        // v1 has no top-level error: a group-level failure is reported on every partition.
        guard code != .none else { return OffsetFetchResponse(topics: topics) }
        return OffsetFetchResponse(topics: (request.topics ?? []).map { t in
            OffsetFetchResponse.Topic(name: t.name, partitions: t.partitionIndexes.map {
                OffsetFetchResponse.Partition(partitionIndex: $0, metadata: "", errorCode: code)
            })
        })
    }

    private func fetchOffsets(groupID: String, topics: [OffsetFetchRequest.Topic]?) async -> (ErrorCode, [OffsetFetchResponse.Topic]) {
        let partitions = topics.map { $0.flatMap { t in t.partitionIndexes.map { GroupTopicPartition(t.name, $0) } } }
        switch await groups.fetchOffsets(groupID: groupID, partitions: partitions) {
        case .failure(let error):
            return (error.code, [])
        case .success(let offsets):
            var order: [String] = []
            var byTopic: [String: [OffsetFetchResponse.Partition]] = [:]
            for (tp, committed) in offsets {
                if byTopic[tp.topic] == nil { order.append(tp.topic) }
                byTopic[tp.topic, default: []].append(OffsetFetchResponse.Partition(
                    partitionIndex: tp.partition, committedOffset: committed?.offset ?? -1,
                    committedLeaderEpoch: committed?.leaderEpoch ?? -1, metadata: committed?.metadata ?? ""))
            }
            // Topics the principal may not DESCRIBE: left out of "every partition", refused when named.
            return (.none, order.compactMap { name in
                guard var partitions = byTopic[name] else { return nil }
                if let refused = topicAuthorizationError(.describe, topic: name) {
                    guard topics != nil else { return nil }
                    partitions = partitions.map {
                        OffsetFetchResponse.Partition(partitionIndex: $0.partitionIndex, metadata: "", errorCode: refused)
                    }
                }
                return OffsetFetchResponse.Topic(name: name, partitions: partitions)
            })
        }
    }

    /// OffsetDelete v0 (KIP-496): removes committed offsets of an Empty group, or of topics the
    /// group's members do not subscribe to (GROUP_SUBSCRIBED_TO_TOPIC otherwise).
    /// Needs DELETE on the group (else a top-level GROUP_AUTHORIZATION_FAILED) and READ on each
    /// topic (else TOPIC_AUTHORIZATION_FAILED on its partitions, which keep their offsets).
    func offsetDelete(_ request: OffsetDeleteRequest, client: ClientInfo) async -> OffsetDeleteResponse {
        if let refused = groupAuthorizationError(.delete, group: request.groupID) { return OffsetDeleteResponse(errorCode: refused) }
        let refusedTopics = Dictionary(request.topics.compactMap { t in topicAuthorizationError(.read, topic: t.name).map { (t.name, $0) } },
                                       uniquingKeysWith: { a, _ in a })
        let partitions = request.topics.filter { refusedTopics[$0.name] == nil }
            .flatMap { t in t.partitions.map { GroupTopicPartition(t.name, $0.partitionIndex) } }
        let (code, errors) = await groups.deleteOffsets(groupID: request.groupID, partitions: partitions)
        guard code == .none else { return OffsetDeleteResponse(errorCode: code) }
        var remaining = errors.makeIterator()
        return OffsetDeleteResponse(topics: request.topics.map { t in
            OffsetDeleteResponse.Topic(name: t.name, partitions: t.partitions.map {
                OffsetDeleteResponse.Partition(partitionIndex: $0.partitionIndex, errorCode: refusedTopics[t.name] ?? remaining.next() ?? .none)
            })
        })
    }
}
