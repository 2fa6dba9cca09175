#if canImport(Glibc)
import Glibc
#endif
import Benchmark
import Foundation
import KafkaProtocol
import LogStorage
import NIOCore
import SystemPackage

/// Storage benchmarks for `LogStorage.Log`, each paired with its physical baseline measured in the
/// same process and the same iteration, so that the reported ratios do not depend on how busy or
/// fast the machine is:
///
/// 1. Append: 16 KiB batches through `Log.append` into the page cache vs. plain `pwrite` of the
///    same bytes to a file (MB/s each, ratio in per mille).
/// 2. Offset lookup: `Log.position(of:)` of a random offset in a full 1 GiB segment (p50/p99), with
///    a random 61-byte `pread` (one batch header read) as the floor.
/// 3. Recovery: reopening a 1 GiB segment with no clean shutdown (every batch CRC-checked, indexes
///    rebuilt) vs. a sequential `pread` of the same file (MB/s each, ratio in per mille).
/// 4. Idle partitions: resident bytes, file descriptors and mappings per open partition with
///    1,000 partitions of one small segment each.
/// 5. Metrics overhead: `Log.append` with the broker's per-append metrics recording
///    (`BrokerMetrics.recordProduced`) vs. `Log.append` alone (ratio in per mille).
///
/// `RUNNEL_BENCH_SEGMENT_MIB` shrinks the 1 GiB segment of 2 and 3 on slow machines.
let benchmarks: @Sendable () -> Void = {
    appendBenchmark()
    lookupBenchmarks()
    recoveryBenchmark()
    idlePartitionsBenchmark()
    metricsOverheadBenchmark()
}

// MARK: - Metrics

private func perMille(_ numerator: Int, _ denominator: Int) -> Int { denominator > 0 ? numerator * 1000 / denominator : 0 }

private let logAppendMBps = BenchmarkMetric.custom("Log.append MB/s", polarity: .prefersLarger, useScalingFactor: false)
private let pwriteMBps = BenchmarkMetric.custom("pwrite MB/s (baseline)", polarity: .prefersLarger, useScalingFactor: false)
private let appendRatio = BenchmarkMetric.custom("append/pwrite ‰", polarity: .prefersLarger, useScalingFactor: false)
private let recoveryMBps = BenchmarkMetric.custom("recovery MB/s", polarity: .prefersLarger, useScalingFactor: false)
private let preadMBps = BenchmarkMetric.custom("pread MB/s (baseline)", polarity: .prefersLarger, useScalingFactor: false)
private let recoveryRatio = BenchmarkMetric.custom("recovery/pread ‰", polarity: .prefersLarger, useScalingFactor: false)
private let rssPerPartition = BenchmarkMetric.custom("RSS bytes/partition", polarity: .prefersSmaller, useScalingFactor: false)
private let fdsPer1000 = BenchmarkMetric.custom("fds per 1000 partitions", polarity: .prefersSmaller, useScalingFactor: false)
private let mapsPer1000 = BenchmarkMetric.custom("maps per 1000 partitions", polarity: .prefersSmaller, useScalingFactor: false)

private func countUnits(_ metrics: [BenchmarkMetric]) -> [BenchmarkMetric: BenchmarkUnits] {
    Dictionary(uniqueKeysWithValues: metrics.map { ($0, BenchmarkUnits.count) })
}

// MARK: - 1. Append throughput

/// A log and a baseline file side by side in one temp directory. Both are recycled (emptied,
/// closed, recreated, outside the measurement) before either would pass `recycleBytes`: the log
/// never rolls (`segment.bytes` is 1 GiB), and both keep writing into page-cache pages the kernel
/// has just freed rather than into never-touched guest memory, whose first touch on this VM costs
/// more than the copy itself and would mask the difference being measured.
private final class AppendState: @unchecked Sendable {
    let batch: ByteBuffer
    let header: RecordBatchHeader
    let batchesPerPass = 1024  // 16 MiB per measured pass
    let segmentBytes = 1 << 30
    let recycleBytes = 256 << 20
    var directory = ""
    var log: Log?
    var baselineFD: Int32 = -1
    var baselineOffset = 0
    var iteration = 0

