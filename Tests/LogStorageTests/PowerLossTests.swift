import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KafkaProtocol
@testable import LogStorage
import NIOCore
import Synchronization
import SystemPackage
import Testing

/// A ``FileOperations`` that remembers, per `.log` file, what a power cut would keep: the content
/// as of the last fsync (durable) and the writes and truncations since (volatile, in order). The
/// real files always hold the latest content (the page cache view), so the log under test works as
/// usual; ``cutPower(seed:)`` then rewrites each real file to something a disk could hold after
/// power loss. Files removed behind its back (unlink on recovery) are forgotten.
final class PowerLossFileSystem: FileOperations {
    enum Change {
        case write(offset: Int, bytes: [UInt8])
        case truncate(size: Int)
    }

    struct FileState {
        var durable: [UInt8]
        var volatile: [Change] = []
    }

    struct State {
        var files: [String: FileState] = [:]
        var open: [Int32: String] = [:]
        var syncs = 0
    }

    private let state = Mutex(State())
    private let real = RealFileOperations()

    /// fsyncs seen so far.
    var syncCount: Int { state.withLock { $0.syncs } }

    func open(_ path: FilePath, create: Bool) throws -> SystemPackage.FileDescriptor {
        let existed = access(path.string, F_OK) == 0
        let fd = try real.open(path, create: create)
        let key = path.string
        let current: [UInt8] = existed ? Array((try? Data(contentsOf: URL(fileURLWithPath: key))) ?? Data()) : []
        state.withLock { s in
            s.open[fd.rawValue] = key
            // A file met for the first time was durable as found (it predates the test's power cut
            // model); one that was unlinked and is created again starts empty (the directory is
            // fsynced after a segment is created).
            if s.files[key] == nil || !existed { s.files[key] = FileState(durable: current) }
        }
        return fd
    }

    func size(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws -> Int64 {
        try real.size(descriptor, path: path)
    }

    func pwrite(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try real.pwrite(descriptor, path: path, bytes, at: offset)
        let change = Change.write(offset: Int(offset), bytes: Array(bytes))
        state.withLock { $0.files[path.string]?.volatile.append(change) }
    }

    func pread(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try real.pread(descriptor, path: path, into: buffer, at: offset)
    }

    func ftruncate(_ descriptor: SystemPackage.FileDescriptor, path: FilePath, to size: Int64) throws {
        try real.ftruncate(descriptor, path: path, to: size)
        state.withLock { $0.files[path.string]?.volatile.append(.truncate(size: Int(size))) }
    }

    /// Makes the file's volatile changes durable; the real fsync is skipped (the test never loses
    /// real power, and skipping it keeps hundreds of seeds fast).
    func fsync(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) throws {
        state.withLock { s in
            s.syncs += 1
            guard var file = s.files[path.string] else { return }
            for change in file.volatile { Self.apply(change, to: &file.durable) }
            file.volatile = []
            s.files[path.string] = file
        }
    }

    func close(_ descriptor: SystemPackage.FileDescriptor, path: FilePath) {
        state.withLock { _ = $0.open.removeValue(forKey: descriptor.rawValue) }
        real.close(descriptor, path: path)
    }

    static func apply(_ change: Change, to content: inout [UInt8]) {
        switch change {
        case .write(let offset, let bytes):
            if content.count < offset + bytes.count { content += [UInt8](repeating: 0, count: offset + bytes.count - content.count) }
            content.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        case .truncate(let size):
            if size < content.count { content.removeSubrange(size...) } else { content += [UInt8](repeating: 0, count: size - content.count) }
        }
    }

    /// Power fails: every file descriptor of the dead process is closed, and each tracked file is
    /// rewritten to its durable content plus a prefix, chosen by `seed`, of its volatile changes;
    /// the last kept write may be torn (only a prefix of its bytes reached the disk), with the rest
    /// of its range either zero-filled (the size was updated, the data not) or cut off. Sometimes a
    /// zeroed tail follows, as a preallocating file system may leave. What was written becomes the
    /// new durable content.
    /// - Returns: one line per file saying what was kept, for a failure message.
    @discardableResult
    func cutPower(seed: UInt64) -> [String] {
        var rng = CrashRNG(seed: seed)
        return state.withLock { s -> [String] in
            for (fd, _) in s.open { _ = Glibc.close(fd) }
            s.open = [:]
            var report: [String] = []
            for key in s.files.keys.sorted() {
                guard access(key, F_OK) == 0, var file = s.files[key] else {
                    s.files[key] = nil
                    continue
                }
                var content = file.durable
                let keep = Int.random(in: 0...file.volatile.count, using: &rng)
                for change in file.volatile.prefix(keep) { Self.apply(change, to: &content) }
                var note = "\(FilePath(key).lastComponent?.string ?? key): durable \(file.durable.count) B, kept \(keep)/\(file.volatile.count) changes"
                if keep < file.volatile.count, case .write(let offset, let bytes) = file.volatile[keep], rng.chance(0.7) {
                    let torn = Int.random(in: 0..<bytes.count, using: &rng)
                    let zeroFill = rng.chance(0.5)
                    Self.apply(.write(offset: offset, bytes: Array(bytes.prefix(torn))), to: &content)
                    if zeroFill && content.count < offset + bytes.count {
                        content += [UInt8](repeating: 0, count: offset + bytes.count - content.count)
                    }
                    note += ", torn write at \(offset): \(torn)/\(bytes.count) B\(zeroFill ? " + zeros" : "")"
                }
                if rng.chance(0.1) {
                    let zeros = Int.random(in: 1...300, using: &rng)
                    content += [UInt8](repeating: 0, count: zeros)
                    note += ", \(zeros) zero bytes appended"
                }
                try? Data(content).write(to: URL(fileURLWithPath: key))
                file.durable = content
                file.volatile = []
                s.files[key] = file
                report.append(note + " → \(content.count) B")
            }
            return report
        }
    }
}

/// Power loss under a log that appends, flushes at random points and rolls small segments: after
/// the cut and an unclean reopen the log must be a prefix of what was appended, hold everything
/// that was fsynced, and never hand out a partial batch.
@Suite struct PowerLossTests {
    /// What the test appended: stamped batches in offset order.
    struct Expected {
        var batches: [ByteBuffer] = []
        var nextOffset: Int64 { batches.last.map { batchHeader($0).nextOffset } ?? 0 }
    }

