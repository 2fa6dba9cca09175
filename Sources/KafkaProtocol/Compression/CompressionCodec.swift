import NIOCore

/// A RecordBatch compression codec: the value of attribute bits 0–2 of a RecordBatch v2 header
/// (Kafka `CompressionType.java`, `DefaultRecordBatch.java`).
///
/// In a compressed batch everything after `recordsCount` (byte 61 onwards) is one compressed
/// stream of the concatenated records. Each codec writes and reads the exact framing Kafka's
/// clients use:
///
/// | codec | raw value | framing |
/// |---|---|---|
/// | ``none`` | 0 | records as they are |
/// | ``gzip`` | 1 | RFC 1952 gzip member(s) |
/// | ``snappy`` | 2 | snappy-java (xerial) framing; raw snappy blocks (librdkafka) also read |
/// | ``lz4`` | 3 | LZ4 frame format (lz4 `doc/lz4_Frame_format.md`), independent blocks |
/// | ``zstd`` | 4 | zstd frames (RFC 8878, KIP-110) |
///
/// Every decoder treats its input as untrusted: malformed bytes throw ``CompressionError``
/// instead of trapping, and output is capped by `maxOutputBytes`.
public enum CompressionCodec: Int16, Sendable, CaseIterable, CustomStringConvertible {
    /// No compression (attribute value 0).
    case none = 0
    /// gzip, RFC 1952 (attribute value 1).
    case gzip = 1
    /// Snappy in snappy-java framing (attribute value 2).
    case snappy = 2
    /// LZ4 frame format (attribute value 3).
    case lz4 = 3
    /// Zstandard, KIP-110 (attribute value 4); only valid in Produce v7+/Fetch v10+.
    case zstd = 4

    /// The codec named by a Kafka `compression.type` value, case-insensitively.
    ///
    /// Accepts `"none"` (producer config) and `"uncompressed"` (topic/broker config) for
    /// ``none``, plus `"gzip"`, `"snappy"`, `"lz4"` and `"zstd"`. Returns `nil` for anything
    /// else, including the topic value `"producer"`, which means "keep the producer's codec"
    /// and is not a codec itself.
    public init?(name: String) {
        switch name.lowercased() {
        case "none", "uncompressed": self = .none
        case "gzip": self = .gzip
        case "snappy": self = .snappy
        case "lz4": self = .lz4
        case "zstd": self = .zstd
        default: return nil
        }
    }

    /// The codec's name as Kafka's `CompressionType.name` spells it: `"none"`, `"gzip"`,
    /// `"snappy"`, `"lz4"` or `"zstd"`.
    public var name: String {
        switch self {
        case .none: return "none"
        case .gzip: return "gzip"
        case .snappy: return "snappy"
        case .lz4: return "lz4"
        case .zstd: return "zstd"
        }
    }

    /// Same as ``name``.
    public var description: String { name }

    /// Compresses the readable bytes of `input` into a new buffer in this codec's Kafka framing.
    ///
    /// - gzip: one RFC 1952 member, zlib's default level (6).
    /// - snappy: snappy-java framing (magic `82 53 4E 41 50 50 59 00`, version 1, compatible
    ///   version 1, then `[int32 BE length][raw snappy block]` per 32 KiB of input).
    /// - lz4: one LZ4 frame, 64 KiB independent blocks, no block or content checksum.
    /// - zstd: one zstd frame at level 3 (content size recorded).
    /// - none: `input` itself.
    ///
    /// `input`'s reader index is not moved. Throws ``CompressionError/libraryError(codec:code:message:)``
    /// if the underlying library fails (for example on allocation failure), or
    /// ``CompressionError/inputTooLarge(codec:size:)`` past a library's size limit.
    public func compress(_ input: ByteBuffer) throws -> ByteBuffer {
        switch self {
        case .none: return input
        case .gzip: return try GzipCodec.compress(input)
        case .snappy: return try SnappyCodec.compress(input)
        case .lz4: return try LZ4Codec.compress(input)
        case .zstd: return try ZstdCodec.compress(input)
        }
    }

