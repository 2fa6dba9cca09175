/// The settings one partition's log runs with (Kafka topic-level names in the comments).
public struct LogConfig: Sendable, Equatable {
    /// `segment.bytes`: roll the active segment before it would pass this many bytes. Default 1 GiB.
    public var segmentBytes: Int
    /// `index.interval.bytes`: bytes of appended data between two sparse index entries. Default 4096.
    public var indexIntervalBytes: Int
    /// `max.message.bytes`: largest record batch accepted, in bytes. Default 1048588.
    public var maxMessageBytes: Int
    /// `flush.messages` == 1 semantics: fsync after every append (used by the metadata log).
    public var flushOnAppend: Bool

    public init(segmentBytes: Int = 1_073_741_824, indexIntervalBytes: Int = 4096,
                maxMessageBytes: Int = 1_048_588, flushOnAppend: Bool = false) {
        self.segmentBytes = segmentBytes
        self.indexIntervalBytes = indexIntervalBytes
        self.maxMessageBytes = maxMessageBytes
        self.flushOnAppend = flushOnAppend
    }
}
