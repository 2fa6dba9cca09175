import Benchmark
import KafkaProtocol
import NIOCore

/// The produce path's per-request decoding, with allocation counts (issue 9's microbenchmarks):
/// - the 61-byte RecordBatch v2 header read (`RecordBatchHeader.peek`, protocol guide "Record
///   Batch"), what every append and every fetch does per batch;
/// - header-only validation of a produced batch (`RecordBatchValidator.validateProduced`: header,
///   length, record count and CRC-32C; records are not decompressed), per batch of a Produce;
/// - decoding a whole Produce v9 request (flexible, KIP-482) of 16 partitions with one 64 KiB
///   batch each, as librdkafka sends them under load: record sets are sliced from the request
///   buffer, not copied, so allocations do not grow with the bytes.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    /// One uncompressed batch of `count` records of `valueBytes` bytes each (no keys).
    func batch(records count: Int, valueBytes: Int) -> ByteBuffer {
        var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
        for i in 0..<count {
            builder.append(key: nil, value: ByteBuffer(repeating: UInt8(truncatingIfNeeded: i), count: valueBytes))
        }
        return builder.build()
    }

    // What the harness itself counts per iteration at scaling factor 1 (its allocations are
    // included in the malloc counts of the benchmarks below that use the same factor).
    Benchmark("Empty iteration (harness baseline)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(0)
        }
    }

    let small = batch(records: 10, valueBytes: 100)
    Benchmark("Batch header decode (61 bytes)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(RecordBatchHeader.peek(small, at: small.readerIndex))
        }
    }

    let large = batch(records: 64, valueBytes: 1_024)  // about 66 KiB
    Benchmark(
        "Produce batch validation (64 x 1 KiB records)",
        configuration: .init(scalingFactor: .one)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try RecordBatchValidator.validateProduced(large, maxBatchBytes: 1 << 20))
        }
    }

    let request = ProduceRequest(acks: 1, timeoutMs: 30_000, topicData: [
        .init(name: "bench", partitionData: (0..<16).map { .init(index: Int32($0), records: large) }),
    ])
    let encoded = request.encoded(apiKey: .produce, version: 9)
    Benchmark(
        "Produce v9 request decode (16 partitions x 66 KiB)",
        configuration: .init(scalingFactor: .one)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try ProduceRequest.decode(encoded, apiKey: .produce, version: 9))
        }
    }
}
