#if canImport(Glibc)
import Glibc
#endif
import Benchmark
import KafkaProtocol
import LogStorage
import NIOCore
import RunnelBroker
import SystemPackage

private let plainMBps = BenchmarkMetric.custom("Log.append MB/s", polarity: .prefersLarger, useScalingFactor: false)
private let withMetricsMBps = BenchmarkMetric.custom("Log.append + metrics MB/s", polarity: .prefersLarger, useScalingFactor: false)
private let overheadRatio = BenchmarkMetric.custom("with/without metrics ‰", polarity: .prefersLarger, useScalingFactor: false)

/// Two logs in one temp directory, one appended to plainly and one with the broker's metrics
/// counters incremented after each append (what `Partition.append` adds per batch), alternating order per
/// iteration; both are recycled before 256 MiB as in the append benchmark.
private final class MetricsOverheadState: @unchecked Sendable {
    let (batch, header) = makeBatch()
    let metrics = BrokerMetrics()
    lazy var counters = metrics.counters("bench")
    let batchesPerPass = 1024
    var directory = ""
    var plain: Log?
    var measured: Log?
    var iteration = 0

    func open() throws {
        directory = makeTempDirectory("runnel-bench-metrics")
        plain = try Log(directory: FilePath(directory).appending("plain-0"), config: LogConfig(segmentBytes: 1 << 30), logger: silentLogger)
        measured = try Log(directory: FilePath(directory).appending("measured-0"), config: LogConfig(segmentBytes: 1 << 30), logger: silentLogger)
    }

    func makeRoom() throws {
        guard let plain else { return try open() }
        if plain.sizeBytes + Int64(batchesPerPass * batch.readableBytes) > 256 << 20 {
            close()
            try open()
        }
    }

    func close() {
        for name in ["plain-0", "measured-0"] {
            _ = truncate(FilePath(directory).appending(name).appending("00000000000000000000.log").string, 0)
        }
        plain?.close()
        measured?.close()
        plain = nil
        measured = nil
        removeTree(directory)
    }

    func pass(_ log: Log, recordMetrics: Bool) throws -> Int64 {
        let start = monotonicNs()
        for _ in 0..<batchesPerPass {
            try log.append(batch, header: header, leaderEpoch: 0)
            if recordMetrics { counters.recordProduced(bytes: batch.readableBytes, records: Int(header.recordsCount)) }
        }
        return monotonicNs() - start
    }
}

func metricsOverheadBenchmark() {
    let state = MetricsOverheadState()
    Benchmark(
        "Append 16 KiB batches: with vs without broker metrics (16 MiB per pass)",
        configuration: .init(metrics: [.wallClock, plainMBps, withMetricsMBps, overheadRatio],
                             units: [plainMBps: .count, withMetricsMBps: .count, overheadRatio: .count],
                             warmupIterations: 4, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 100),
        closure: { benchmark in
            do {
                try state.makeRoom()
                benchmark.startMeasurement()
                let plainNs: Int64
                let measuredNs: Int64
                if state.iteration % 2 == 0 {
                    plainNs = try state.pass(state.plain!, recordMetrics: false)
                    measuredNs = try state.pass(state.measured!, recordMetrics: true)
                } else {
                    measuredNs = try state.pass(state.measured!, recordMetrics: true)
                    plainNs = try state.pass(state.plain!, recordMetrics: false)
                }
                benchmark.stopMeasurement()
                state.iteration += 1
                let bytes = state.batchesPerPass * state.batch.readableBytes
                let plainRate = megabytesPerSecond(bytes: bytes, ns: plainNs)
                let measuredRate = megabytesPerSecond(bytes: bytes, ns: measuredNs)
                benchmark.measurement(plainMBps, plainRate)
                benchmark.measurement(withMetricsMBps, measuredRate)
                benchmark.measurement(overheadRatio, plainRate > 0 ? measuredRate * 1000 / plainRate : 0)
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
