import KafkaProtocol
import LogStorage
import NIOCore

extension RequestHandlers {
    /// Fetch v0-12. Every requested partition is answered; empty partitions carry zero-length
    /// records; HW, LSO and log start offset are always filled; the batch containing the fetch
    /// offset is returned whole and at least one batch goes out even past the byte limits (KIP-74).
    /// Fetch v0-3 gets the same data down-converted to magic 0 (v0-1) or magic 1 (v2-3) messages,
    /// uncompressed, from the fetch offset on, within the same limits (the first message even past
    /// them) (``downConverted(_:partition:magic:fetchOffset:limit:firstData:isReplica:)``).
    /// When less than `min_bytes` is available the fetch waits up to `max_wait_ms` for an append and
    /// then answers with what it has and no error. Fetch sessions (KIP-227) are always declined
    /// (session id 0), which every client accepts.
    /// - Parameter sendsFiles: whether the connection can send record sets from their segment
    ///   files (`sendfile`, plaintext listeners): a consumer's record set of at least
    ///   `runnel.fetch.sendfile.min.bytes` whose pages are cached is then left in the file.
    func fetch(_ request: FetchRequest, version: Int16, sendsFiles: Bool = false) async -> FetchResponse {
        if request.sessionEpoch > 0 {
            return FetchResponse(errorCode: .fetchSessionIDNotFound, sessionID: 0, responses: [])
        }
        let isReplica = request.replicaID >= 0
        let maxBytes = version >= 3 ? Int(max(request.maxBytes, 0)) : Int.max
        let sendfileMinBytes = config.int("runnel.fetch.sendfile.min.bytes")
        // Partition.read keeps replicas in memory, and readOne down-converted (v0-3) fetches.
        let fileAtLeast = sendsFiles && sendfileMinBytes > 0 ? sendfileMinBytes : nil
        var result = await readPartitions(request, version: version, maxBytes: maxBytes, isReplica: isReplica, fileAtLeast: fileAtLeast)
        if result.bytes < Int(request.minBytes), request.maxWaitMs > 0, !result.hadError {
            let signal = AppendSignal()
            var registered: [Partition] = []
            for topic in request.topics {
                for p in topic.partitions {
                    if let partition = await controller.partition(TopicPartition(topic.topic, p.partition)) {
                        await partition.register(signal, ifNoDataAfter: p.fetchOffset, isReplica: isReplica)
                        registered.append(partition)
                    }
                }
            }
            await RequestTimer.parked { await signal.wait(timeout: .milliseconds(Int64(request.maxWaitMs))) }
            for partition in registered { await partition.unregister(signal) }
            result = await readPartitions(request, version: version, maxBytes: maxBytes, isReplica: isReplica, fileAtLeast: fileAtLeast)
        }
        return FetchResponse(errorCode: .none, sessionID: 0, responses: result.responses)
    }

    private func readPartitions(_ request: FetchRequest, version: Int16, maxBytes: Int, isReplica: Bool, fileAtLeast: Int?)
        async -> (responses: [FetchResponse.TopicResponse], bytes: Int, hadError: Bool)
    {
        var remaining = maxBytes
        var total = 0
        var hadError = false
        var responses: [FetchResponse.TopicResponse] = []
        // Followers need CLUSTER_ACTION on the cluster, consumers READ on each topic (KafkaApis).
        let replicaAllowed = isReplica && authorized(.clusterAction, .cluster)
        for topic in request.topics {
            var partitions: [FetchResponse.PartitionData] = []
            if isReplica ? !replicaAllowed : !authorized(.read, topic: topic.topic) {
                hadError = true
                responses.append(.init(topic: topic.topic, partitions: topic.partitions.map {
                    .init(partitionIndex: $0.partition, errorCode: .topicAuthorizationFailed, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1)
                }))
                continue
            }
            for p in topic.partitions {
                let data = await readOne(topic: topic.topic, p, version: version, budget: remaining,
                                         firstData: total == 0, isReplica: isReplica, replicaID: request.replicaID,
                                         fileAtLeast: fileAtLeast)
                if data.errorCode != .none { hadError = true }
                total += data.recordsByteCount
                remaining = max(0, remaining - data.recordsByteCount)
                partitions.append(data)
            }
            responses.append(.init(topic: topic.topic, partitions: partitions))
        }
        return (responses, total, hadError)
    }