    init() { (batch, header) = makeBatch() }

    var passBytes: Int { batchesPerPass * batch.readableBytes }

    func open() throws {
        directory = makeTempDirectory("runnel-bench-append")
        log = try Log(directory: FilePath(directory).appending("append-0"), config: LogConfig(segmentBytes: segmentBytes),
                      logger: silentLogger)
        baselineFD = Glibc.open("\(directory)/baseline.dat", O_RDWR | O_CREAT | O_TRUNC, 0o644)
        precondition(baselineFD >= 0, "open baseline file: errno \(errno)")
        baselineOffset = 0
    }

    func makeRoom() throws {
        guard let log else { return try open() }
        if log.sizeBytes + Int64(passBytes) > Int64(recycleBytes) || baselineOffset + passBytes > recycleBytes {
            close()
            try open()
        }
    }

    func close() {
        // Empty the files first so closing (fsync) and removing write nothing back to disk.
        _ = truncate(FilePath(directory).appending("append-0").appending("00000000000000000000.log").string, 0)
        _ = ftruncate(baselineFD, 0)
        log?.close()
        log = nil
        _ = Glibc.close(baselineFD)
        baselineFD = -1
        removeTree(directory)
    }

    /// Appends one pass through `Log.append`; returns nanoseconds.
    func appendPass() throws -> Int64 {
        let log = log!
        let start = monotonicNs()
        for _ in 0..<batchesPerPass { try log.append(batch, header: header, leaderEpoch: 0) }
        return monotonicNs() - start
    }

    /// Writes the same bytes with plain sequential `pwrite`s; returns nanoseconds.
    func pwritePass() -> Int64 {
        batch.withUnsafeReadableBytes { bytes in
            let start = monotonicNs()
            for _ in 0..<batchesPerPass {
                var done = 0
                while done < bytes.count {
                    let n = pwrite(baselineFD, bytes.baseAddress! + done, bytes.count - done, off_t(baselineOffset + done))
                    if n < 0 { if errno == EINTR { continue }; fatalError("pwrite: errno \(errno)") }
                    done += n
                }
                baselineOffset += bytes.count
            }
            return monotonicNs() - start
        }
    }
}

private func appendBenchmark() {
    let state = AppendState()
    let metrics: [BenchmarkMetric] = [.wallClock, logAppendMBps, pwriteMBps, appendRatio]
    Benchmark(
        "Append 16 KiB batches: Log.append vs pwrite (16 MiB per pass)",
        configuration: .init(metrics: metrics, units: countUnits([logAppendMBps, pwriteMBps, appendRatio]),
                             warmupIterations: 4, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 100),
        closure: { benchmark in
            do {
                try state.makeRoom()
                benchmark.startMeasurement()
                // Alternate the order so neither side always runs on the warmer cache.
                let logNs: Int64
                let baselineNs: Int64
                if state.iteration % 2 == 0 {
                    logNs = try state.appendPass()
                    baselineNs = state.pwritePass()
                } else {
                    baselineNs = state.pwritePass()
                    logNs = try state.appendPass()
                }
                benchmark.stopMeasurement()
                state.iteration += 1
                let logRate = megabytesPerSecond(bytes: state.passBytes, ns: logNs)
                let baseRate = megabytesPerSecond(bytes: state.passBytes, ns: baselineNs)
                benchmark.measurement(logAppendMBps, logRate)
                benchmark.measurement(pwriteMBps, baseRate)
                benchmark.measurement(appendRatio, perMille(logRate, baseRate))
            } catch {
                benchmark.error("append failed: \(error)")
            }
        },
        setup: {
            warmPageAllocator(bytes: 1 << 30)
            try state.open()
        },
        teardown: { state.close() }
    )
}

// MARK: - 2. Offset lookup

private final class LookupState: @unchecked Sendable {
    var segment: FullSegment?
    var log: Log?
    var offsets: [Int64] = []
    var positions: [Int64] = []
    var fd: Int32 = -1
    var next = 0

