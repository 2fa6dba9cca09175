import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// Tests for ``CompressionCodec``: names, round trips, decoding the Python clients' output
/// (fixtures from Fixtures/compression/generate.py), framing of our output, garbage and
/// truncated input, and the `maxOutputBytes` cap.
@Suite struct CompressionTests {
    static let realCodecs: [CompressionCodec] = [.gzip, .snappy, .lz4, .zstd]
    static let generous = 64 << 20

    // MARK: Helpers

    static func fixture(_ name: String) throws -> ByteBuffer {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/compression").appendingPathComponent(name)
        return ByteBuffer(bytes: try Data(contentsOf: url))
    }

    static func randomBytes(_ count: Int, seed: UInt64) -> ByteBuffer {
        var rng = CodecTestRandom(seed: seed)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(count)
        while buffer.readableBytes + 8 <= count { buffer.writeInteger(rng.next()) }
        while buffer.readableBytes < count { buffer.writeInteger(UInt8.random(in: 0...255, using: &rng)) }
        return buffer
    }

    static func compressible(_ count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        var i = 0
        while buffer.readableBytes < count {
            buffer.writeString("{\"key\":\"user-\(i % 100)\",\"value\":\"the quick brown fox\"}\n")
            i += 1
        }
        return buffer.getSlice(at: 0, length: count) ?? buffer
    }

    // MARK: Names and raw values

    @Test func namesAndRawValues() {
        #expect(CompressionCodec(name: "none") == CompressionCodec.none)
        #expect(CompressionCodec(name: "uncompressed") == CompressionCodec.none)
        #expect(CompressionCodec(name: "gzip") == .gzip)
        #expect(CompressionCodec(name: "SNAPPY") == .snappy)
        #expect(CompressionCodec(name: "lz4") == .lz4)
        #expect(CompressionCodec(name: "zstd") == .zstd)
        #expect(CompressionCodec(name: "producer") == nil)
        #expect(CompressionCodec(name: "brotli") == nil)
        for codec in CompressionCodec.allCases {
            #expect(CompressionCodec(name: codec.name) == codec)
            #expect(CompressionCodec(rawValue: codec.rawValue) == codec)
        }
        #expect(CompressionCodec.allCases.map(\.rawValue) == [0, 1, 2, 3, 4])
        #expect(CompressionCodec(rawValue: 5) == nil)
    }

    // MARK: Round trips

