import Foundation
@testable import KafkaProtocol
import NIOCore
import Testing

/// Legacy message sets (magic 0 and 1): hand-derived bytes, sets written by kafka-python's
/// `LegacyRecordBatchBuilder` and Produce v2 requests sent by kafka-go 0.2.1
/// (Fixtures/legacy/generate.py), round trips, and broken input.
struct LegacyMessageSetTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/legacy")

    static func fixture(_ name: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    static func bytes(_ s: String?) -> ByteBuffer? { s.map { ByteBuffer(string: $0) } }

    /// RECORDS of generate.py: key, value, timestamp.
    static let t0: Int64 = 1_700_000_000_000
    static let generated: [(key: String?, value: String?, timestamp: Int64)] = [
        ("key-0", "value-0", t0 + 5),
        (nil, "null key", t0 + 1),
        ("", "empty key", t0 + 9),
        ("k-null-value", nil, t0 + 3),
        ("k-empty-value", "", t0 + 7),
        ("big", String(repeating: "runnel legacy message set ", count: 40), t0 + 2),
    ]

    static func expectGenerated(_ records: [LegacyRecord], magic: Int8, offsets: [Int64]) {
        #expect(records.count == generated.count)
        for (i, (record, want)) in zip(records, generated).enumerated() {
            #expect(record.offset == offsets[i], "record \(i)")
            #expect(record.key == bytes(want.key), "record \(i) key")
            #expect(record.value == bytes(want.value), "record \(i) value")
            #expect(record.timestamp == (magic == 0 ? -1 : want.timestamp), "record \(i) timestamp")
            #expect(!record.isLogAppendTime)
        }
    }

    // MARK: Checksums

    @Test func crc32IsTheIEEEPolynomial() {
        #expect(CRC32.checksum(ByteBuffer(string: "123456789")) == 0xCBF4_3926)
        #expect(CRC32.checksum(ByteBuffer()) == 0)
    }

    @Test func xxh32MatchesTheSpecAndLZ4FrameHeaders() throws {
        #expect([UInt8]().withUnsafeBytes { LZ4Codec.xxh32($0) } == 0x02CC_5D05)
        // liblz4 writes HC = second byte of XXH32(descriptor); libxxhash must agree for every size class.
        for size in [0, 10, 1000, 100_000] {
            let frame = try CompressionCodec.lz4.compress(ByteBuffer(repeating: 0x61, count: size))
            let flags = try #require(frame.getInteger(at: 4, as: UInt8.self))
            let descriptor = 2 + (flags & 0x08 != 0 ? 8 : 0) + (flags & 0x01 != 0 ? 4 : 0)
            let hc = frame.withUnsafeReadableBytes { LZ4Codec.xxh32(UnsafeRawBufferPointer(rebasing: $0[4..<(4 + descriptor)])) }
            #expect(frame.getInteger(at: 4 + descriptor, as: UInt8.self) == UInt8(truncatingIfNeeded: hc >> 8))
        }
        // Longer inputs take the four-accumulator path; the hash must depend on every byte.
        let a = [UInt8](repeating: 1, count: 37), b = a.enumerated().map { $0.offset == 36 ? UInt8(2) : $0.element }
        #expect(a.withUnsafeBytes { LZ4Codec.xxh32($0) } != b.withUnsafeBytes { LZ4Codec.xxh32($0) })
    }

    // MARK: Hand-derived messages

    /// Magic 0, offset 7, null key, value "hello": size 19 = 14 fixed + 5; CRC-32 over
    /// `00 00 FF FF FF FF 00 00 00 05 68 65 6C 6C 6F` (magic to value) = 0x87A77AB2 (zlib.crc32).
    static let magic0Hello: [UInt8] = [
        0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 19, 0x87, 0xA7, 0x7A, 0xB2,
        0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 5, 0x68, 0x65, 0x6C, 0x6C, 0x6F,
    ]
    /// Magic 1, offset 3, CreateTime 1700000000000 (0x0000018BCFE56800), key "k", value "v":
    /// size 24 = 22 fixed + 1 + 1; CRC-32 over magic to value = 0x39268C33 (zlib.crc32).
    static let magic1KV: [UInt8] = [
        0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 24, 0x39, 0x26, 0x8C, 0x33,
        1, 0, 0, 0, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00, 0, 0, 0, 1, 0x6B, 0, 0, 0, 1, 0x76,
    ]

    @Test func encodesHandDerivedMessages() {
        var out = ByteBuffer()
        LegacyMessage(offset: 7, magic: 0, key: nil, value: Self.bytes("hello")).encode(to: &out)
        #expect(Array(out.readableBytesView) == Self.magic0Hello)
        out.clear()
        LegacyMessage(offset: 3, magic: 1, timestamp: Self.t0, key: Self.bytes("k"), value: Self.bytes("v")).encode(to: &out)
        #expect(Array(out.readableBytesView) == Self.magic1KV)
    }

    @Test func decodesHandDerivedMessages() throws {
        let zero = try LegacyMessageSet.decode(ByteBuffer(bytes: Self.magic0Hello), maxUncompressedBytes: 1 << 20)
        #expect(zero == .init(magic: 0, codec: .none, records: [.init(offset: 7, timestamp: -1, key: nil, value: Self.bytes("hello"))],
                              largestEntryBytes: 31))
        let one = try LegacyMessageSet.decode(ByteBuffer(bytes: Self.magic1KV), maxUncompressedBytes: 1 << 20)
        #expect(one == .init(magic: 1, codec: .none, records: [.init(offset: 3, timestamp: Self.t0, key: Self.bytes("k"), value: Self.bytes("v"))],
                             largestEntryBytes: 36))
    }

    // MARK: Real clients

    @Test(arguments: [(Int8(0), "none"), (0, "gzip"), (0, "snappy"), (1, "none"), (1, "gzip"), (1, "snappy"), (1, "lz4")])
    func decodesKafkaPythonSets(magic: Int8, codec: String) throws {
        let decoded = try LegacyMessageSet.decode(try Self.fixture("kafka-python-m\(magic)-\(codec).bin"), maxUncompressedBytes: 1 << 20)
        #expect(decoded.magic == magic)
        #expect(decoded.codec == CompressionCodec(name: codec))
        // kafka-python numbers inner messages 0...5 and gives the wrapper offset 0: magic 0 inner
        // offsets are absolute, magic 1 ones relative to a wrapper at the last offset (KIP-31).
        let offsets: [Int64] = magic == 1 && codec != "none" ? (-5...0).map { $0 } : (0...5).map { $0 }
        Self.expectGenerated(decoded.records, magic: magic, offsets: offsets)
    }

    @Test(arguments: ["none", "gzip", "snappy", "lz4"])
    func decodesKafkaGoProduceRequests(codec: String) throws {
        var frame = try Self.fixture("kafka-go-produce-v2-\(codec).bin")
        let header = try RequestHeader.decode(from: &frame)
        #expect(header.apiKey == .produce && header.apiVersion == 2)
        #expect(header.clientID == "runnel-interop-kafka-go")
        var reader = KafkaReader(frame, flexible: false)
        let request = try ProduceRequest(from: &reader, version: 2)
        #expect(request.acks == -1)
        let records = try #require(request.topicData.first?.partitionData.first?.records)
        let decoded = try LegacyMessageSet.decode(records, maxUncompressedBytes: 1 << 20)
        #expect(decoded.magic == 1)
        #expect(decoded.codec == CompressionCodec(name: codec))
        // kafka-go writes uncompressed messages at offset 0 each, and a wrapper at offset 0 around
        // inner offsets 0...5 (so KIP-31 arithmetic gives -5...0; the broker assigns offsets anyway).
        let offsets: [Int64] = codec == "none" ? Array(repeating: 0, count: 6) : (-5...0).map { $0 }
        Self.expectGenerated(decoded.records, magic: 1, offsets: offsets)
    }

    // MARK: Round trips

    @Test(arguments: [Int8(0), 1])
    func encodeThenDecodeKeepsEverything(magic: Int8) throws {
        let records = Self.generated.enumerated().map { i, r in
            LegacyRecord(offset: 100 + Int64(i), timestamp: magic == 0 ? -1 : r.timestamp,
                         isLogAppendTime: magic == 1 && i == 2, key: Self.bytes(r.key), value: Self.bytes(r.value))
        }
        let encoded = LegacyMessageSet.encode(records, magic: magic)
        let decoded = try LegacyMessageSet.decode(encoded, maxUncompressedBytes: 1 << 20)
        #expect(decoded.records == records)
        #expect(decoded.magic == magic && decoded.codec == .none)
        #expect(encoded.readableBytes == records.map { LegacyMessageSet.message($0, magic: magic).sizeInBytes }.reduce(0, +))
    }

    /// A wrapper the way Kafka clients build one: the inner set compressed into the value of a
    /// null-key message whose attributes name the codec.
    static func wrapper(magic: Int8, codec: CompressionCodec, wrapperOffset: Int64, innerOffsets: [Int64],
                        attributes: Int8? = nil, timestamp: Int64 = 0, compressed: ((ByteBuffer) throws -> ByteBuffer)? = nil) throws -> ByteBuffer {
        var inner = ByteBuffer()
        for (i, offset) in innerOffsets.enumerated() {
            LegacyMessage(offset: offset, magic: magic, timestamp: t0 + Int64(i), key: nil, value: bytes("inner-\(i)")).encode(to: &inner)
        }
        let value = try compressed?(inner) ?? codec.compress(inner)
        var out = ByteBuffer()
        LegacyMessage(offset: wrapperOffset, magic: magic, attributes: attributes ?? Int8(codec.rawValue), timestamp: timestamp,
                      key: nil, value: value).encode(to: &out)
        return out
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4])
    func wrapperOffsetsFollowKIP31(codec: CompressionCodec) throws {
        let v1 = try LegacyMessageSet.decode(try Self.wrapper(magic: 1, codec: codec, wrapperOffset: 42, innerOffsets: [0, 1, 2]),
                                             maxUncompressedBytes: 1 << 20)
        #expect(v1.records.map(\.offset) == [40, 41, 42])
        #expect(v1.records.map(\.timestamp) == [Self.t0, Self.t0 + 1, Self.t0 + 2])
        let v0 = try LegacyMessageSet.decode(try Self.wrapper(magic: 0, codec: codec, wrapperOffset: 12, innerOffsets: [10, 11, 12]),
                                             maxUncompressedBytes: 1 << 20)
        #expect(v0.records.map(\.offset) == [10, 11, 12])
        #expect(v0.records.map(\.timestamp) == [-1, -1, -1])
    }

    @Test func logAppendTimeWrapperLendsItsTimestamp() throws {
        let set = try Self.wrapper(magic: 1, codec: .gzip, wrapperOffset: 1, innerOffsets: [0, 1], attributes: 0x1 | 0x8, timestamp: 99)
        let decoded = try LegacyMessageSet.decode(set, maxUncompressedBytes: 1 << 20)
        #expect(decoded.records.map(\.timestamp) == [99, 99])
        let allLogAppendTime = decoded.records.allSatisfy { $0.isLogAppendTime }
        #expect(allLogAppendTime)
    }

    // MARK: LZ4 header checksum (KAFKA-3160)

    /// An LZ4 frame whose HC is computed over magic + descriptor, as Kafka 0.8/0.9 wrote it.
    static func brokenHeaderChecksum(_ input: ByteBuffer) throws -> ByteBuffer {
        var frame = try CompressionCodec.lz4.compress(input)
        let flags = try #require(frame.getInteger(at: 4, as: UInt8.self))
        let descriptor = 2 + (flags & 0x08 != 0 ? 8 : 0) + (flags & 0x01 != 0 ? 4 : 0)
        let broken = frame.withUnsafeReadableBytes { LZ4Codec.xxh32(UnsafeRawBufferPointer(rebasing: $0[0..<(4 + descriptor)])) }
        let correct = frame.getInteger(at: 4 + descriptor, as: UInt8.self)
        #expect(UInt8(truncatingIfNeeded: broken >> 8) != correct, "the broken HC must differ for the test to mean anything")
        frame.setInteger(UInt8(truncatingIfNeeded: broken >> 8), at: 4 + descriptor)
        return frame
    }

    @Test func magic0LZ4IgnoresTheHeaderChecksumButMagic1EnforcesIt() throws {
        let v0 = try Self.wrapper(magic: 0, codec: .lz4, wrapperOffset: 1, innerOffsets: [0, 1], compressed: Self.brokenHeaderChecksum)
        #expect(try LegacyMessageSet.decode(v0, maxUncompressedBytes: 1 << 20).records.count == 2)
        let v1 = try Self.wrapper(magic: 1, codec: .lz4, wrapperOffset: 1, innerOffsets: [0, 1], compressed: Self.brokenHeaderChecksum)
        Self.expectRefusal(v1, .corruptMessage)
    }

    // MARK: Broken input

    static func expectRefusal(_ bytes: ByteBuffer, _ code: ErrorCode, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try LegacyMessageSet.decode(bytes, maxUncompressedBytes: 1 << 20)
            Issue.record("expected \(code), decoded fine", sourceLocation: sourceLocation)
        } catch let error as RecordValidationError {
            #expect(error.errorCode == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected RecordValidationError \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func everyTruncationIsRefused() throws {
        for name in ["kafka-python-m0-none.bin", "kafka-python-m1-gzip.bin"] {
            let whole = try Self.fixture(name)
            Self.expectRefusal(whole.getSlice(at: 0, length: 0)!, .invalidRecord)
            for length in 1..<whole.readableBytes {
                let cut = whole.getSlice(at: 0, length: length)!
                // A cut between two whole messages is a shorter valid set.
                if (try? LegacyMessageSet.decode(cut, maxUncompressedBytes: 1 << 20)) != nil { continue }
                Self.expectRefusal(cut, .corruptMessage)
            }
        }
        // The hand-derived message has no inner boundary: every cut is corrupt.
        for length in 1..<Self.magic0Hello.count {
            Self.expectRefusal(ByteBuffer(bytes: Self.magic0Hello[0..<length]), .corruptMessage)
        }
    }

    /// The CRC covers magic to the end of value, so any flipped bit there (or in the CRC itself) is caught first.
    @Test func everyFlippedByteAfterTheSizeIsACRCMismatch() {
        for index in 12..<Self.magic1KV.count {
            var bytes = Self.magic1KV
            bytes[index] ^= 0x40
            Self.expectRefusal(ByteBuffer(bytes: bytes), .corruptMessage)
        }
    }

    @Test func inconsistentSizesAreCorrupt() {
        var bytes = Self.magic0Hello
        bytes[11] = 13  // below the 14-byte minimum
        Self.expectRefusal(ByteBuffer(bytes: bytes), .corruptMessage)
        // A value length that overruns the message (CRC recomputed so only the length is wrong).
        var message = LegacyMessage(offset: 0, magic: 0, key: nil, value: Self.bytes("hello"))
        var out = ByteBuffer()
        message.encode(to: &out)
        out.setInteger(Int32(6), at: 22, endianness: .big)
        out.setInteger(out.withUnsafeReadableBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[16...])) }, at: 12, endianness: .big)
        Self.expectRefusal(out, .corruptMessage)
        message.value = nil
        out.clear()
        message.encode(to: &out)
        out.writeInteger(UInt8(0))  // a stray byte after the last message
        Self.expectRefusal(out, .corruptMessage)
    }

    @Test func structuralRulesAreInvalidRecord() throws {
        var mixed = ByteBuffer(bytes: Self.magic0Hello)
        mixed.writeBytes(Self.magic1KV)
        Self.expectRefusal(mixed, .invalidRecord)

        var twoWrappers = try Self.wrapper(magic: 1, codec: .gzip, wrapperOffset: 1, innerOffsets: [0, 1])
        var second = try Self.wrapper(magic: 1, codec: .gzip, wrapperOffset: 3, innerOffsets: [0, 1])
        twoWrappers.writeBuffer(&second)
        Self.expectRefusal(twoWrappers, .invalidRecord)

        var wrapperAndPlain = try Self.wrapper(magic: 1, codec: .snappy, wrapperOffset: 1, innerOffsets: [0, 1])
        wrapperAndPlain.writeBytes(Self.magic1KV)
        Self.expectRefusal(wrapperAndPlain, .invalidRecord)

        // A compressed inner message (nested compression).
        let nested = try Self.wrapper(magic: 1, codec: .gzip, wrapperOffset: 0, innerOffsets: [0], compressed: { _ in
            try CompressionCodec.gzip.compress(try Self.wrapper(magic: 1, codec: .gzip, wrapperOffset: 0, innerOffsets: [0]))
        })
        Self.expectRefusal(nested, .invalidRecord)

        // A wrapper with a null value, one with no inner messages, unknown codecs 5-7.
        var nullValue = ByteBuffer()
        LegacyMessage(offset: 0, magic: 1, attributes: 1, key: nil, value: nil).encode(to: &nullValue)
        Self.expectRefusal(nullValue, .invalidRecord)
        Self.expectRefusal(try Self.wrapper(magic: 1, codec: .gzip, wrapperOffset: 0, innerOffsets: []), .invalidRecord)
        for codec in Int8(5)...7 {
            Self.expectRefusal(try Self.wrapper(magic: 1, codec: .none, wrapperOffset: 0, innerOffsets: [0], attributes: codec), .invalidRecord)
        }

        // A magic-2 header inside a legacy set.
        var magic2 = Self.magic1KV
        magic2[16] = 2
        let crc = ByteBuffer(bytes: magic2[16...]).withUnsafeReadableBytes { CRC32.checksum($0) }
        magic2.replaceSubrange(12..<16, with: withUnsafeBytes(of: crc.bigEndian, Array.init))
        Self.expectRefusal(ByteBuffer(bytes: magic2), .invalidRecord)
    }

    @Test func zstdWrappersNeedMagic2() throws {
        Self.expectRefusal(try Self.wrapper(magic: 1, codec: .zstd, wrapperOffset: 0, innerOffsets: [0]), .unsupportedCompressionType)
    }

    @Test func undecodableOrOversizedCompressedValuesAreCorrupt() throws {
        Self.expectRefusal(try Self.wrapper(magic: 1, codec: .gzip, wrapperOffset: 0, innerOffsets: [0],
                                            compressed: { _ in ByteBuffer(string: "not gzip at all") }), .corruptMessage)
        let big = try Self.wrapper(magic: 1, codec: .gzip, wrapperOffset: 9, innerOffsets: Array(0...9))
        #expect(throws: RecordValidationError.self) { try LegacyMessageSet.decode(big, maxUncompressedBytes: 100) }
    }
}
