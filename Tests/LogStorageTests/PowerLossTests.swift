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
    /// of its range either zero-filled (the size was updated, the data not) or cut off. Sometimes the
    /// file is zero-filled up to the end of the lost writes (the size reached the disk, the data not). What was written becomes the
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
                var note = "\(key.split(separator: "/").last ?? ""): durable \(file.durable.count) B, kept \(keep)/\(file.volatile.count) changes"
                if keep < file.volatile.count, case .write(let offset, let bytes) = file.volatile[keep], rng.chance(0.7) {
                    let torn = Int.random(in: 0..<bytes.count, using: &rng)
                    let zeroFill = rng.chance(0.5)
                    Self.apply(.write(offset: offset, bytes: Array(bytes.prefix(torn))), to: &content)
                    if zeroFill && content.count < offset + bytes.count {
                        content += [UInt8](repeating: 0, count: offset + bytes.count - content.count)
                    }
                    note += ", torn write at \(offset): \(torn)/\(bytes.count) B\(zeroFill ? " + zeros" : "")"
                }
                // The size reached disk but not the data: zeros up to the end of the lost writes.
                let writtenEnd = file.volatile.map { change -> Int in
                    if case .write(let offset, let bytes) = change { return offset + bytes.count }
                    return 0
                }.max() ?? 0
                if writtenEnd > content.count && rng.chance(0.15) {
                    note += ", zero-filled from \(content.count) to \(writtenEnd)"
                    content += [UInt8](repeating: 0, count: writtenEnd - content.count)
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
    /// What the test appended: stamped batches in offset order, with their offsets.
    struct Expected {
        var batches: [ByteBuffer] = []
        var bases: [Int64] = []
        var lasts: [Int64] = []
        var nextOffset: Int64 { lasts.last.map { $0 + 1 } ?? 0 }

        mutating func append(_ batch: ByteBuffer) {
            let header = batchHeader(batch)
            batches.append(batch)
            bases.append(header.baseOffset)
            lasts.append(header.lastOffset)
        }

        mutating func keep(_ count: Int) {
            batches.removeLast(batches.count - count)
            bases.removeLast(bases.count - count)
            lasts.removeLast(lasts.count - count)
        }
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
            // Plenty of open inactive segments: reads do not keep reopening files (slow paths in
            // debug builds); the lazy handles have their own test.
            var options = Log.LoadOptions(recoveryPoint: nil, cleanShutdown: false, maxOpenInactiveSegments: 1000)
            options.fileOperations = fs
            var log: Log? = try Log(directory: dir, config: config, logger: quietLogger, options: options)

            // Each round appends to the log (round 0: new; later: the one recovered from the last
            // crash), cuts the power and recovers.
            for round in 0..<2 {
                var checkpoint: Int64? = nil
                for _ in 0..<Int.random(in: 1...20, using: &rng) {
                    let batch = makeBatch(recordCount: Int.random(in: 1...6, using: &rng), seed: Int.random(in: 0...999, using: &rng))
                    let base = try log!.append(batch, epoch: 0)
                    guard base == expected.nextOffset else {
                        Issue.record("seed \(seed): appended at \(base), expected \(expected.nextOffset)")
                        return
                    }
                    expected.append(stamped(batch, baseOffset: base))
                    if rng.chance(0.15) {
                        try log!.flush()
                        trace.append("round \(round): flush at \(log!.logEndOffset)")
                    }
                    // The broker checkpoints the recovery point now and then.
                    if rng.chance(0.2) { checkpoint = log!.recoveryPoint }
                }
                let durable = log!.recoveryPoint
                trace.append("round \(round): appended up to \(log!.logEndOffset), fsynced below \(durable), segments \(log!.segmentBaseOffsets), checkpoint \(checkpoint.map(String.init) ?? "none")")
                // The process dies, then the power fails.
                log = nil
                trace += fs.cutPower(seed: seed &* 1000 &+ UInt64(round)).map { "  " + $0 }
                let recoveryPoint = rng.chance(0.7) ? checkpoint : nil
                try Self.damageUnsyncedIndexes(dir, recoveryPoint: recoveryPoint, rng: &rng, trace: &trace)
                trace.append("round \(round): reopen with recoveryPoint \(recoveryPoint.map(String.init) ?? "nil")")

                options.recoveryPoint = recoveryPoint
                log = try Log(directory: dir, config: config, logger: quietLogger, options: options)
                guard try Self.verify(log!, expected: &expected, durable: durable, rng: &rng, trace: trace) else { return }
            }
            log!.close()
        }
    }

    /// Index files are mapped, not written through the file layer: for the segments recovery will
    /// scan anyway, delete them, zero them, cut them short, or leave them as they are.
    static func damageUnsyncedIndexes(_ dir: FilePath, recoveryPoint: Int64?, rng: inout CrashRNG, trace: inout [String]) throws {
        let bases = try segmentBases(dir)
        let from = recoveryPoint.flatMap { point in bases.last { $0 <= point } } ?? Int64.min
        let directory = dir.string
        for base in bases where base >= from {
            for name in [indexFileName(base), timeIndexFileName(base)] {
                let path = directory + "/" + name
                var st = stat()
                guard stat(path, &st) == 0 else { continue }
                let size = Int(st.st_size)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0:
                    _ = unlink(path)
                    trace.append("  \(name): deleted")
                case 1:
                    try Data(count: size).write(to: URL(fileURLWithPath: path))
                    trace.append("  \(name): zeroed")
                case 2:
                    let cut = Int.random(in: 0...size, using: &rng)
                    _ = truncate(path, off_t(cut))
                    trace.append("  \(name): cut to \(cut) B")
                default:
                    break
                }
            }
        }
    }

    /// Checks the reopened log against what was appended and trims `expected` to what survived.
    /// - Parameter durable: offsets below it were fsynced and must all be there.
    /// - Returns: false after recording an issue.
    static func verify(_ log: Log, expected: inout Expected, durable: Int64, rng: inout CrashRNG, trace: [String]) throws -> Bool {
        func fail(_ message: String, _ location: SourceLocation = #_sourceLocation) -> Bool {
            Issue.record(Comment(rawValue: message + "\n" + trace.joined(separator: "\n")), sourceLocation: location)
            return false
        }
        let end = log.logEndOffset
        guard log.logStartOffset == 0 else { return fail("log start offset \(log.logStartOffset)") }
        guard end >= durable else { return fail("lost fsynced data: log end \(end) < fsynced \(durable)") }
        guard end <= expected.nextOffset else { return fail("log end \(end) past the appended end \(expected.nextOffset)") }
        // The log is a prefix of whole batches.
        guard end == 0 || expected.lasts.contains(end - 1) else { return fail("log end \(end) is inside an appended batch") }
        let keptCount = expected.lasts.prefix { $0 < end }.count
        let stored = try log.readAllBatches(maxBytes: Int.random(in: 1...4000, using: &rng))
        guard stored.count == keptCount else { return fail("read \(stored.count) batches, expected \(keptCount) below \(end)") }
        for (i, got) in stored.enumerated() where got != expected.batches[i] {
            return fail("batch \(i) (offset \(expected.bases[i])) differs from the appended one")
        }
        // Reads from the first and a random offset of every batch return whole batches,
        // starting with that batch.
        for i in 0..<keptCount {
            for offset in Set([expected.bases[i], Int64.random(in: expected.bases[i]...expected.lasts[i], using: &rng)]).sorted() {
                let bytes = try log.read(from: offset, maxBytes: Int.random(in: 1...3000, using: &rng), upperBound: .max)
                guard let batches = splitBatches(bytes), !batches.isEmpty else {
                    return fail("read from \(offset) returned a partial batch or nothing (\(bytes.readableBytes) B)")
                }
                for (j, batch) in batches.enumerated() where i + j >= keptCount || batch != expected.batches[i + j] {
                    return fail("read from \(offset): batch \(j) is not batch \(i + j)")
                }
            }
        }
        expected.keep(keptCount)
        return true
    }
}

