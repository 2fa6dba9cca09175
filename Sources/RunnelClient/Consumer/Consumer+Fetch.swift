import KafkaProtocol
import NIOCore

extension Consumer {
    /// Returns the records that are ready, fetching when none are buffered; waits up to `maxWait`
    /// (and at least one fetch round trip) and may return an empty array.
    ///
    /// Also drives the group: a pending rebalance is run first, and auto-commit happens here.
    /// Retriable errors (a broker restarting, a leader moving, a connection lost) do not throw:
    /// the poll waits `retry.backoff.ms`, returns what it has (maybe nothing), and the next poll
    /// reconnects and refreshes metadata, as the Java client's `poll` does.
    /// - Throws: group errors that a rejoin cannot fix, OFFSET_OUT_OF_RANGE with
    ///   `auto.offset.reset=none`, other non-retriable broker errors, ``ClientError/closed``.
    public func poll(maxWait: Duration = .milliseconds(500)) async throws -> [ConsumerRecord] {
        guard !isClosed else { throw ClientError.closed }
        guard !polling else { throw ClientError.invalidArgument("poll is already running on this consumer") }
        polling = true
        defer { polling = false }
        do {
            if !subscription.isEmpty { await maybeCheckSubscribedMetadata() }
            if needsRejoin, !subscription.isEmpty { try await rejoin() }
            try await maybeAutoCommit()
            if buffered.isEmpty {
                try await resolvePositions()
                try await fetchOnce(maxWait: maxWait)
            }
        } catch let error as ClientError where error.isRetriable {
            logger.debug("poll: retriable error", metadata: ["error": "\(error)"])
            try await Task.sleep(for: configuration.client.retryBackoff)
        }
        let out = buffered
        buffered = []
        metrics.records.increment(by: out.count)
        return out
    }

