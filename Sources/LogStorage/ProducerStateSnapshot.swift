import KafkaProtocol
import NIOCore

/// Why a producer-state snapshot could not be decoded. Every case means the file is unusable
/// (torn, corrupt, or not ours): delete it and rebuild from an older snapshot or the log.
public enum ProducerStateSnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the fixed header (version, crc, count).
    case truncated(size: Int)
    /// The version field is not ``ProducerStateSnapshot/version``.
    case unsupportedVersion(Int16)
    /// The stored CRC-32C does not match the content.
    case crcMismatch(stored: UInt32, computed: UInt32)
    /// The CRC matched but the content does not parse.
    case malformed(String)

    public var description: String {
        switch self {
        case .truncated(let size): return "producer snapshot of \(size) bytes is shorter than its header"
        case .unsupportedVersion(let v): return "producer snapshot has unknown version \(v)"
        case .crcMismatch(let stored, let computed):
            return "producer snapshot is corrupt: stored crc \(stored), computed crc \(computed)"
        case .malformed(let reason): return "producer snapshot is malformed: \(reason)"
        }
    }
}

/// Encoding of a whole ``ProducerStateManager`` to bytes and back, and the snapshot file names
/// (after Kafka's `ProducerStateManager.writeSnapshot`/`readSnapshot` and `LogFileUtils`).
///
/// Byte layout, all integers big-endian:
///
/// | Offset | Size | Field |
/// |---|---|---|
/// | 0 | 2 | version int16 = ``version`` (101) |
/// | 2 | 4 | crc uint32: CRC-32C (Castagnoli) of bytes 6..end |
/// | 6 | 4 | producer count int32 |
/// | 10 | … | producer entries, ascending producer id |
///
/// Each producer entry (19 bytes + 32 per batch):
/// producerId int64 · epoch int16 · lastAppendTimeMs int64 · batchCount int8 (1…5) ·
/// then `batchCount` batches, oldest first, each
/// firstSequence int32 · lastSequence int32 · firstOffset int64 · lastOffset int64 · maxTimestamp int64.
///
/// Kafka's own format (version 1) has the same version/crc/array framing but keeps only the
/// newest batch per producer (last_sequence, last_offset, offset_delta, timestamp) plus
/// transaction fields (coordinator_epoch, current_txn_first_offset). Runnel keeps all 5 batches so
/// retried duplicates are still recognised after a restart, and so uses a version number Kafka
/// does not: a Kafka snapshot is refused, never misread. The same state always encodes to the
/// same bytes.
public enum ProducerStateSnapshot {
    /// The format version written and accepted.
    public static let version: Int16 = 101
    /// Bytes before the first producer entry.
    static let headerSize = 10
    /// Where the CRC-covered content starts (after version and crc), as in Kafka.
    static let crcCoveredStart = 6
    static let entryHeaderSize = 19
    static let batchSize = 32

    /// Kafka `LogFileUtils.PRODUCER_SNAPSHOT_FILE_SUFFIX`.
    public static let fileSuffix = ".snapshot"

    // MARK: - Encoding

