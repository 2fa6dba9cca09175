import KafkaProtocol

extension Consumer {
    /// Commits the current position of every assigned partition for the group.
    /// - Throws: ``ClientError/invalidArgument(_:)`` without a group id; the commit's error, e.g.
    ///   REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION when the group moved on.
    public func commit() async throws {
        try await commit(positions.filter { assigned.contains($0.key) })
    }

    /// Commits `offsets` (the next offset to read, per partition) for the group (OffsetCommit).
    /// - Throws: as ``commit()``.
    public func commit(_ offsets: [TopicPartition: Int64]) async throws {
        guard let groupID = configuration.groupID else {
            throw ClientError.invalidArgument("commit needs a consumer group: set group.id (ConsumerConfiguration.groupID)")
        }
        guard !offsets.isEmpty else { return }
        let byTopic = Dictionary(grouping: offsets, by: \.key.topic)
        let request = OffsetCommitRequest(
            groupID: groupID, generationIDOrMemberEpoch: subscription.isEmpty ? -1 : generationID,
            memberID: subscription.isEmpty ? "" : memberID, groupInstanceID: configuration.groupInstanceID,
            topics: byTopic.keys.sorted().map { topic in
                OffsetCommitRequest.Topic(name: topic, partitions: byTopic[topic]!.map {
                    OffsetCommitRequest.Partition(partitionIndex: $0.key.partition, committedOffset: $0.value)
                })
            })
        let connection = try await core.coordinator(forGroup: groupID)
        let response = try await connection.send(request)
        for topic in response.topics {
            for partition in topic.partitions where partition.errorCode != .none {
                if partition.errorCode == .rebalanceInProgress || partition.errorCode == .illegalGeneration
                    || partition.errorCode == .unknownMemberID { needsRejoin = !subscription.isEmpty }
                throw ClientError.broker(code: partition.errorCode, message: nil,
                                         context: "OffsetCommit for group '\(groupID)' (\(topic.name)-\(partition.partitionIndex))")
            }
        }
        lastAutoCommit = .now
    }

    /// The group's committed offsets of `partitions` (OffsetFetch); partitions without one are left out.
    /// - Throws: ``ClientError/invalidArgument(_:)`` without a group id; the broker's error.
    public func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        try await committedOffsets(partitions).filter { $0.value >= 0 }
    }

    func committedOffsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        guard let groupID = configuration.groupID else {
            throw ClientError.invalidArgument("committed offsets need a consumer group: set group.id")
        }
        let byTopic = Dictionary(grouping: partitions, by: \.topic)
        let request = OffsetFetchRequest(groupID: groupID, topics: byTopic.keys.sorted().map {
            OffsetFetchRequest.Topic(name: $0, partitionIndexes: byTopic[$0]!.map(\.partition))
        })
        for attempt in 0..<20 {
            let connection = try await core.coordinator(forGroup: groupID)
            let response = try await connection.send(request)
            if response.errorCode.isRetriable, attempt < 19 {
                try await Task.sleep(for: configuration.client.retryBackoff)
                continue
            }
            guard response.errorCode == .none else {
                throw ClientError.broker(code: response.errorCode, message: nil, context: "OffsetFetch for group '\(groupID)'")
            }
            var out: [TopicPartition: Int64] = [:]
            for topic in response.topics {
                for partition in topic.partitions where partition.errorCode == .none {
                    out[TopicPartition(topic: topic.name, partition: partition.partitionIndex)] = partition.committedOffset
                }
            }
            return out
        }
        return [:]
    }

    /// For each partition, the earliest offset whose timestamp is at or after the given time in
    /// milliseconds (ListOffsets, KIP-79); `nil` when no record is that new.
    public func offsetsForTimes(_ timestamps: [TopicPartition: Int64]) async throws -> [TopicPartition: Int64?] {
        var out: [TopicPartition: Int64?] = [:]
        for (timestamp, entries) in Dictionary(grouping: timestamps, by: \.value) {
            let offsets = try await listOffsets(entries.map(\.key), timestamp: timestamp)
            for entry in entries { out[entry.key] = offsets[entry.key].flatMap { $0 >= 0 ? $0 : nil } ?? nil }
        }
        return out
    }

    /// ListOffsets for `partitions` at `timestamp` (-2 earliest, -1 latest, else milliseconds),
    /// sent to each partition's leader.
    func listOffsets(_ partitions: [TopicPartition], timestamp: Int64) async throws -> [TopicPartition: Int64] {
        try await OffsetLookup.listOffsets(core: core, partitions: partitions, timestamp: timestamp,
                                           isolationLevel: configuration.isolationLevel,
                                           retryBackoff: configuration.client.retryBackoff)
    }

    func maybeAutoCommit() async throws {
        guard configuration.enableAutoCommit, configuration.groupID != nil, !assigned.isEmpty,
              ContinuousClock.now - lastAutoCommit >= configuration.autoCommitInterval else { return }
        do {
            try await commit()
        } catch let error as ClientError where error.isRetriable || needsRejoin {
            logger.debug("auto-commit failed", metadata: ["error": "\(error)"])
            lastAutoCommit = .now
        }
    }
}

/// ListOffsets to partition leaders, shared by ``Consumer`` and ``Admin``.
enum OffsetLookup {
    /// - Returns: the offset per partition (-1 where the broker found none for a timestamp).
    /// - Throws: ``ClientError/broker(code:message:context:)`` for a non-retriable partition error.
    static func listOffsets(core: ClientCore, partitions: [TopicPartition], timestamp: Int64,
                            isolationLevel: IsolationLevel, retryBackoff: Duration) async throws -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        var remaining = partitions
        for attempt in 0..<10 where !remaining.isEmpty {
            var byLeader: [Int32: [TopicPartition]] = [:]
            for topic in Set(remaining.map(\.topic)) {
                if attempt > 0 { await core.invalidate(topic: topic) }
                let metadata = try await core.topic(topic)
                for tp in remaining where tp.topic == topic {
                    guard let partition = metadata.partitions.first(where: { $0.partition == tp.partition }) else {
                        throw ClientError.unknownPartition(topic: topic, partition: tp.partition)
                    }
                    byLeader[partition.leader, default: []].append(tp)
                }
            }
            var retry: [TopicPartition] = []
            for (leader, tps) in byLeader {
                let byTopic = Dictionary(grouping: tps, by: \.topic)
                let request = ListOffsetsRequest(isolationLevel: isolationLevel.rawValue, topics: byTopic.keys.sorted().map {
                    ListOffsetsRequest.Topic(name: $0, partitions: byTopic[$0]!.map {
                        ListOffsetsRequest.Partition(partitionIndex: $0.partition, timestamp: timestamp)
                    })
                })
                let response: ListOffsetsResponse
                do {
                    response = try await core.connection(to: leader).send(request)
                } catch let error as ClientError where error.isRetriable && attempt < 9 {
                    retry += tps
                    continue
                }
                for topic in response.topics {
                    for partition in topic.partitions {
                        let tp = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                        if partition.errorCode == .none {
                            out[tp] = partition.offset
                        } else if partition.errorCode.isRetriable, attempt < 9 {
                            retry.append(tp)
                        } else {
                            throw ClientError.broker(code: partition.errorCode, message: nil, context: "ListOffsets for \(tp)")
                        }
                    }
                }
            }
            remaining = retry
            if !remaining.isEmpty { try await Task.sleep(for: retryBackoff) }
        }
        return out
    }
}
