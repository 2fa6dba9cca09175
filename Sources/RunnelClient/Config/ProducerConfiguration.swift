import KafkaProtocol

/// Producer settings. Defaults follow Kafka's Java client 3.x/4.x.
public struct ProducerConfiguration: Sendable, Equatable {
    /// Connection, timeout and bootstrap settings.
    public var client = ClientConfiguration()
    /// Replicas that must have a record before it is acknowledged (`acks`). Default ``Acks/all``.
    public var acks: Acks = .all
    /// How long a partition's batch may wait for more records before it is sent (`linger.ms`).
    /// Default 5 ms (KIP-1030).
    public var linger: Duration = .milliseconds(5)
    /// A partition's batch is sent once it holds this many bytes of records (`batch.size`). Default 16 KiB.
    public var batchSizeBytes: Int = 16_384
    /// Codec for record batches (`compression.type`). Default ``CompressionCodec/none``.
    public var compression: CompressionCodec = .none
    /// Idempotent delivery: a producer id and per-partition sequence numbers so retries never
    /// duplicate (`enable.idempotence`, KIP-98). Requires `acks=all`. Default `true`.
    public var enableIdempotence: Bool = true
    /// Produce requests in flight per broker connection (`max.in.flight.requests.per.connection`);
    /// at most 5 with idempotence. Default 5.
    public var maxInFlightRequestsPerConnection: Int = 5
    /// Upper bound on the time from `send` to success or failure, retries included
    /// (`delivery.timeout.ms`). Default 120 s.
    public var deliveryTimeout: Duration = .seconds(120)
    /// Bytes of records buffered but not yet acknowledged; `send` suspends while this is full
    /// (`buffer.memory`). Default 32 MiB.
    public var bufferMemoryBytes: Int = 32 * 1024 * 1024
    /// Largest produce request, and so the largest record (`max.request.size`). Default 1 MiB.
    public var maxRequestSizeBytes: Int = 1_048_576
    /// How partitions are chosen for records that name none (`partitioner.class` /
    /// librdkafka `partitioner`). Default ``PartitionerKind/murmur2Sticky``.
    public var partitioner: PartitionerKind = .murmur2Sticky

    /// The defaults above.
    public init() {}
}

/// Partitioning rules for records without an explicit partition.
public enum PartitionerKind: String, Sendable, Equatable {
    /// Keyed records: `toPositive(murmur2(key)) % partitions`, as Kafka's Java client and
    /// librdkafka's `murmur2_random`; unkeyed records: sticky partitioning (KIP-480).
    case murmur2Sticky = "murmur2_random"
    /// Every record, keyed or not, goes to the sticky partition (KIP-480).
    case sticky = "sticky"
}
