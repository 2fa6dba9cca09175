import NIOCore

/// A record header: a UTF-8 key and an optional byte value (KIP-82).
public struct RecordHeader: Sendable, Equatable {
    public var key: String
    public var value: ByteBuffer?

    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }

    /// A header with a UTF-8 string value.
    public init(key: String, value: String) {
        self.init(key: key, value: ByteBuffer(string: value))
    }
}

/// A record to send: topic, optional partition, key, value, headers and timestamp.
public struct ProducerRecord: Sendable, Equatable {
    public var topic: String
    /// The partition; `nil` lets the partitioner choose (murmur2 of the key, or sticky without one).
    public var partition: Int32?
    /// `nil` is a null key (the record is then partitioned sticky).
    public var key: ByteBuffer?
    /// `nil` is a null value (a tombstone on compacted topics).
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    /// Create time in milliseconds since the Unix epoch; `nil` stamps the time of `send`.
    public var timestamp: Int64?

    public init(topic: String, partition: Int32? = nil, key: ByteBuffer? = nil, value: ByteBuffer?,
                headers: [RecordHeader] = [], timestamp: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// A record with UTF-8 string key and value.
    public init(topic: String, partition: Int32? = nil, key: String? = nil, value: String?,
                headers: [RecordHeader] = [], timestamp: Int64? = nil) {
        self.init(topic: topic, partition: partition, key: key.map { ByteBuffer(string: $0) },
                  value: value.map { ByteBuffer(string: $0) }, headers: headers, timestamp: timestamp)
    }
}

/// Where a sent record was stored.
public struct RecordMetadata: Sendable, Equatable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    /// The record's offset; -1 with `acks=0`, where the broker does not say.
    public var offset: Int64
    /// Milliseconds since the Unix epoch: the log append time when the topic uses
    /// `message.timestamp.type=LogAppendTime`, else the record's create time.
    public var timestamp: Int64

    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
    }

    public var description: String { "\(topic)-\(partition)@\(offset)" }
}

/// A topic name and partition index.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible, Comparable {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)-\(partition)" }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// Called once per record with its metadata or the error that ended its delivery.
public typealias DeliveryHandler = @Sendable (Result<RecordMetadata, any Error>) -> Void

/// Called once per record of a bulk send with the record's index in the sent array.
public typealias BulkDeliveryHandler = @Sendable (Int, Result<RecordMetadata, any Error>) -> Void

/// Called for a run of consecutive records of a bulk send that were delivered (or failed)
/// together, with their indices in the sent array. On success the metadata is the first
/// record's; the record at index `i` has offset `metadata.offset + (i - indices.lowerBound)`
/// (or -1 for all with `acks=0`), and all share the partition and timestamp.
public typealias RangeDeliveryHandler = @Sendable (Range<Int>, Result<RecordMetadata, any Error>) -> Void

/// Whom to tell about one record: its own handler, or a bulk send's shared handler and the
/// record's index (which saves allocating a closure per record).
enum DeliveryTarget: Sendable {
    case single(DeliveryHandler)
    case indexed(BulkDeliveryHandler, Int)
    case ranged(RangeDeliveryHandler, Int)

    func callAsFunction(_ result: Result<RecordMetadata, any Error>) {
        deliver(result, count: 1, offsetsKnown: true)
    }

    /// The target of the record `distance` places after this one in the same bulk send.
    func advanced(by distance: Int) -> DeliveryTarget {
        switch self {
        case .single: return self
        case .indexed(let handler, let index): return .indexed(handler, index + distance)
        case .ranged(let handler, let index): return .ranged(handler, index + distance)
        }
    }

    /// The record's index in its bulk send; -1 for a single send.
    var firstIndex: Int {
        switch self {
        case .single: return -1
        case .indexed(_, let index), .ranged(_, let index): return index
        }
    }

    /// Reports the outcome of `count` consecutive records starting with this one; `result`
    /// holds the first record's metadata, the others' offsets follow when `offsetsKnown`.
    func deliver(_ result: Result<RecordMetadata, any Error>, count: Int, offsetsKnown: Bool) {
        switch self {
        case .single(let handler):
            handler(result)
        case .indexed(let handler, let first):
            guard case .success(let metadata) = result, offsetsKnown else {
                for index in first..<(first + count) { handler(index, result) }
                return
            }
            var each = metadata
            for index in first..<(first + count) {
                each.offset = metadata.offset + Int64(index - first)
                handler(index, .success(each))
            }
        case .ranged(let handler, let first):
            handler(first..<(first + count), result)
        }
    }
}