    private func readOne(topic: String, _ p: FetchRequest.Partition, version: Int16, budget: Int,
                         firstData: Bool, isReplica: Bool, replicaID: Int32, fileAtLeast: Int?) async -> FetchResponse.PartitionData {
        guard let partition = await controller.partition(TopicPartition(topic, p.partition)) else {
            return .init(partitionIndex: p.partition, errorCode: await controller.missingPartitionError(TopicPartition(topic, p.partition)),
                         highWatermark: -1,
                         lastStableOffset: -1, logStartOffset: -1)
        }
        var epochError = await partition.checkLeaderEpoch(p.currentLeaderEpoch)
        if isReplica, epochError == .none {
            // A follower's fetch offset is its log end offset: the leader's view of it moves the
            // high watermark and the ISR (Kafka's `updateFollowerFetchState`).
            switch await partition.recordFollowerFetch(replicaID: replicaID, fetchOffset: p.fetchOffset,
                                                        currentLeaderEpoch: p.currentLeaderEpoch) {
            case .refused(let code): epochError = code
            case .recorded(let expansion?):
                if let topicID = await controller.image.topics[topic]?.topicID {
                    controller.proposeISR(expansion, for: TopicPartition(topic, p.partition), topicID: topicID, partition: partition, shrink: false)
                }
            case .recorded(nil): break
            }
        }
        let limit = min(Int(max(p.partitionMaxBytes, 0)), budget)
        do {
            if epochError != .none { throw EpochFenced(code: epochError) }
            // With the budget spent (limit 0) only the first partition with data may still send a batch (KIP-74).
            let legacyMagic = LegacyFormat.fetchMagic(version: version)
            // Down-converted sizes differ from stored ones, so legacy fetches apply the limit after converting.
            var read = try await partition.read(from: p.fetchOffset, maxBytes: limit == 0 && firstData ? 1 : limit,
                                                isReplica: isReplica, oversizedFirstBatch: firstData || legacyMagic != nil,
                                                fileAtLeast: legacyMagic == nil ? fileAtLeast : nil)
            let zstd = read.file.map { $0.compressionCodecs & (1 << UInt8(CompressionCodec.zstd.rawValue)) != 0 }
                ?? Self.containsZstd(read.records)
            if version < 10 && zstd {
                return .init(partitionIndex: p.partition, errorCode: .unsupportedCompressionType, highWatermark: read.highWatermark,
                             lastStableOffset: read.lastStableOffset, logStartOffset: read.logStartOffset)
            }
            if let legacyMagic {
                read.records = try await downConverted(read.records, partition: partition, magic: legacyMagic, fetchOffset: p.fetchOffset,
                                                       limit: limit, firstData: firstData, isReplica: isReplica)
            }
            var data = FetchResponse.PartitionData(partitionIndex: p.partition, highWatermark: read.highWatermark,
                                                   lastStableOffset: read.lastStableOffset, logStartOffset: read.logStartOffset,
                                                   abortedTransactions: nil, records: read.records)
            data.externalRecords = read.file.map { ExternalRecords($0) }
            return data
        } catch {
            let hw = await partition.highWatermark
            let start = await partition.logStartOffset
            let code = (error as? EpochFenced)?.code ?? errorCode(for: error)
            return .init(partitionIndex: p.partition, errorCode: code, highWatermark: hw, lastStableOffset: hw, logStartOffset: start)
        }
    }

    private static func containsZstd(_ records: ByteBuffer) -> Bool {
        var at = records.readerIndex
        while let header = RecordBatchHeader.peek(records, at: at) {
            if header.compressionCodecID == CompressionCodec.zstd.rawValue { return true }
            at += header.totalSize
        }
        return false
    }
}

/// A leader-epoch check failed (KIP-320).
struct EpochFenced: Error {
    var code: ErrorCode
}