    static let seeds: [UInt64] = Array(0..<200)

    @Test(arguments: seeds)
    func powerLossKeepsAFsyncedPrefix(seed: UInt64) throws {
        try withTemporaryDirectory { root throws in
            var rng = CrashRNG(seed: seed)
            let dir = root.appending("power-0")
            let config = crashConfig(segmentBytes: Int.random(in: 500...3000, using: &rng),
                                     segmentIndexBytes: rng.chance(0.3) ? 64 : 4096,
                                     indexIntervalBytes: Int.random(in: 1...600, using: &rng))
            let fs = PowerLossFileSystem()
            var expected = Expected()
            var trace: [String] = ["seed \(seed) config segmentBytes=\(config.segmentBytes) indexBytes=\(config.segmentIndexBytes) interval=\(config.indexIntervalBytes)"]
            var checkpoint: Int64? = nil
            var recoveryPoint: Int64? = nil

            for round in 0..<2 {
                // Open (round 0: a new log; later: recovery of the previous round's crash).
                var options = Log.LoadOptions(recoveryPoint: recoveryPoint, cleanShutdown: false)
                options.fileOperations = fs
                let durable: Int64
                do {
                    let log = try Log(directory: dir, config: config, logger: quietLogger, options: options)
                    if round > 0 {
                        let closedEnd = expected.nextOffset
                        guard try Self.verify(log, expected: &expected, durable: closedEnd, rng: &rng, trace: trace) else { return }
                    }
                    checkpoint = nil
                    let appends = Int.random(in: 1...40, using: &rng)
                    for _ in 0..<appends {
                        let batch = makeBatch(recordCount: Int.random(in: 1...6, using: &rng), seed: Int.random(in: 0...999, using: &rng))
                        let base = try log.append(batch, epoch: 0)
                        #expect(base == expected.nextOffset, "seed \(seed)")
                        expected.batches.append(stamped(batch, baseOffset: base))
                        if rng.chance(0.15) {
                            try log.flush()
                            trace.append("round \(round): flush at \(log.logEndOffset)")
                        }
                        // The broker checkpoints the recovery point now and then.
                        if rng.chance(0.2) { checkpoint = log.recoveryPoint }
                    }
                    durable = log.recoveryPoint
                    trace.append("round \(round): appended up to \(log.logEndOffset), fsynced below \(durable), segments \(log.segmentBaseOffsets), checkpoint \(checkpoint.map(String.init) ?? "none")")
                }
                // The log object is gone (the process died); power fails.
                trace += fs.cutPower(seed: seed &* 1000 &+ UInt64(round)).map { "  " + $0 }
                recoveryPoint = rng.chance(0.7) ? checkpoint : nil
                try Self.damageUnsyncedIndexes(dir, recoveryPoint: recoveryPoint, rng: &rng, trace: &trace)
                trace.append("round \(round): reopen with recoveryPoint \(recoveryPoint.map(String.init) ?? "nil")")

                var reopen = Log.LoadOptions(recoveryPoint: recoveryPoint, cleanShutdown: false)
                reopen.fileOperations = fs
                let log = try Log(directory: dir, config: config, logger: quietLogger, options: reopen)
                guard try Self.verify(log, expected: &expected, durable: durable, rng: &rng, trace: trace) else { return }
                // Whatever the reopened log holds now is on disk; the next round crashes it again.
                recoveryPoint = rng.chance(0.5) ? log.recoveryPoint : nil
                log.close()
            }
        }
    }