    @Test(arguments: CompressionCodec.allCases)
    func roundTrips(codec: CompressionCodec) throws {
        let inputs: [(String, ByteBuffer)] = [
            ("empty", ByteBuffer()),
            ("one byte", ByteBuffer(bytes: [0x42])),
            ("small", ByteBuffer(string: "hello, runnel")),
            ("1 MiB random", Self.randomBytes(1 << 20, seed: 1)),
            ("1 MiB compressible", Self.compressible(1 << 20)),
            ("odd size", Self.randomBytes(32 * 1024 * 3 + 17, seed: 2)),
        ]
        for (label, input) in inputs {
            let compressed = try codec.compress(input)
            let output = try codec.decompress(compressed, maxOutputBytes: input.readableBytes)
            #expect(output == input, "\(codec) \(label)")
        }
        let compressible = Self.compressible(1 << 20)
        if codec != .none {
            #expect(try codec.compress(compressible).readableBytes < (1 << 20) / 5, "\(codec) should compress")
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func usesReadableBytesOnly(codec: CompressionCodec) throws {
        var input = ByteBuffer(string: "garbage-prefix")
        input.writeString("payload payload payload")
        input.moveReaderIndex(forwardBy: "garbage-prefix".utf8.count)
        let compressed = try codec.compress(input)
        #expect(input.readerIndex == 14)
        var framed = ByteBuffer(string: "xx")
        framed.writeImmutableBuffer(compressed)
        framed.moveReaderIndex(forwardBy: 2)
        #expect(try codec.decompress(framed, maxOutputBytes: 1000) == ByteBuffer(string: "payload payload payload"))
    }

    // MARK: Fixtures from the Python clients' libraries

    @Test(arguments: [
        ("input.gzip", CompressionCodec.gzip),
        ("input.snappy-xerial", .snappy),
        ("input.snappy-raw", .snappy),
        ("input.lz4", .lz4),
        ("input.lz4-flags", .lz4),
        ("input.zstd", .zstd),
        ("input.zstd-kafka-python", .zstd),
    ])
    func decodesPythonFixtures(file: String, codec: CompressionCodec) throws {
        let expected = try Self.fixture("input.bin")
        #expect(expected.readableBytes == 100 * 1024)
        let compressed = try Self.fixture(file)
        let output = try codec.decompress(compressed, maxOutputBytes: expected.readableBytes)
        #expect(output == expected)
    }

    @Test func rejectsLinkedLZ4Blocks() throws {
        let linked = try Self.fixture("input.lz4-linked")
        #expect(throws: CompressionError.self) {
            _ = try CompressionCodec.lz4.decompress(linked, maxOutputBytes: Self.generous)
        }
    }

    // MARK: Framing of our output

    @Test func gzipFraming() throws {
        let out = try CompressionCodec.gzip.compress(ByteBuffer(string: "abc"))
        #expect(out.getBytes(at: out.readerIndex, length: 3) == [0x1F, 0x8B, 0x08])  // RFC 1952 ID1 ID2 CM=deflate
    }

    @Test func snappyUsesXerialFramingWith32KiBChunks() throws {
        let input = Self.randomBytes(100 * 1024, seed: 3)
        var out = try CompressionCodec.snappy.compress(input)
        #expect(out.readBytes(length: 8) == [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00])
        #expect(out.readInteger(endianness: .big, as: Int32.self) == 1)
        #expect(out.readInteger(endianness: .big, as: Int32.self) == 1)
        var chunks = 0
        while let length = out.readInteger(endianness: .big, as: Int32.self) {
            #expect(out.readSlice(length: Int(length)) != nil)
            chunks += 1
        }
        #expect(chunks == 4)  // 32 + 32 + 32 + 4 KiB
        #expect(out.readableBytes == 0)
        // An empty input is the bare 16-byte header, like SnappyOutputStream.
        #expect(try CompressionCodec.snappy.compress(ByteBuffer()).readableBytes == 16)
    }

    @Test func lz4FrameHeader() throws {
        let out = try CompressionCodec.lz4.compress(Self.compressible(200_000))
        #expect(out.getBytes(at: out.readerIndex, length: 4) == [0x04, 0x22, 0x4D, 0x18])  // magic 0x184D2204 LE
        // FLG: version 01, block independence, no block checksum, no content size/checksum.
        #expect(out.getInteger(at: out.readerIndex + 4, as: UInt8.self) == 0x60)
        // BD: block max size 64 KiB (id 4).
        #expect(out.getInteger(at: out.readerIndex + 5, as: UInt8.self) == 0x40)
    }

    @Test func zstdFrameMagic() throws {
        let out = try CompressionCodec.zstd.compress(ByteBuffer(string: "abc"))
        #expect(out.getBytes(at: out.readerIndex, length: 4) == [0x28, 0xB5, 0x2F, 0xFD])
    }

    // MARK: Concatenated streams

    @Test(arguments: realCodecs)
    func decodesConcatenatedStreams(codec: CompressionCodec) throws {
        let a = Self.compressible(70_000)
        let b = Self.randomBytes(5_000, seed: 9)
        var joined = try codec.compress(a)
        joined.writeImmutableBuffer(try codec.compress(b))
        var expected = a
        expected.writeImmutableBuffer(b)
        #expect(try codec.decompress(joined, maxOutputBytes: expected.readableBytes) == expected)
    }

    // MARK: Hostile input

    @Test(arguments: realCodecs)
    func garbageThrows(codec: CompressionCodec) {
        for (length, seed) in [(0, 0), (3, 1), (16, 2), (100, 3), (4096, 4), (65_537, 5)] as [(Int, UInt64)] {
            let garbage = Self.randomBytes(length, seed: seed)
            #expect(throws: CompressionError.self, "\(codec) \(length) random bytes") {
                _ = try codec.decompress(garbage, maxOutputBytes: Self.generous)
            }
        }
    }