    /// `poll` for ``ConsumerRecordSequence``: `nil` once closed, and no empty batches.
    func pollOrEnd() async throws -> [ConsumerRecord]? {
        while !isClosed {
            do {
                let records = try await poll()
                if !records.isEmpty { return records }
                if assigned.isEmpty && subscription.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            } catch ClientError.closed {
                return nil
            } catch let error as ClientError where error.isRetriable {
                logger.debug("poll failed, retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: configuration.client.retryBackoff)
            }
        }
        return nil
    }

    /// Gives each assigned partition without a position its committed offset or the reset offset.
    func resolvePositions() async throws {
        let missing = assigned.filter { positions[$0] == nil }
        guard !missing.isEmpty else { return }
        var committed: [TopicPartition: Int64] = [:]
        if configuration.groupID != nil { committed = try await committedOffsets(missing) }
        var toReset: [TopicPartition] = []
        for tp in missing {
            if let offset = committed[tp], offset >= 0 { positions[tp] = offset } else { toReset.append(tp) }
        }
        try await reset(toReset)
    }

    /// Moves `partitions` to the offset ``ConsumerConfiguration/autoOffsetReset`` names.
    func reset(_ partitions: [TopicPartition]) async throws {
        guard !partitions.isEmpty else { return }
        switch configuration.autoOffsetReset {
        case .none:
            throw ClientError.broker(code: .offsetOutOfRange, message: "no committed offset and auto.offset.reset=none",
                                     context: "position of \(partitions.map(\.description).joined(separator: ","))")
        case .earliest, .latest:
            let offsets = try await listOffsets(partitions, timestamp: configuration.autoOffsetReset == .earliest ? -2 : -1)
            for (tp, offset) in offsets where assigned.contains(tp) { positions[tp] = offset }
        }
    }

    /// A Fetch round in flight: a request to each leader, and the offset each partition was
    /// fetched from, so results for a partition that was seeked, paused or revoked since are dropped.
    struct FetchRound {
        let offsets: [TopicPartition: Int64]
        let byLeader: [Int32: [TopicPartition]]
        let task: Task<[(Int32, Result<FetchResponse, any Error>)], Never>
    }

    /// One Fetch round: the one sent ahead by the previous poll, else a new one. When it brings
    /// records, the next round is sent at once, so the broker works on it while the application
    /// handles these (the Java client and librdkafka prefetch the same way).
    func fetchOnce(maxWait: Duration) async throws {
        let round: FetchRound
        if let pending = prefetch {
            prefetch = nil
            round = pending
        } else if let started = try await startFetchRound(maxWait: maxWait) {
            round = started
        } else {
            try await Task.sleep(for: min(maxWait, .milliseconds(100)))
            return
        }
        let results = await round.task.value
        var firstError: (any Error)?
        for (leader, result) in results {
            switch result {
            case .success(let response): try await apply(response, fetchedFrom: round.offsets)
            case .failure(let error):
                await core.dropConnection(to: leader)
                for tp in round.byLeader[leader] ?? [] { leaders[tp] = nil }
                firstError = firstError ?? error
            }
        }
        if let firstError, buffered.isEmpty { throw firstError }
        if !buffered.isEmpty, prefetch == nil { prefetch = try? await startFetchRound(maxWait: maxWait) }
    }

    /// Sends a Fetch to each leader of the fetchable partitions, in parallel; `nil` when nothing
    /// can be fetched (all paused, or no position yet).
    private func startFetchRound(maxWait: Duration) async throws -> FetchRound? {
        let fetchable = assigned.filter { !paused.contains($0) && positions[$0] != nil }
        guard !fetchable.isEmpty else { return nil }
        var byLeader: [Int32: [TopicPartition]] = [:]
        for tp in fetchable {
            if leaders[tp] == nil || leaders[tp]! < 0 { try await refreshLeaders(tp.topic) }
            guard let leader = leaders[tp], leader >= 0 else { continue }
            byLeader[leader, default: []].append(tp)
        }
        var offsets: [TopicPartition: Int64] = [:]
        for tp in byLeader.values.joined() { offsets[tp] = positions[tp] }
        let requests = byLeader.map { leader, partitions in (leader, makeFetchRequest(partitions, maxWait: maxWait)) }
        metrics.fetches.increment(by: requests.count)
        let core = self.core
        let task = Task {
            await withTaskGroup(of: (Int32, Result<FetchResponse, any Error>).self) { group in
                for (leader, request) in requests {
                    group.addTask {
                        do {
                            let connection = try await core.connection(to: leader)
                            return (leader, .success(try await connection.send(request)))
                        } catch {
                            return (leader, .failure(error))
                        }
                    }
                }
                var out: [(Int32, Result<FetchResponse, any Error>)] = []
                for await result in group { out.append(result) }
                return out
            }
        }
        return FetchRound(offsets: offsets, byLeader: byLeader, task: task)
    }

    /// Drops a round sent ahead (after a seek, pause, new assignment or close).
    func discardPrefetch() {
        prefetch?.task.cancel()
        prefetch = nil
    }

    private func makeFetchRequest(_ partitions: [TopicPartition], maxWait: Duration) -> FetchRequest {
        let byTopic = Dictionary(grouping: partitions, by: \.topic)
        return FetchRequest(
            maxWaitMs: maxWait.milliseconds32, minBytes: Int32(clamping: configuration.fetchMinBytes),
            maxBytes: Int32(clamping: configuration.fetchMaxBytes), isolationLevel: configuration.isolationLevel.rawValue,
            sessionID: 0, sessionEpoch: -1,
            topics: byTopic.keys.sorted().map { topic in
                FetchRequest.Topic(topic: topic, partitions: byTopic[topic]!.map {
                    FetchRequest.Partition(partition: $0.partition, fetchOffset: positions[$0]!,
                                           partitionMaxBytes: Int32(clamping: configuration.maxPartitionFetchBytes))
                })
            })
    }

    private func apply(_ response: FetchResponse, fetchedFrom offsets: [TopicPartition: Int64]) async throws {
        if response.errorCode != .none {
            throw ClientError.broker(code: response.errorCode, message: nil, context: "Fetch")
        }
        for topic in response.responses {
            for partition in topic.partitions {
                let tp = TopicPartition(topic: topic.topic, partition: partition.partitionIndex)
                guard let position = positions[tp], offsets[tp] == position, assigned.contains(tp),
                      !paused.contains(tp) else { continue }
                switch partition.errorCode {
                case .none:
                    let (records, next) = try decodeRecords(partition, topicPartition: tp, from: position)
                    buffered += records
                    positions[tp] = next
                case .offsetOutOfRange:
                    logger.info("offset out of range, resetting", metadata: ["partition": "\(tp)", "offset": "\(position)"])
                    positions[tp] = nil
                    try await reset([tp])
                case let code where code.invalidatesMetadata || code.isRetriable:
                    leaders[tp] = nil
                    await core.invalidate(topic: tp.topic)
                default:
                    throw ClientError.broker(code: partition.errorCode, message: nil, context: "Fetch from \(tp)")
                }
            }
        }
    }

    /// The records at or after `position` in a partition's fetched batches, and the next position.
    /// Control batches and, under read_committed, batches of aborted transactions are skipped.
    func decodeRecords(_ data: FetchResponse.PartitionData, topicPartition tp: TopicPartition,
                       from position: Int64) throws -> ([ConsumerRecord], Int64) {
        var buffer = data.records
        var out: [ConsumerRecord] = []
        var next = position
        var aborted = (data.abortedTransactions ?? []).sorted { $0.firstOffset < $1.firstOffset }
        var abortedProducers: Set<Int64> = []
        let readCommitted = configuration.isolationLevel == .readCommitted
        while let (header, batch) = buffer.readRecordBatch() {
            guard header.nextOffset > next else { continue }
            // As the Java client's check.crcs: a corrupt batch must not reach the application.
            guard RecordBatchHeader.crcMatches(batch, at: batch.readerIndex, header: header) else {
                throw ClientError.broker(code: .corruptMessage, message: "record batch at offset \(header.baseOffset) fails its CRC-32C",
                                         context: "Fetch from \(tp)")
            }
            if readCommitted {
                while let first = aborted.first, first.firstOffset <= header.lastOffset {
                    abortedProducers.insert(first.producerID)
                    aborted.removeFirst()
                }
            }
            if header.isControl {
                if readCommitted { abortedProducers.remove(header.producerID) }
                next = header.nextOffset
                continue
            }
            if readCommitted, header.isTransactional, abortedProducers.contains(header.producerID) {
                next = header.nextOffset
                continue
            }
            let records = try RecordBatchHeader.records(of: batch, maxUncompressedBytes: max(configuration.fetchMaxBytes, 64 << 20))
            let type: TimestampType = header.isLogAppendTime ? .logAppendTime : .createTime
            for record in records {
                let offset = header.baseOffset + Int64(record.offsetDelta)
                guard offset >= next else { continue }
                out.append(ConsumerRecord(
                    topic: tp.topic, partition: tp.partition, offset: offset,
                    timestamp: header.isLogAppendTime ? header.maxTimestamp : header.baseTimestamp + record.timestampDelta,
                    timestampType: type, key: record.key, value: record.value,
                    headers: record.headers.map { RecordHeader(key: $0.key, value: $0.value) },
                    leaderEpoch: header.partitionLeaderEpoch))
            }
            next = header.nextOffset
        }
        return (out, next)
    }

    func refreshLeaders(_ topic: String) async throws {
        await core.invalidate(topic: topic)
        recordLeaders(try await core.topic(topic))
    }
}