    /// Index files are mapped, not written through the file layer: for the segments recovery will
    /// scan anyway, delete them, zero them, cut them short, or leave them as they are.
    static func damageUnsyncedIndexes(_ dir: FilePath, recoveryPoint: Int64?, rng: inout CrashRNG, trace: inout [String]) throws {
        let bases = try segmentBases(dir)
        let from = recoveryPoint.flatMap { point in bases.last { $0 <= point } } ?? Int64.min
        for base in bases where base >= from {
            for path in [dir.appending(indexFileName(base)), dir.appending(timeIndexFileName(base))] {
                guard FileManager.default.fileExists(atPath: path.string) else { continue }
                let size = try fileSize(path)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0:
                    try FileManager.default.removeItem(atPath: path.string)
                    trace.append("  \(path.lastComponent!): deleted")
                case 1:
                    try FileManager.default.overwrite(path, with: [UInt8](repeating: 0, count: size))
                    trace.append("  \(path.lastComponent!): zeroed")
                case 2:
                    let cut = Int.random(in: 0...size, using: &rng)
                    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path.string))
                    try handle.truncate(atOffset: UInt64(cut))
                    try handle.close()
                    trace.append("  \(path.lastComponent!): cut to \(cut) B")
                default:
                    break
                }
            }
        }
    }

    /// Checks the reopened log against what was appended and trims `expected` to what survived.
    /// - Parameter durable: offsets below it were fsynced and must all be there.
    /// - Returns: false after recording an issue.
    static func verify(_ log: Log, expected: inout Expected, durable: Int64?, rng: inout CrashRNG, trace: [String]) throws -> Bool {
        func fail(_ message: String, _ location: SourceLocation = #_sourceLocation) -> Bool {
            Issue.record(Comment(rawValue: message + "\n" + trace.joined(separator: "\n")), sourceLocation: location)
            return false
        }
        let end = log.logEndOffset
        guard log.logStartOffset == 0 else { return fail("log start offset \(log.logStartOffset)") }
        if let durable, end < durable { return fail("lost fsynced data: log end \(end) < fsynced \(durable)") }
        guard end <= expected.nextOffset else { return fail("log end \(end) past the appended end \(expected.nextOffset)") }
        // The log is a prefix of whole batches.
        guard end == 0 || expected.batches.contains(where: { batchHeader($0).nextOffset == end }) else {
            return fail("log end \(end) is inside an appended batch")
        }
        let stored = try log.readAllBatches(maxBytes: Int.random(in: 1...4000, using: &rng))
        let kept = expected.batches.prefix { batchHeader($0).nextOffset <= end }
        guard stored.count == kept.count else { return fail("read \(stored.count) batches, expected \(kept.count) below \(end)") }
        for (i, (got, want)) in zip(stored, kept).enumerated() where got != want {
            return fail("batch \(i) (offset \(batchHeader(want).baseOffset)) differs from the appended one")
        }
        // Every offset reads as whole batches starting with the one that holds it.
        for offset in 0..<end {
            let bytes = try log.read(from: offset, maxBytes: Int.random(in: 1...3000, using: &rng), upperBound: .max)
            guard let batches = splitBatches(bytes), let first = batches.first else {
                return fail("read from \(offset) returned a partial batch or nothing (\(bytes.readableBytes) B)")
            }
            let header = batchHeader(first)
            guard header.baseOffset <= offset, offset <= header.lastOffset else { return fail("read from \(offset) starts at batch \(header.baseOffset)") }
            let index = kept.firstIndex { batchHeader($0).baseOffset == header.baseOffset }!
            for (j, batch) in batches.enumerated() where index + j >= kept.count || batch != kept[index + j] {
                return fail("read from \(offset): batch \(j) differs")
            }
        }
        expected.batches = Array(kept)
        return true
    }
}