    /// Decompresses the readable bytes of `input`, a stream in this codec's Kafka framing,
    /// into a new buffer of at most `maxOutputBytes` bytes.
    ///
    /// - gzip: one or more concatenated RFC 1952 members (a zlib stream is also accepted).
    /// - snappy: snappy-java framing if `input` starts with its 8-byte magic, else one raw
    ///   snappy block (librdkafka's encoding).
    /// - lz4: one or more LZ4 frames; content-size, content-checksum and block-checksum flags
    ///   are honoured (checksums verified); frames with linked blocks are rejected as Kafka's
    ///   reader does.
    /// - zstd: one or more zstd frames, with or without a recorded content size (streaming
    ///   decompression into a growing buffer).
    /// - none: `input` itself.
    ///
    /// `input`'s reader index is not moved. Throws ``CompressionError/outputTooLarge(codec:limit:)``
    /// as soon as the output would exceed `maxOutputBytes` (a negative limit is treated as 0),
    /// ``CompressionError/corruptInput(codec:reason:)`` for malformed or truncated input, and
    /// ``CompressionError/libraryError(codec:code:message:)`` for other library failures.
    public func decompress(_ input: ByteBuffer, maxOutputBytes: Int) throws -> ByteBuffer {
        let limit = max(0, maxOutputBytes)
        switch self {
        case .none:
            guard input.readableBytes <= limit else { throw CompressionError.outputTooLarge(codec: self, limit: limit) }
            return input
        case .gzip: return try GzipCodec.decompress(input, maxOutputBytes: limit)
        case .snappy: return try SnappyCodec.decompress(input, maxOutputBytes: limit)
        case .lz4: return try LZ4Codec.decompress(input, maxOutputBytes: limit)
        case .zstd: return try ZstdCodec.decompress(input, maxOutputBytes: limit)
        }
    }
}

/// A failure to compress or decompress a RecordBatch's records with a ``CompressionCodec``.
///
/// A broker maps these to `CORRUPT_MESSAGE` (2) or `INVALID_RECORD` (87) for the batch; they
/// never indicate a bug in the caller. ``description`` gives a one-line human-readable message.
public enum CompressionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The compressed bytes are malformed or truncated; `reason` says how.
    case corruptInput(codec: CompressionCodec, reason: String)
    /// Decompression would produce more than `limit` bytes (the caller's `maxOutputBytes`).
    case outputTooLarge(codec: CompressionCodec, limit: Int)
    /// The input is larger than the codec's library can take in one call (`size` in bytes).
    case inputTooLarge(codec: CompressionCodec, size: Int)
    /// The compression library reported an error not attributable to the input:
    /// `code` is the library's own code (zlib `Z_*`, an `LZ4F_errorCodes` value, a
    /// `ZSTD_ErrorCode`, or a `snappy_status`), `message` its text where it has one.
    case libraryError(codec: CompressionCodec, code: Int, message: String)

    /// A one-line message naming the codec and the problem.
    public var description: String {
        switch self {
        case .corruptInput(let codec, let reason):
            return "corrupt \(codec.name) input: \(reason)"
        case .outputTooLarge(let codec, let limit):
            return "\(codec.name) output exceeds the limit of \(limit) bytes"
        case .inputTooLarge(let codec, let size):
            return "\(codec.name) input of \(size) bytes is too large"
        case .libraryError(let codec, let code, let message):
            return "\(codec.name) library error \(code): \(message)"
        }
    }
}

/// Helpers shared by the codec implementations.
enum CompressionSupport {
    /// A valid, never-dereferenced address for zero-length inputs whose `baseAddress` is nil.
    nonisolated(unsafe) static let emptyByte: UnsafeMutablePointer<UInt8> = {
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return pointer
    }()

    /// The start of `bytes` as a mutable byte pointer (C APIs without `const`), never nil.
    static func base(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutablePointer<UInt8> {
        guard let base = bytes.baseAddress else { return emptyByte }
        return UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
    }

    /// Output bytes a decoder may still produce, plus one so that overrunning `limit` is seen:
    /// `limit - written + 1`, saturating at `Int.max` (callers may pass `Int.max` as the limit).
    static func roomLeft(written: Int, limit: Int) -> Int {
        let allowance = limit - written
        return allowance == Int.max ? Int.max : allowance + 1
    }

    /// How many bytes to ask for next when growing a decompression buffer: double what we
    /// have (at least 64 KiB), never more than one byte past `limit`, so that overrunning the
    /// limit is detected without allocating further.
    static func nextChunk(written: Int, limit: Int) -> Int {
        max(1, min(max(written, 64 * 1024), roomLeft(written: written, limit: limit)))
    }

    /// An initial capacity guess for an output of unknown size from `inputSize` bytes.
    static func initialCapacity(inputSize: Int, limit: Int) -> Int {
        let guess = inputSize > Int.max / 4 ? Int.max : inputSize * 4
        return max(64, min(guess, roomLeft(written: 0, limit: limit), 1 << 20))
    }
}