    /// Random offsets (and batch positions) spread over the whole segment, fixed seed.
    func makeTargets(logEndOffset: Int64, batches: Int, batchBytes: Int) {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0..<(1 << 16) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            offsets.append(Int64((state >> 11) % UInt64(logEndOffset)))
            positions.append(Int64((state >> 11) % UInt64(batches)) * Int64(batchBytes))
        }
    }

    func teardown() {
        log?.close()
        log = nil
        if fd >= 0 { _ = Glibc.close(fd) }
        segment?.remove()
    }
}

private func lookupBenchmarks() {
    let lookup = LookupState()
    Benchmark(
        "Offset lookup: Log.position(of:) random offset, full segment",
        configuration: .init(metrics: [.wallClock], timeUnits: .nanoseconds, warmupIterations: 2000,
                             scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 300_000),
        closure: { _ in
            let offset = lookup.offsets[lookup.next & 0xFFFF]
            lookup.next &+= 1
            blackHole(try! lookup.log!.position(of: offset))
        },
        setup: {
            let segment = try FullSegment.build()
            lookup.segment = segment
            let log = try Log(directory: segment.partitionDirectory, config: segment.config, logger: silentLogger,
                              options: .init(cleanShutdown: true))
            lookup.log = log
            lookup.makeTargets(logEndOffset: segment.logEndOffset, batches: segment.batches, batchBytes: 16 * 1024)
            // Sanity: the lookup lands on the batch holding the offset.
            for offset in lookup.offsets.prefix(64) {
                guard let found = try log.position(of: offset),
                      found.position == offset / Int64(segment.recordsPerBatch) * 16 * 1024
                else { fatalError("position(of: \(offset)) is wrong") }
            }
        },
        teardown: { lookup.teardown() }
    )

    let header = LookupState()
    Benchmark(
        "Offset lookup floor: pread of one 61-byte batch header, random position",
        configuration: .init(metrics: [.wallClock], timeUnits: .nanoseconds, warmupIterations: 2000,
                             scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 300_000),
        closure: { _ in
            let position = header.positions[header.next & 0xFFFF]
            header.next &+= 1
            withUnsafeTemporaryAllocation(byteCount: RecordBatchHeader.size, alignment: 8) { buffer in
                blackHole(pread(header.fd, buffer.baseAddress!, RecordBatchHeader.size, off_t(position)))
            }
        },
        setup: {
            let segment = try FullSegment.build()
            header.segment = segment
            header.fd = Glibc.open(segment.logFilePath, O_RDONLY)
            precondition(header.fd >= 0)
            header.makeTargets(logEndOffset: segment.logEndOffset, batches: segment.batches, batchBytes: 16 * 1024)
        },
        teardown: { header.teardown() }
    )
}

// MARK: - 3. Recovery scan

private final class RecoveryState: @unchecked Sendable {
    var segment: FullSegment?
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 << 20, alignment: 4096)
    var iteration = 0

    init() { chunk.initializeMemory(as: UInt8.self, repeating: 0) }

    /// Reads the whole segment file with sequential 8 MiB `pread`s (recovery's chunk size); ns.
    func preadPass() -> Int64 {
        let fd = Glibc.open(segment!.logFilePath, O_RDONLY)
        precondition(fd >= 0)
        defer { _ = Glibc.close(fd) }
        let start = monotonicNs()
        var position = 0
        while true {
            let n = pread(fd, chunk.baseAddress!, chunk.count, off_t(position))
            if n < 0 { if errno == EINTR { continue }; fatalError("pread: errno \(errno)") }
            if n == 0 { break }
            position += n
        }
        let ns = monotonicNs() - start
        precondition(position == segment!.bytes)
        return ns
    }

    /// Reopens the log with no clean shutdown (every batch validated, indexes rebuilt); ns.
    func recoveryPass() throws -> Int64 {
        let segment = segment!
        let start = monotonicNs()
        let log = try Log(directory: segment.partitionDirectory, config: segment.config, logger: silentLogger,
                          options: .init(recoveryPoint: nil, cleanShutdown: false))
        let ns = monotonicNs() - start
        precondition(log.logEndOffset == segment.logEndOffset && log.sizeBytes == Int64(segment.bytes),
                     "recovery lost data: \(log.logEndOffset) / \(segment.logEndOffset)")
        log.close()
        return ns
    }
}

