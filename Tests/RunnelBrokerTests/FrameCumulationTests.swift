import NIOCore
import NIOEmbedded
@testable import RunnelBroker
import Testing

/// How read bytes are gathered into frames: one buffer per large frame, sized from its prefix,
/// and whole frames sliced without a copy.
struct FrameCumulationTests {
    let allocator = ByteBufferAllocator()

    static func frame(_ payload: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(Int32(payload.count))
        b.writeBytes(payload)
        return b
    }

    /// Splits `bytes` into reads of `chunk` bytes.
    static func reads(of bytes: ByteBuffer, chunk: Int) -> [ByteBuffer] {
        var rest = bytes
        var out: [ByteBuffer] = []
        while rest.readableBytes > 0 {
            out.append(rest.readSlice(length: min(chunk, rest.readableBytes))!)
        }
        return out
    }

    @Test func aLargeFrameInManyReadsGetsOneBufferOfItsSize() throws {
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var cumulation: ByteBuffer?
        var capacities: Set<Int> = []
        for read in Self.reads(of: Self.frame(payload), chunk: 65_536) {
            FrameCumulation.append(read, to: &cumulation, maxFrameBytes: 1 << 20, allocator: allocator)
            capacities.insert(cumulation!.capacity)
        }
        // Sized once from the prefix: 4 + 200,000 bytes (the allocator may round up), never grown.
        #expect(capacities.count == 1)
        #expect(capacities.first! >= 200_004 && capacities.first! < 262_144 + 4)
        var buffer = cumulation!
        let out = try #require(try FrameDecoder.nextFrame(from: &buffer, maxFrameBytes: 1 << 20))
        #expect(Array(out.readableBytesView) == payload)
        #expect(buffer.readableBytes == 0)
    }

    @Test func aReadOfWholeFramesIsKeptWithoutACopy() throws {
        var read = Self.frame([1, 2, 3])
        read.writeImmutableBuffer(Self.frame([4]))
        var cumulation: ByteBuffer?
        FrameCumulation.append(read, to: &cumulation, maxFrameBytes: 100, allocator: allocator)
        let kept = try #require(cumulation)
        let same = kept.withUnsafeReadableBytes { a in read.withUnsafeReadableBytes { b in a.baseAddress == b.baseAddress } }
        #expect(same)
    }

    @Test func theStartOfTheNextFrameMovesToItsOwnBuffer() throws {
        var read = Self.frame([1, 2, 3])
        var next = Self.frame(Array(repeating: 9, count: 1_000))
        read.writeImmutableBuffer(next.readSlice(length: 10)!)
        var cumulation: ByteBuffer?
        FrameCumulation.append(read, to: &cumulation, maxFrameBytes: 10_000, allocator: allocator)
        var buffer = cumulation!
        let first = try #require(try FrameDecoder.nextFrame(from: &buffer, maxFrameBytes: 10_000))
        FrameCumulation.detachRemainder(&buffer, maxFrameBytes: 10_000, allocator: allocator)
        #expect(buffer.readableBytes == 10)
        #expect(buffer.capacity >= 1_004)
        // The frame passed on keeps its bytes; the remainder no longer shares its storage.
        buffer.writeImmutableBuffer(next)
        #expect(Array(first.readableBytesView) == [1, 2, 3])
        let second = try #require(try FrameDecoder.nextFrame(from: &buffer, maxFrameBytes: 10_000))
        #expect(Array(second.readableBytesView) == Array(repeating: 9, count: 1_000))
    }

    @Test func wholeFramesHeldBackStayWhereTheyAre() throws {
        var read = Self.frame([1])
        read.writeImmutableBuffer(Self.frame([2]))
        let before = read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        FrameCumulation.detachRemainder(&read, maxFrameBytes: 100, allocator: allocator)
        #expect(read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == before)
        #expect(read.readableBytes == 10)
        #expect(FrameCumulation.frameBytes(at: read, maxFrameBytes: 100) == 5)
    }

    @Test func anOversizedOrHugeAnnouncedSizeReservesNothing() throws {
        var header = ByteBuffer()
        header.writeInteger(Int32(2_000))
        var cumulation: ByteBuffer?
        // Above socket.request.max.bytes: kept as read, for the decoder to refuse.
        FrameCumulation.append(header, to: &cumulation, maxFrameBytes: 1_000, allocator: allocator)
        #expect(cumulation!.capacity < 2_000)
        var buffer = cumulation!
        #expect(throws: FrameError.self) { try FrameDecoder.nextFrame(from: &buffer, maxFrameBytes: 1_000) }

        // Allowed but above the whole-frame reservation: grows only with the bytes received.
        var huge = ByteBuffer()
        huge.writeInteger(Int32(FrameCumulation.reserveWholeFrameUpTo + 1))
        huge.writeBytes([1, 2, 3, 4])
        cumulation = nil
        FrameCumulation.append(huge, to: &cumulation, maxFrameBytes: Int(Int32.max), allocator: allocator)
        FrameCumulation.append(ByteBuffer(bytes: Array(repeating: 0, count: 100)), to: &cumulation, maxFrameBytes: Int(Int32.max), allocator: allocator)
        #expect(cumulation!.readableBytes == 108)
        #expect(cumulation!.capacity < 1 << 20)
    }

    @Test func dripFedBytesOfMixedFramesComeOutWhole() throws {
        let payloads: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 7, count: 3_000), [9], Array(repeating: 5, count: 70_000)]
        var all = ByteBuffer()
        for p in payloads { all.writeImmutableBuffer(Self.frame(p)) }
        for chunk in [1, 3, 4, 5, 1_000, 65_536] {
            var cumulation: ByteBuffer?
            var out: [[UInt8]] = []
            for read in Self.reads(of: all, chunk: chunk) {
                FrameCumulation.append(read, to: &cumulation, maxFrameBytes: 100_000, allocator: allocator)
                var buffer = cumulation!
                cumulation = nil
                var passed = false
                while let f = try FrameDecoder.nextFrame(from: &buffer, maxFrameBytes: 100_000) {
                    out.append(Array(f.readableBytesView))
                    passed = true
                }
                if passed { FrameCumulation.detachRemainder(&buffer, maxFrameBytes: 100_000, allocator: allocator) }
                if buffer.readableBytes > 0 { cumulation = buffer }
            }
            #expect(out == payloads, "reads of \(chunk) bytes")
        }
    }
}

/// The inter-broker connections' splitter, in a channel.
struct FrameSplitterTests {
    @Test func framesInMixedReadsComeOutWholeAndInOrder() throws {
        let channel = EmbeddedChannel(handler: FrameSplitter(maxFrameBytes: 1 << 20))
        let payloads: [[UInt8]] = [Array(repeating: 1, count: 300_000), [2, 3], [], Array(repeating: 4, count: 70_000)]
        var all = ByteBuffer()
        for p in payloads { all.writeImmutableBuffer(FrameCumulationTests.frame(p)) }
        for read in FrameCumulationTests.reads(of: all, chunk: 65_536) { try channel.writeInbound(read) }
        var out: [[UInt8]] = []
        while let frame: ByteBuffer = try channel.readInbound() { out.append(Array(frame.readableBytesView)) }
        #expect(out == payloads)
        _ = try channel.finish()
    }

    @Test func anOversizedFrameClosesTheChannel() throws {
        let channel = EmbeddedChannel(handler: FrameSplitter(maxFrameBytes: 100))
        var header = ByteBuffer()
        header.writeInteger(Int32(101))
        #expect(throws: FrameError.self) { try channel.writeInbound(header) }
        #expect(!channel.isActive)
    }
}
