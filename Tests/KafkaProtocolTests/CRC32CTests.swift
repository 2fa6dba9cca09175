import KafkaProtocol
import NIOCore
import Testing

/// CRC-32C (Castagnoli) known-answer and incremental tests for ``CRC32C``.
@Suite struct CRC32CTests {
    private func crc(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { CRC32C.checksum($0) }
    }

    @Test func emptyIsZero() {
        #expect(crc([]) == 0)
        #expect(CRC32C.checksum(ByteBuffer()) == 0)
    }

    @Test func checkValue() {
        // The catalogue check value of CRC-32/ISCSI (a.k.a. CRC-32C).
        #expect(crc(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func rfc3720Vectors() {
        // RFC 3720 (iSCSI) appendix B.4.
        #expect(crc([UInt8](repeating: 0x00, count: 32)) == 0x8A91_36AA)
        #expect(crc([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(crc((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(crc((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    }

    @Test func incrementalMatchesOneShot() {
        var rng = CodecTestRandom(seed: 42)
        let data = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let whole = crc(data)
        data.withUnsafeBytes { all in
            for split in [0, 1, 3, 7, 8, 15, 16, 61, 500, 999, 1000] {
                let first = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: all[..<split]))
                let both = CRC32C.update(first, UnsafeRawBufferPointer(rebasing: all[split...]))
                #expect(both == whole, "split at \(split)")
            }
            // Byte at a time.
            var running: UInt32 = 0
            for i in 0..<all.count {
                running = CRC32C.update(running, UnsafeRawBufferPointer(rebasing: all[i..<(i + 1)]))
            }
            #expect(running == whole)
            // Updating with nothing changes nothing.
            #expect(CRC32C.update(whole, UnsafeRawBufferPointer(rebasing: all[0..<0])) == whole)
        }
    }

    @Test func byteBufferUsesReadableBytesOnly() {
        var buffer = ByteBuffer()
        buffer.writeBytes([0xAA, 0xBB, 0xCC])
        buffer.writeString("123456789")
        buffer.moveReaderIndex(forwardBy: 3)
        #expect(CRC32C.checksum(buffer) == 0xE306_9283)
        #expect(buffer.readerIndex == 3)
    }

    @Test func largeBufferMatchesIncremental() {
        var rng = CodecTestRandom(seed: 7)
        var buffer = ByteBuffer()
        for _ in 0..<(1 << 17) { buffer.writeInteger(rng.next()) }  // 1 MiB
        let whole = CRC32C.checksum(buffer)
        let half = buffer.readableBytes / 2
        let a = buffer.getSlice(at: buffer.readerIndex, length: half) ?? ByteBuffer()
        let b = buffer.getSlice(at: buffer.readerIndex + half, length: buffer.readableBytes - half) ?? ByteBuffer()
        let combined = b.withUnsafeReadableBytes { CRC32C.update(CRC32C.checksum(a), $0) }
        #expect(combined == whole)
    }
}

/// A small deterministic generator (SplitMix64) so test data is the same on every run.
struct CodecTestRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
