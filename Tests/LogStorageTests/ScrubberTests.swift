import Foundation
import KafkaProtocol
@testable import LogStorage
import NIOCore
import SystemPackage
import Testing

/// The scrubber's check of closed segments (``SegmentScrubber``) and how a log stops serving a
/// corrupt range (``Log/recordCorruption(_:)``) until truncation removes it.
@Suite struct ScrubberTests {
    /// Three closed segments of four identical 5-record batches each, plus an empty active one: segment k
    /// holds offsets [20k, 20k+20).
    static func withClosedSegments(_ body: (Log, [ScrubTarget], Int) throws -> Void) throws {
        try withTemporaryDirectory { root throws in
            let batchBytes = makeBatch(recordCount: 5, seed: 0).readableBytes
            let log = try openLog(root.appending("t-0"), segmentBytes: batchBytes * 4)
            defer { log.close() }
            for _ in 0..<12 { try log.append(makeBatch(recordCount: 5, seed: 0), epoch: 0) }
            try log.append(makeBatch(recordCount: 5, seed: 0), epoch: 0)  // rolls: the 12 above are closed
            try body(log, log.scrubTargets, batchBytes)
        }
    }

    static func flipByte(_ path: FilePath, at position: Int64) throws {
        let fd = try FileDescriptor.open(path, .readWrite)
        defer { try? fd.close() }
        var byte: UInt8 = 0
        _ = try withUnsafeMutableBytes(of: &byte) { try fd.read(fromAbsoluteOffset: position, into: $0) }
        byte ^= 0x10
        _ = try withUnsafeBytes(of: &byte) { try fd.write(toAbsoluteOffset: position, $0) }
    }

    /// Runs the scrubber over a whole segment in small steps, collecting what it reports.
    static func scan(_ target: ScrubTarget, step: Int = 100) throws -> [LogCorruption] {
        var cursor = SegmentScrubber.Cursor(target: target)
        var found: [LogCorruption] = []
        while true {
            switch try SegmentScrubber.verify(target, from: cursor, maxBytes: step) {
            case .finished, .gone: return found
            case .progress(let next, _): cursor = next
            case .corrupt(let corruption, let resume, _):
                found.append(corruption)
                guard let resume else { return found }
                cursor = resume
            }
        }
    }

    @Test func soundSegmentsReportNothing() throws {
        try Self.withClosedSegments { log, targets, _ throws in
            #expect(targets.map(\.baseOffset) == [0, 20, 40])
            #expect(targets.map(\.endOffset) == [20, 40, 60])
            for target in targets { #expect(try Self.scan(target).isEmpty) }
        }
    }

    @Test func aFlippedRecordByteIsReportedAsItsBatch() throws {
        try Self.withClosedSegments { log, targets, batchBytes throws in
            // The third batch of the middle segment: offsets [30, 35); flip a byte in its records.
            try Self.flipByte(targets[1].path, at: Int64(batchBytes * 2 + RecordBatchHeader.size + 3))
            let found = try Self.scan(targets[1])
            #expect(found.map(\.offsets) == [30..<35])
            #expect(found.first?.position == Int64(batchBytes * 2))
            #expect(found.first?.reason.contains("CRC") == true)
            #expect(try Self.scan(targets[0]).isEmpty && Self.scan(targets[2]).isEmpty)
        }
    }

    @Test func aBrokenLengthTaintsTheRestOfTheSegment() throws {
        try Self.withClosedSegments { log, targets, batchBytes throws in
            // The batch length field (bytes 8-11) of the second batch of the first segment.
            try Self.flipByte(targets[0].path, at: Int64(batchBytes + 8))
            let found = try Self.scan(targets[0])
            #expect(found.map(\.offsets) == [5..<20])
        }
    }

    @Test func aCorruptRangeIsNotServedUntilTruncatedAway() throws {
        try Self.withClosedSegments { log, targets, batchBytes throws in
            try Self.flipByte(targets[1].path, at: Int64(batchBytes * 2 + RecordBatchHeader.size + 3))
            let corruption = try #require(try Self.scan(targets[1]).first)
            #expect(log.recordCorruption(corruption))
            #expect(!log.recordCorruption(corruption), "the same range twice is not news")
            #expect(log.firstCorruptOffset == 30)

            // Reads before the range stop at it; reads inside it are refused; reads after it go on.
            var served = try log.read(from: 20, maxBytes: 1 << 20, upperBound: log.logEndOffset)
            var last: Int64 = -1
            while let header = RecordBatchHeader.peek(served, at: served.readerIndex) {
                last = header.lastOffset
                served.moveReaderIndex(forwardBy: header.totalSize)
            }
            #expect(last == 29)
            for offset: Int64 in [30, 32, 34] {
                #expect(throws: StorageError.self) { try log.read(from: offset, maxBytes: 1 << 20, upperBound: log.logEndOffset) }
            }
            let after = try log.read(from: 35, maxBytes: 1, upperBound: log.logEndOffset)
            #expect(RecordBatchHeader.peek(after, at: after.readerIndex)?.baseOffset == 35)

            // A follower truncates to the range and fetches again: the range is forgotten.
            try log.truncate(to: 30)
            #expect(log.corruptions.isEmpty && log.firstCorruptOffset == nil)
            try log.append(makeBatch(recordCount: 5, seed: 7), epoch: 1)
            let refetched = try log.read(from: 30, maxBytes: 1, upperBound: log.logEndOffset)
            #expect(RecordBatchHeader.peek(refetched, at: refetched.readerIndex)?.baseOffset == 30)
        }
    }

    @Test func aRangeInASegmentNoLongerInTheLogIsIgnored() throws {
        try Self.withClosedSegments { log, targets, _ throws in
            let stale = LogCorruption(offsets: 0..<5, segmentPath: "/nowhere/00000000000000000000.log", position: 0, reason: "test")
            #expect(!log.recordCorruption(stale))
            #expect(log.corruptions.isEmpty)
        }
    }

    @Test func aDeletedSegmentIsGone() throws {
        try Self.withClosedSegments { log, targets, _ throws in
            var target = targets[0]
            target.path = target.path.removingLastComponent().appending("99999999999999999999.log")
            #expect(try SegmentScrubber.verify(target, from: .init(target: target), maxBytes: 1 << 20) == .gone)
        }
    }
}
