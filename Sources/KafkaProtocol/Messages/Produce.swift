import NIOCore

/// Produce request (key 0), versions 0-9, flexible from 9.
///
/// `records` is kept as raw bytes (a slice of the request); `nil` is the null marker. From v3 they
/// are one RecordBatch v2; in v0-2 they are a legacy message set of magic 0 or 1
/// (``LegacyMessageSet``), which Kafka 3.x brokers converted and so does Runnel. v0-2 have no
/// `transactional_id`; the response gains `throttle_time_ms` in v1 and `log_append_time_ms` in v2.
public struct ProduceRequest: KafkaRequest, Equatable {
    public typealias Response = ProduceResponse
    public static let apiKey = ApiKey.produce

    /// Records for one partition.
    public struct PartitionData: Equatable, Sendable {
        /// Partition index.
        public var index: Int32
        /// Raw record batches; `nil` when the client sent null.
        public var records: ByteBuffer?
        public var taggedFields = TaggedFields()

        public init(index: Int32, records: ByteBuffer?) {
            self.index = index
            self.records = records
        }
    }

    /// Records for one topic.
    public struct TopicData: Equatable, Sendable {
        public var name: String
        public var partitionData: [PartitionData]
        public var taggedFields = TaggedFields()

        public init(name: String, partitionData: [PartitionData]) {
            self.name = name
            self.partitionData = partitionData
        }
    }

    /// Transactional ID (v3+), `nil` for non-transactional producers.
    public var transactionalID: String?
    /// Required acknowledgements: 0 none, 1 leader, -1 full ISR.
    public var acks: Int16
    /// Milliseconds to wait for the acknowledgements.
    public var timeoutMs: Int32
    public var topicData: [TopicData]
    public var taggedFields = TaggedFields()

    public init(transactionalID: String? = nil, acks: Int16, timeoutMs: Int32, topicData: [TopicData]) {
        self.transactionalID = transactionalID
        self.acks = acks
        self.timeoutMs = timeoutMs
        self.topicData = topicData
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        transactionalID = version >= 3 ? try reader.readNullableString("transactional_id") : nil
        acks = try reader.readInt16("acks")
        timeoutMs = try reader.readInt32("timeout_ms")
        topicData = try reader.readArray("topic_data") { r in
            let name = try r.readString("name")
            let partitions = try r.readArray("partition_data") { r in
                var p = PartitionData(index: try r.readInt32("index"), records: try r.readNullableBytes("records"))
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = TopicData(name: name, partitionData: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 3 { writer.writeNullableString(transactionalID) }
        writer.writeInt16(acks)
        writer.writeInt32(timeoutMs)
        writer.writeArray(topicData) { w, t in
            w.writeString(t.name)
            w.writeArray(t.partitionData) { w, p in
                w.writeInt32(p.index)
                w.writeNullableBytes(p.records)
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// Produce response (key 0), versions 0-9, flexible from 9.
///
/// `throttleTimeMs` (v1+) comes after the topic array on the wire.
public struct ProduceResponse: KafkaMessage, Equatable {
    /// One record that caused its batch to be dropped (v8+).
    public struct RecordError: Equatable, Sendable {
        /// Index of the record within its batch.
        public var batchIndex: Int32
        public var batchIndexErrorMessage: String?
        public var taggedFields = TaggedFields()

        public init(batchIndex: Int32, batchIndexErrorMessage: String? = nil) {
            self.batchIndex = batchIndex
            self.batchIndexErrorMessage = batchIndexErrorMessage
        }
    }

    /// Result for one partition.
    public struct PartitionResponse: Equatable, Sendable {
        /// Partition index.
        public var index: Int32
        public var errorCode: ErrorCode
        /// Offset given to the first record appended.
        public var baseOffset: Int64
        /// Broker append time in ms (v2+) for LogAppendTime topics, else -1.
        public var logAppendTimeMs: Int64
        /// Log start offset (v5+), -1 when unknown.
        public var logStartOffset: Int64
        /// Records that caused the batch to be dropped (v8+).
        public var recordErrors: [RecordError]
        /// Summary error message (v8+).
        public var errorMessage: String?
        public var taggedFields = TaggedFields()

        public init(index: Int32, errorCode: ErrorCode = .none, baseOffset: Int64, logAppendTimeMs: Int64 = -1,
                    logStartOffset: Int64 = -1, recordErrors: [RecordError] = [], errorMessage: String? = nil) {
            self.index = index
            self.errorCode = errorCode
            self.baseOffset = baseOffset
            self.logAppendTimeMs = logAppendTimeMs
            self.logStartOffset = logStartOffset
            self.recordErrors = recordErrors
            self.errorMessage = errorMessage
        }
    }

    /// Results for one topic.
    public struct TopicResponse: Equatable, Sendable {
        public var name: String
        public var partitionResponses: [PartitionResponse]
        public var taggedFields = TaggedFields()

        public init(name: String, partitionResponses: [PartitionResponse]) {
            self.name = name
            self.partitionResponses = partitionResponses
        }
    }

    public var responses: [TopicResponse]
    /// Milliseconds the request was throttled (v1+).
    public var throttleTimeMs: Int32
    public var taggedFields = TaggedFields()

    public init(responses: [TopicResponse], throttleTimeMs: Int32 = 0) {
        self.responses = responses
        self.throttleTimeMs = throttleTimeMs
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        responses = try reader.readArray("responses") { r in
            let name = try r.readString("name")
            let partitions = try r.readArray("partition_responses") { r in
                var p = PartitionResponse(
                    index: try r.readInt32("index"),
                    errorCode: ErrorCode(try r.readInt16("error_code")),
                    baseOffset: try r.readInt64("base_offset"),
                    logAppendTimeMs: version >= 2 ? try r.readInt64("log_append_time_ms") : -1,
                    logStartOffset: version >= 5 ? try r.readInt64("log_start_offset") : -1)
                if version >= 8 {
                    p.recordErrors = try r.readArray("record_errors") { r in
                        var e = RecordError(batchIndex: try r.readInt32("batch_index"),
                                            batchIndexErrorMessage: try r.readNullableString("batch_index_error_message"))
                        e.taggedFields = try r.readTaggedFields()
                        return e
                    }
                    p.errorMessage = try r.readNullableString("error_message")
                }
                p.taggedFields = try r.readTaggedFields()
                return p
            }
            var t = TopicResponse(name: name, partitionResponses: partitions)
            t.taggedFields = try r.readTaggedFields()
            return t
        }
        throttleTimeMs = version >= 1 ? try reader.readInt32("throttle_time_ms") : 0
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(responses) { w, t in
            w.writeString(t.name)
            w.writeArray(t.partitionResponses) { w, p in
                w.writeInt32(p.index)
                w.writeInt16(p.errorCode.rawValue)
                w.writeInt64(p.baseOffset)
                if version >= 2 { w.writeInt64(p.logAppendTimeMs) }
                if version >= 5 { w.writeInt64(p.logStartOffset) }
                if version >= 8 {
                    w.writeArray(p.recordErrors) { w, e in
                        w.writeInt32(e.batchIndex)
                        w.writeNullableString(e.batchIndexErrorMessage)
                        w.writeTaggedFields(e.taggedFields)
                    }
                    w.writeNullableString(p.errorMessage)
                }
                w.writeTaggedFields(p.taggedFields)
            }
            w.writeTaggedFields(t.taggedFields)
        }
        if version >= 1 { writer.writeInt32(throttleTimeMs) }
        writer.writeTaggedFields(taggedFields)
    }
}