/// Power loss under the group commit: whatever ``LogFlusher`` reported as flushed (the offsets a
/// `runnel.flush.on.ack` produce acknowledges) survives the cut, across segment rolls, with the
/// indexes of the unsynced segments damaged (only the `.log` is synced per acknowledgement).
/// Run both with rolls synced inline and with their syncs deferred to the flusher
/// (``Log/LoadOptions/defersRollSync``, as the broker opens its partitions).
@Suite struct GroupCommitPowerLossTests {
    @Test(arguments: [false, true], Array(UInt64(0)..<60))
    func flushedOffsetsSurvivePowerLoss(defersRollSync: Bool, seed: UInt64) throws {
        try withTemporaryDirectory { root throws in
            var rng = CrashRNG(seed: seed)
            let dir = root.appending("group-commit")
            let config = crashConfig(segmentBytes: Int.random(in: 600...3000, using: &rng), segmentIndexBytes: 4096,
                                     indexIntervalBytes: Int.random(in: 1...600, using: &rng))
            let fs = PowerLossFileSystem()
            var options = Log.LoadOptions(recoveryPoint: nil, cleanShutdown: false, maxOpenInactiveSegments: 1000)
            options.fileOperations = fs
            options.defersRollSync = defersRollSync
            var log: Log? = try Log(directory: dir, config: config, logger: quietLogger, options: options)
            let runner = ManualRunner()
            let flusher = LogFlusher(durableOffset: 0, policy: .init(flushOnAck: true), runner: runner.runner)
            var expected = PowerLossTests.Expected()
            var trace = ["seed \(seed) segmentBytes=\(config.segmentBytes) defersRollSync=\(defersRollSync)"]
            for _ in 0..<Int.random(in: 5...40, using: &rng) {
                let batch = makeBatch(recordCount: Int.random(in: 1...6, using: &rng), seed: Int.random(in: 0...999, using: &rng))
                let base = try log!.append(batch, epoch: 0)
                expected.append(stamped(batch, baseOffset: base))
                flusher.rolled(log!.takeRolledSegmentSyncs())
                flusher.appended(through: log!.logEndOffset, handle: try log!.activeSyncHandle())
                // Some appends get a sync started; some syncs finish before the next append.
                if rng.chance(0.3) { flusher.requestSync() }
                if rng.chance(0.3) { runner.drain() }
            }
            let durable = flusher.flushedOffset
            trace.append("appended up to \(log!.logEndOffset), flushed below \(durable), segments \(log!.segmentBaseOffsets)")
            log = nil
            trace += fs.cutPower(seed: seed).map { "  " + $0 }
            try PowerLossTests.damageUnsyncedIndexes(dir, recoveryPoint: nil, rng: &rng, trace: &trace)
            log = try Log(directory: dir, config: config, logger: quietLogger, options: options)
            _ = try PowerLossTests.verify(log!, expected: &expected, durable: durable, rng: &rng, trace: trace)
            log!.close()
        }
    }
}
