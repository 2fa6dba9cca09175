import KafkaProtocol
import SystemPackage

/// A storage failure, with the Kafka error code it becomes on the wire.
public enum StorageError: Error, Sendable, CustomStringConvertible {
    /// A system call failed (disk full, I/O error, permissions). Becomes KAFKA_STORAGE_ERROR.
    case io(operation: String, path: String, errno: Errno)
    /// The requested offset is outside [log start offset, log end offset]. Becomes OFFSET_OUT_OF_RANGE.
    case offsetOutOfRange(requested: Int64, logStartOffset: Int64, logEndOffset: Int64)
    /// A batch is larger than a segment may hold. Becomes RECORD_LIST_TOO_LARGE.
    case batchLargerThanSegment(size: Int, segmentBytes: Int)
    /// On-disk bytes failed validation while reading. Becomes CORRUPT_MESSAGE.
    case corrupt(path: String, position: Int64, reason: String)
    /// The log directory has fewer available bytes than `runnel.log.dir.min.free.bytes`: the append
    /// was refused before anything was written. Becomes KAFKA_STORAGE_ERROR (retriable: produce
    /// resumes once space returns). See ``LogDirectoryHealth``.
    case logDirectoryFull(path: String, freeBytes: Int64, minFreeBytes: Int64)
    /// An earlier I/O error took the log directory offline. Becomes KAFKA_STORAGE_ERROR, as in Kafka.
    case logDirectoryOffline(path: String, reason: String)
    /// The read starts inside a range whose stored bytes failed verification (``LogCorruption``):
    /// refused rather than served. Becomes KAFKA_STORAGE_ERROR, which clients retry after
    /// refreshing metadata, by when a healthy replica may lead.
    case corruptRange(LogCorruption)

    /// The Kafka error code that a request touching this failure answers with.
    public var errorCode: ErrorCode {
        switch self {
        case .io: return .kafkaStorageError
        case .offsetOutOfRange: return .offsetOutOfRange
        case .batchLargerThanSegment: return .recordListTooLarge
        case .corrupt: return .corruptMessage
        case .logDirectoryFull, .logDirectoryOffline, .corruptRange: return .kafkaStorageError
        }
    }

    public var description: String {
        switch self {
        case .io(let op, let path, let errno): return "\(op) \(path): \(errno)"
        case .offsetOutOfRange(let r, let s, let e): return "offset \(r) outside [\(s), \(e)]"
        case .batchLargerThanSegment(let size, let seg): return "batch of \(size) bytes exceeds segment.bytes \(seg)"
        case .corrupt(let path, let pos, let reason): return "corrupt data in \(path) at \(pos): \(reason)"
        case .logDirectoryFull(let path, let free, let minimum):
            return "log dir \(path) has \(free) bytes free, below runnel.log.dir.min.free.bytes (\(minimum)): produce is refused until space is freed"
        case .logDirectoryOffline(let path, let reason):
            return "log dir \(path) is offline after an I/O error (\(reason)); restart the broker once the disk is fixed"
        case .corruptRange(let corruption):
            return "stored data failed verification and is not served: \(corruption)"
        }
    }
}