private func recoveryBenchmark() {
    let state = RecoveryState()
    let metrics: [BenchmarkMetric] = [.wallClock, recoveryMBps, preadMBps, recoveryRatio]
    Benchmark(
        "Recovery scan: unclean reopen of a full segment vs sequential pread",
        configuration: .init(metrics: metrics, units: countUnits([recoveryMBps, preadMBps, recoveryRatio]),
                             warmupIterations: 1, scalingFactor: .one, maxDuration: .seconds(6), maxIterations: 8),
        closure: { benchmark in
            do {
                let recoveryNs: Int64
                let baselineNs: Int64
                if state.iteration % 2 == 0 {
                    recoveryNs = try state.recoveryPass()
                    baselineNs = state.preadPass()
                } else {
                    baselineNs = state.preadPass()
                    recoveryNs = try state.recoveryPass()
                }
                state.iteration += 1
                let bytes = state.segment!.bytes
                let recoveryRate = megabytesPerSecond(bytes: bytes, ns: recoveryNs)
                let baseRate = megabytesPerSecond(bytes: bytes, ns: baselineNs)
                benchmark.measurement(recoveryMBps, recoveryRate)
                benchmark.measurement(preadMBps, baseRate)
                benchmark.measurement(recoveryRatio, perMille(recoveryRate, baseRate))
            } catch {
                benchmark.error("recovery failed: \(error)")
            }
        },
        setup: { state.segment = try FullSegment.build() },
        teardown: { state.segment?.remove() }
    )
}

// MARK: - 4. Idle partitions

private final class IdleState: @unchecked Sendable {
    let partitions = 1000
    var directory = ""
    var partitionDirectories: [FilePath] = []

    /// One partition written through `Log` (one small batch, closed cleanly), copied 999 times.
    func create() throws {
        directory = makeTempDirectory("runnel-bench-idle")
        let template = FilePath(directory).appending("idle-0")
        let log = try Log(directory: template, config: LogConfig(), logger: silentLogger)
        let (batch, header) = makeBatch(totalBytes: 1024, records: 4)
        try log.append(batch, header: header, leaderEpoch: 0)
        log.close()
        partitionDirectories = [template]
        let names = try FileManager.default.contentsOfDirectory(atPath: template.string)
        for i in 1..<partitions {
            let target = FilePath(directory).appending("idle-\(i)")
            try FileManager.default.createDirectory(atPath: target.string, withIntermediateDirectories: false)
            for name in names {
                try FileManager.default.copyItem(atPath: template.appending(name).string, toPath: target.appending(name).string)
            }
            partitionDirectories.append(target)
        }
    }
}

private func idlePartitionsBenchmark() {
    let state = IdleState()
    let custom = [rssPerPartition, fdsPer1000, mapsPer1000]
    Benchmark(
        "Idle partitions: open 1000 logs of one small segment (clean shutdown)",
        configuration: .init(metrics: [.wallClock] + custom, units: countUnits(custom),
                             warmupIterations: 1, scalingFactor: .one, maxDuration: .seconds(12), maxIterations: 4),
        closure: { benchmark in
            trimMallocHeap()
            let rss0 = residentBytes(), fds0 = openDescriptorCount(), maps0 = mappingCount()
            var logs: [Log] = []
            logs.reserveCapacity(state.partitions)
            benchmark.startMeasurement()  // wall clock: the 1000 opens only
            do {
                for directory in state.partitionDirectories {
                    logs.append(try Log(directory: directory, config: LogConfig(), logger: silentLogger,
                                        options: .init(cleanShutdown: true)))
                }
            } catch {
                benchmark.error("open failed: \(error)")
            }
            benchmark.stopMeasurement()
            let rss1 = residentBytes(), fds1 = openDescriptorCount(), maps1 = mappingCount()
            benchmark.measurement(rssPerPartition, (rss1 - rss0) / state.partitions)
            benchmark.measurement(fdsPer1000, (fds1 - fds0) * 1000 / state.partitions)
            benchmark.measurement(mapsPer1000, (maps1 - maps0) * 1000 / state.partitions)
            for log in logs { log.close() }
            logs.removeAll()
            trimMallocHeap()
        },
        setup: { try state.create() },
        teardown: { removeTree(state.directory) }
    )
}
