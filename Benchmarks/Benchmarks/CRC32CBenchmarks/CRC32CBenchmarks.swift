import Benchmark
import KafkaProtocol
import NIOCore

/// CRC-32C (ISA-L `crc32_iscsi`) throughput over a 1 MiB buffer and latency over a 61-byte
/// RecordBatch v2 header (the CRC covers bytes 21..end of every batch).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .cpuTotal],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    func deterministicBuffer(count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(count)
        var state: UInt32 = 0x2545_F491
        for _ in 0..<count {
            state = state &* 1_664_525 &+ 1_013_904_223
            buffer.writeInteger(UInt8(truncatingIfNeeded: state >> 24))
        }
        return buffer
    }

    let mebibyte = deterministicBuffer(count: 1 << 20)
    Benchmark(
        "CRC32C 1 MiB",
        configuration: .init(scalingFactor: .one, maxDuration: .seconds(3))
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(CRC32C.checksum(mebibyte))
        }
    }

    let header = deterministicBuffer(count: 61)
    Benchmark("CRC32C 61-byte batch header") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(CRC32C.checksum(header))
        }
    }
}
