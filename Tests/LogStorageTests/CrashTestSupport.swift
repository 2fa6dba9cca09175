import Foundation
import KafkaProtocol
@testable import LogStorage
import NIOCore
import Synchronization
import SystemPackage
import Testing

/// A deterministic random number generator (SplitMix64) so a failing seed reproduces exactly.
struct CrashRNG: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x1234_5678 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) } }
}

/// A clock the test moves by hand, for `Log.init(clock:)`.
final class CrashClock: Sendable {
    private let value: Atomic<Int64>

    init(_ now: Int64) { value = Atomic(now) }

    var now: Int64 { value.load(ordering: .relaxed) }
    func set(_ ms: Int64) { value.store(ms, ordering: .relaxed) }
    func advance(_ ms: Int64) { value.add(ms, ordering: .relaxed) }

    var function: @Sendable () -> Int64 { { self.now } }
}

/// A config for small, fast logs.
func crashConfig(segmentBytes: Int = 1 << 30, segmentMs: Int64 = 604_800_000, segmentIndexBytes: Int = 4096,
                 indexIntervalBytes: Int = 4096, retentionMs: Int64 = -1, retentionBytes: Int64 = -1,
                 fileDeleteDelayMs: Int64 = 60_000) -> LogConfig {
    LogConfig(segmentBytes: segmentBytes, segmentMs: segmentMs, segmentIndexBytes: segmentIndexBytes,
              indexIntervalBytes: indexIntervalBytes, retentionMs: retentionMs, retentionBytes: retentionBytes,
              fileDeleteDelayMs: fileDeleteDelayMs)
}

/// `batch` as the log stores it: base offset and leader epoch assigned.
func stamped(_ batch: ByteBuffer, baseOffset: Int64, epoch: Int32 = 0) -> ByteBuffer {
    var copy = ByteBuffer(bytes: Array(batch.readableBytesView))
    RecordBatchHeader.assign(baseOffset: baseOffset, partitionLeaderEpoch: epoch, in: &copy, at: copy.readerIndex)
    return copy
}

/// The stored bytes of every offset and the answer to every timestamp query of interest: what a
/// damaged-then-reopened log must still answer identically.
struct LookupSnapshot: Equatable {
    var logStartOffset: Int64
    var logEndOffset: Int64
    /// `read(from: o, maxBytes: 1, upperBound: .max)` for each offset from the log start offset.
    var reads: [[UInt8]]
    /// `offsetForTimestamp(t, upperBound: .max)` for each probe timestamp.
    var timestamps: [Int64: Log.TimestampAndOffset?]

    static func take(_ log: Log, probes: [Int64]) throws -> LookupSnapshot {
        var reads: [[UInt8]] = []
        for offset in log.logStartOffset..<log.logEndOffset {
            reads.append(Array(try log.read(from: offset, maxBytes: 1, upperBound: .max).readableBytesView))
        }
        var timestamps: [Int64: Log.TimestampAndOffset?] = [:]
        for t in probes { timestamps[t] = try log.offsetForTimestamp(t, upperBound: .max) }
        return LookupSnapshot(logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, reads: reads, timestamps: timestamps)
    }

    /// A readable description of the first difference from `other`.
    func firstDifference(from other: LookupSnapshot) -> String? {
        if logStartOffset != other.logStartOffset { return "logStartOffset \(logStartOffset) vs \(other.logStartOffset)" }
        if logEndOffset != other.logEndOffset { return "logEndOffset \(logEndOffset) vs \(other.logEndOffset)" }
        for (i, (a, b)) in zip(reads, other.reads).enumerated() where a != b {
            return "read of offset \(logStartOffset + Int64(i)) differs (\(a.count) vs \(b.count) bytes)"
        }
        for t in timestamps.keys.sorted() where timestamps[t]! != other.timestamps[t] ?? nil {
            return "offsetForTimestamp(\(t)): \(String(describing: timestamps[t]!)) vs \(String(describing: other.timestamps[t] ?? nil))"
        }
        return nil
    }
}

/// Timestamps worth probing for a log whose records carry `timestamps`: each one, the next ms,
/// and values below and above all of them.
func timestampProbes(_ timestamps: [Int64]) -> [Int64] {
    var probes = Set<Int64>()
    for t in timestamps { probes.formUnion([t, t + 1]) }
    if let lo = timestamps.min(), let hi = timestamps.max() { probes.formUnion([Int64.min / 2, lo - 1000, hi + 1000, 0]) }
    return probes.sorted()
}

/// Copies every file of directory `from` into a fresh directory `to` (replacing it).
func copyDirectory(_ from: FilePath, to: FilePath) throws {
    try? FileManager.default.removeItem(atPath: to.string)
    try FileManager.default.copyItem(atPath: from.string, toPath: to.string)
}

func indexFileName(_ baseOffset: Int64) -> String { String(segmentFileName(baseOffset).dropLast(4)) + ".index" }
func timeIndexFileName(_ baseOffset: Int64) -> String { String(segmentFileName(baseOffset).dropLast(4)) + ".timeindex" }

/// Base offsets of the `.log` files in `directory`.
func segmentBases(_ directory: FilePath) throws -> [Int64] {
    try logFileNames(directory).compactMap { Int64($0.dropLast(4)) }
}

extension FileManager {
    /// Replaces the contents of the file at `path`.
    func overwrite(_ path: FilePath, with bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path.string))
    }
}