    /// The whole state as snapshot bytes.
    public static func encode(_ state: ProducerStateManager) -> ByteBuffer {
        let batchCount = state.producers.values.reduce(0) { $0 + $1.batches.count }
        var out = ByteBuffer()
        out.reserveCapacity(headerSize + state.count * entryHeaderSize + batchCount * batchSize)
        out.writeInteger(version, endianness: .big)
        out.writeInteger(UInt32(0), endianness: .big) // crc, filled in below
        out.writeInteger(Int32(state.count), endianness: .big)
        for (id, entry) in state.producers.sorted(by: { $0.key < $1.key }) {
            out.writeInteger(id, endianness: .big)
            out.writeInteger(entry.epoch, endianness: .big)
            out.writeInteger(entry.lastAppendTimeMs, endianness: .big)
            out.writeInteger(Int8(entry.batches.count), endianness: .big)
            for b in entry.batches {
                out.writeInteger(b.firstSequence, endianness: .big)
                out.writeInteger(b.lastSequence, endianness: .big)
                out.writeInteger(b.firstOffset, endianness: .big)
                out.writeInteger(b.lastOffset, endianness: .big)
                out.writeInteger(b.maxTimestamp, endianness: .big)
            }
        }
        let crc = out.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[crcCoveredStart...])) }
        out.setInteger(crc, at: out.readerIndex + 2, endianness: .big)
        return out
    }

    // MARK: - Decoding

    /// The state stored in `bytes` (its readable bytes, which must be exactly one snapshot).
    /// - Throws: ``ProducerStateSnapshotError`` when the bytes are short, of another version,
    ///   fail the CRC, or do not parse.
    public static func decode(_ bytes: ByteBuffer) throws(ProducerStateSnapshotError) -> ProducerStateManager {
        var buffer = bytes
        guard buffer.readableBytes >= headerSize else { throw .truncated(size: buffer.readableBytes) }
        let storedVersion = buffer.readInteger(endianness: .big, as: Int16.self)!
        guard storedVersion == version else { throw .unsupportedVersion(storedVersion) }
        let stored = buffer.readInteger(endianness: .big, as: UInt32.self)!
        let computed = CRC32C.checksum(buffer)
        guard stored == computed else { throw .crcMismatch(stored: stored, computed: computed) }

        let count = buffer.readInteger(endianness: .big, as: Int32.self)!
        guard count >= 0, Int(count) * (entryHeaderSize + batchSize) <= buffer.readableBytes else {
            throw .malformed("producer count \(count) does not fit in \(buffer.readableBytes) bytes")
        }
        var producers: [Int64: ProducerStateManager.ProducerEntry] = [:]
        producers.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            guard buffer.readableBytes >= entryHeaderSize else { throw .malformed("entry \(index) is cut short") }
            let id = buffer.readInteger(endianness: .big, as: Int64.self)!
            let epoch = buffer.readInteger(endianness: .big, as: Int16.self)!
            let lastAppend = buffer.readInteger(endianness: .big, as: Int64.self)!
            let batchCount = Int(buffer.readInteger(endianness: .big, as: Int8.self)!)
            guard (1...ProducerStateManager.batchesToRetain).contains(batchCount) else {
                throw .malformed("producer \(id) has \(batchCount) batches")
            }
            guard buffer.readableBytes >= batchCount * batchSize else {
                throw .malformed("batches of producer \(id) are cut short")
            }
            guard producers[id] == nil else { throw .malformed("producer \(id) appears twice") }
            var batches: [ProducerStateManager.BatchMetadata] = []
            batches.reserveCapacity(batchCount)
            for _ in 0..<batchCount {
                batches.append(ProducerStateManager.BatchMetadata(
                    firstSequence: buffer.readInteger(endianness: .big, as: Int32.self)!,
                    lastSequence: buffer.readInteger(endianness: .big, as: Int32.self)!,
                    firstOffset: buffer.readInteger(endianness: .big, as: Int64.self)!,
                    lastOffset: buffer.readInteger(endianness: .big, as: Int64.self)!,
                    maxTimestamp: buffer.readInteger(endianness: .big, as: Int64.self)!))
            }
            producers[id] = ProducerStateManager.ProducerEntry(epoch: epoch, batches: batches, lastAppendTimeMs: lastAppend)
        }
        guard buffer.readableBytes == 0 else { throw .malformed("\(buffer.readableBytes) bytes after the last entry") }
        return ProducerStateManager(producers: producers)
    }

    // MARK: - File names

    /// Kafka's snapshot file name for the state as of `offset` (the log end offset the snapshot
    /// covers, exclusive): the offset zero-padded to 20 digits, then `.snapshot`, e.g.
    /// `00000000000000001234.snapshot`.
    public static func fileName(offset: Int64) -> String {
        let digits = String(offset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + fileSuffix
    }

    /// The offset in a snapshot file name (`00000000000000001234.snapshot` → 1234), `nil` for any
    /// other name (including Kafka's `.snapshot.deleted`). Like Kafka it accepts any number of digits.
    public static func offset(fromFileName name: String) -> Int64? {
        guard name.hasSuffix(fileSuffix) else { return nil }
        let digits = name.dropLast(fileSuffix.count)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(digits)
    }
}
