/// The settings one partition's log runs with. Each field names its Kafka topic key; the broker
/// fills them from the topic's overrides and the broker defaults (`log.*` keys).
public struct LogConfig: Sendable, Equatable {
    /// `segment.bytes`: roll the active segment before it would pass this many bytes. Default 1 GiB.
    public var segmentBytes: Int
    /// `segment.ms`: roll the active segment once its first batch is this many milliseconds old. Default 7 days.
    public var segmentMs: Int64
    /// `segment.index.bytes`: bytes each `.index`/`.timeindex` file is preallocated to; a full index rolls. Default 10 MiB.
    public var segmentIndexBytes: Int
    /// `index.interval.bytes`: bytes of appended data between two index entries. Default 4096.
    public var indexIntervalBytes: Int
    /// `max.message.bytes`: largest record batch accepted, in bytes. Default 1048588.
    public var maxMessageBytes: Int
    /// `retention.ms`: milliseconds a closed segment is kept after its newest record; -1 forever. Default 7 days.
    public var retentionMs: Int64
    /// `retention.bytes`: bytes the log keeps before deleting its oldest segments; -1 no limit.
    public var retentionBytes: Int64
    /// `file.delete.delay.ms`: milliseconds a deleted segment stays renamed `.deleted`. Default 60000.
    public var fileDeleteDelayMs: Int64
    /// `cleanup.policy` contains `delete`: retention deletes old segments.
    public var deleteEnabled: Bool
    /// `cleanup.policy` contains `compact`: the cleaner keeps the newest record per key.
    public var compactEnabled: Bool
    /// `min.cleanable.dirty.ratio`: dirty bytes / total bytes that makes a log worth cleaning. Default 0.5.
    public var minCleanableDirtyRatio: Double
    /// `min.compaction.lag.ms`: milliseconds a record stays uncompacted after it is written. Default 0.
    public var minCompactionLagMs: Int64
    /// `delete.retention.ms`: milliseconds a tombstone survives after its segment is cleaned. Default 1 day.
    public var deleteRetentionMs: Int64
    /// fsync after every append, on the appending thread (the metadata log only). Partition logs
    /// use ``LogFlusher`` instead, which never syncs on the owner.
    public var flushOnAppend: Bool
    /// `flush.messages`: a background sync starts once this many offsets are appended and not yet
    /// synced; it never delays an acknowledgement. Default `Int64.max` (never).
    public var flushIntervalMessages: Int64
    /// `flush.ms`: milliseconds after the last sync when the flush scheduler
    /// (`log.flush.scheduler.interval.ms`) starts a background sync of unsynced appends. Default
    /// `Int64.max` (never).
    public var flushIntervalMs: Int64
    /// `runnel.flush.on.ack` (Runnel extension): acks=1 and acks=all produce responses wait until
    /// the appended bytes are synced (group commit, ``LogFlusher``). Default false.
    public var flushOnAck: Bool

    public init(segmentBytes: Int = 1_073_741_824, segmentMs: Int64 = 604_800_000, segmentIndexBytes: Int = 10_485_760,
                indexIntervalBytes: Int = 4096, maxMessageBytes: Int = 1_048_588, retentionMs: Int64 = 604_800_000,
                retentionBytes: Int64 = -1, fileDeleteDelayMs: Int64 = 60_000, deleteEnabled: Bool = true,
                compactEnabled: Bool = false, minCleanableDirtyRatio: Double = 0.5, minCompactionLagMs: Int64 = 0,
                deleteRetentionMs: Int64 = 86_400_000, flushOnAppend: Bool = false, flushIntervalMessages: Int64 = .max,
                flushIntervalMs: Int64 = .max, flushOnAck: Bool = false) {
        self.segmentBytes = segmentBytes
        self.segmentMs = segmentMs
        self.segmentIndexBytes = segmentIndexBytes
        self.indexIntervalBytes = indexIntervalBytes
        self.maxMessageBytes = maxMessageBytes
        self.retentionMs = retentionMs
        self.retentionBytes = retentionBytes
        self.fileDeleteDelayMs = fileDeleteDelayMs
        self.deleteEnabled = deleteEnabled
        self.compactEnabled = compactEnabled
        self.minCleanableDirtyRatio = minCleanableDirtyRatio
        self.minCompactionLagMs = minCompactionLagMs
        self.deleteRetentionMs = deleteRetentionMs
        self.flushOnAppend = flushOnAppend
        self.flushIntervalMessages = flushIntervalMessages
        self.flushIntervalMs = flushIntervalMs
        self.flushOnAck = flushOnAck
    }
}