    /// Valid magic/header followed by garbage reaches the block decoders.
    @Test func garbageAfterValidHeaderThrows() {
        let cases: [(CompressionCodec, [UInt8])] = [
            (.gzip, [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0xFF]),
            (.snappy, [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]),
            (.lz4, [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82]),
            (.zstd, [0x28, 0xB5, 0x2F, 0xFD]),
        ]
        for (codec, header) in cases {
            for seed in UInt64(0)..<20 {
                var input = ByteBuffer(bytes: header)
                input.writeImmutableBuffer(Self.randomBytes(Int(seed) * 37 + 5, seed: 100 + seed))
                #expect(throws: CompressionError.self, "\(codec) seed \(seed)") {
                    _ = try codec.decompress(input, maxOutputBytes: Self.generous)
                }
            }
        }
    }

    /// Many random inputs, with and without valid headers: none may trap, and any output must
    /// respect the limit (a few tiny inputs are legitimately valid raw snappy blocks).
    @Test(arguments: realCodecs)
    func fuzzNeverTraps(codec: CompressionCodec) throws {
        let valid = try codec.compress(Self.compressible(10_000))
        for seed in UInt64(0)..<300 {
            var rng = CodecTestRandom(seed: seed)
            // Random bytes of random length.
            let random = Self.randomBytes(Int.random(in: 0...300, using: &rng), seed: seed)
            if let output = try? codec.decompress(random, maxOutputBytes: 1 << 20) {
                #expect(output.readableBytes <= 1 << 20)
            }
            // A valid stream with a few bytes flipped.
            var mutated = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let index = mutated.readerIndex + Int.random(in: 0..<mutated.readableBytes, using: &rng)
                let byte = mutated.getInteger(at: index, as: UInt8.self) ?? 0
                mutated.setInteger(byte ^ UInt8.random(in: 1...255, using: &rng), at: index)
            }
            if let output = try? codec.decompress(mutated, maxOutputBytes: 20_000) {
                #expect(output.readableBytes <= 20_000)
            }
        }
    }

    @Test(arguments: [CompressionCodec.gzip, .lz4, .zstd])
    func truncatedStreamsThrow(codec: CompressionCodec) throws {
        let full = try codec.compress(Self.randomBytes(100_000, seed: 11))
        for cut in [1, 2, 5, 10, 100, full.readableBytes / 2, full.readableBytes - 1] {
            let prefix = full.getSlice(at: full.readerIndex, length: full.readableBytes - cut) ?? ByteBuffer()
            #expect(throws: CompressionError.self, "\(codec) minus \(cut) bytes") {
                _ = try codec.decompress(prefix, maxOutputBytes: Self.generous)
            }
        }
    }

    @Test func truncatedSnappyThrowsUnlessAtChunkBoundary() throws {
        let input = Self.randomBytes(100_000, seed: 12)
        let full = try CompressionCodec.snappy.compress(input)
        // snappy-java framing has no end marker, so only cuts inside a header or a chunk are errors.
        for cut in [1, 2, 3, 100, full.readableBytes - 17, full.readableBytes - 15] {
            let prefix = full.getSlice(at: full.readerIndex, length: full.readableBytes - cut) ?? ByteBuffer()
            #expect(throws: CompressionError.self, "snappy minus \(cut) bytes") {
                _ = try CompressionCodec.snappy.decompress(prefix, maxOutputBytes: Self.generous)
            }
        }
        // A raw block cut short.
        let raw = try Self.fixture("input.snappy-raw")
        let cutRaw = raw.getSlice(at: raw.readerIndex, length: raw.readableBytes - 1) ?? ByteBuffer()
        #expect(throws: CompressionError.self) {
            _ = try CompressionCodec.snappy.decompress(cutRaw, maxOutputBytes: Self.generous)
        }
        // A negative chunk length.
        var negative = ByteBuffer(bytes: [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
        negative.writeInteger(Int32(-5), endianness: .big)
        negative.writeBytes([1, 2, 3, 4, 5])
        #expect(throws: CompressionError.self) {
            _ = try CompressionCodec.snappy.decompress(negative, maxOutputBytes: Self.generous)
        }
    }

    // MARK: maxOutputBytes

    @Test(arguments: CompressionCodec.allCases)
    func maxOutputBytesIsEnforced(codec: CompressionCodec) throws {
        let input = Self.compressible(300_000)
        let compressed = try codec.compress(input)
        #expect(try codec.decompress(compressed, maxOutputBytes: 300_000) == input)
        for limit in [0, 1, 65_536, 299_999] {
            #expect(throws: CompressionError.outputTooLarge(codec: codec, limit: limit)) {
                _ = try codec.decompress(compressed, maxOutputBytes: limit)
            }
        }
    }

    /// `Int.max` means "no limit" without overflowing; a negative limit behaves like 0.
    @Test(arguments: CompressionCodec.allCases)
    func extremeLimits(codec: CompressionCodec) throws {
        let input = Self.compressible(100_000)
        let compressed = try codec.compress(input)
        #expect(try codec.decompress(compressed, maxOutputBytes: Int.max) == input)
        #expect(throws: CompressionError.outputTooLarge(codec: codec, limit: 0)) {
            _ = try codec.decompress(compressed, maxOutputBytes: -1)
        }
    }

    @Test(arguments: [
        ("input.gzip", CompressionCodec.gzip),
        ("input.snappy-xerial", .snappy),
        ("input.snappy-raw", .snappy),
        ("input.lz4", .lz4),
        ("input.lz4-flags", .lz4),
        ("input.zstd", .zstd),
    ])
    func maxOutputBytesOnFixtures(file: String, codec: CompressionCodec) throws {
        let compressed = try Self.fixture(file)
        #expect(throws: CompressionError.outputTooLarge(codec: codec, limit: 100 * 1024 - 1)) {
            _ = try codec.decompress(compressed, maxOutputBytes: 100 * 1024 - 1)
        }
    }

    /// 32 MiB of zeros compresses to a few KiB; decoding it under a 1 MiB cap must stop early.
    @Test(arguments: realCodecs)
    func zipBombIsCapped(codec: CompressionCodec) throws {
        var zeros = ByteBuffer()
        zeros.writeRepeatingByte(0, count: 32 << 20)
        let bomb = try codec.compress(zeros)
        #expect(bomb.readableBytes < 2 << 20)
        #expect(throws: CompressionError.outputTooLarge(codec: codec, limit: 1 << 20)) {
            _ = try codec.decompress(bomb, maxOutputBytes: 1 << 20)
        }
    }

    @Test func errorDescriptions() {
        #expect(CompressionError.outputTooLarge(codec: .zstd, limit: 10).description == "zstd output exceeds the limit of 10 bytes")
        #expect(CompressionError.corruptInput(codec: .lz4, reason: "bad").description == "corrupt lz4 input: bad")
    }
}
