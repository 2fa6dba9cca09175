import ArgumentParser
import Dispatch
import Foundation
import NIOCore
import RunnelClient

/// `runnel perf produce|consume|e2e`: throughput and latency, like `kafka-producer-perf-test.sh`
/// and OpenMessaging Benchmark.
struct PerfCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perf",
        abstract: "Measure produce and consume throughput and latency.",
        discussion: """
        Each command prints a progress line to stderr every second and a summary to stdout, with \
        OpenMessaging Benchmark field names (publishRate, publishLatency99pct, consumeRate, \
        endToEndLatency99pct...; latencies in ms, throughput in MiB/s); --output json prints it as one object.
        """,
        subcommands: [Produce.self, Consume.self, EndToEnd.self]
    )

    enum Output: String, ExpressibleByArgument { case text, json }

    struct ProducerOptions: ParsableArguments {
        @Option(name: .customLong("num-records"), help: "Records to send.") var numRecords: Int = 100_000
        @Option(name: .customLong("record-size"), help: "Value size in bytes.") var recordSize: Int = 100
        @Option(name: .long, help: "Target records/s; -1 for as fast as possible.") var throughput: Int = -1
        @Option(name: .long, help: "0, 1 or all.") var acks: String = "all"
        @Option(name: .customLong("batch-size"), help: "batch.size in bytes.") var batchSize: Int = 262_144
        @Option(name: .customLong("linger-ms"), help: "linger.ms.") var lingerMs: Int = 5
        @Option(name: .long, help: "none, gzip, snappy, lz4 or zstd.") var compression: String = "none"
        @Option(name: .long, help: "Key records with N distinct keys (spreads them over partitions by murmur2); 0: no keys.")
        var keys: Int = 0

        func configuration(_ client: ClientOptions) throws -> ProducerConfiguration {
            try ProducerConfiguration(properties: try client.propertyMap([
                "acks": acks, "batch.size": "\(batchSize)", "linger.ms": "\(lingerMs)", "compression.type": compression,
            ]))
        }
    }

    struct Produce: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send records as fast as allowed; report publish rate and latency.")
        @OptionGroup var client: ClientOptions
        @Option(name: .long, help: "Topic to send to.") var topic: String
        @OptionGroup var producer: ProducerOptions
        @Option(name: .long, help: "text or json.") var output: Output = .text

        func run() async throws {
            try await runClient {
                let stats = PerfStats()
                let elapsed = try await PerfCommand.produce(topic: topic, options: producer, client: client, stats: stats,
                                                            stampTime: false)
                let (errors, first) = stats.errors
                printSummary(stats.summary(seconds: elapsed, ratePrefix: "publish", latencyPrefix: "publishLatency",
                                           recordSize: producer.recordSize), json: output == .json)
                if errors > 0 { throw CLIError("\(errors) records failed; first error: \(first ?? "?")") }
            }
        }
    }

    /// Sends `numRecords` records, pacing to `throughput`; returns the seconds until the last ack.
    /// With `stampTime` each value starts with the send time in ms (8 bytes, big endian) for e2e.
    static func produce(topic: String, options: ProducerOptions, client: ClientOptions, stats: PerfStats,
                        stampTime: Bool) async throws -> Double {
        let producer = Producer(configuration: try options.configuration(client))
        var payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: max(options.recordSize, stampTime ? 8 : 0))
        let size = payload.readableBytes
        let progress = startProgress { stats.progressLine(seconds: $0, verb: "sent", withLatency: true) }
        let clock = ContinuousClock()
        let start = clock.now
        // Records go to the producer in chunks (one call per chunk, like rd_kafka_produce_batch);
        // when pacing, chunks are small enough to keep the rate smooth.
        // Options read once: the argument-parser property wrappers are slow to read per record.
        let (throughput, numRecords, keys) = (options.throughput, options.numRecords, options.keys)
        let chunkSize = throughput > 0 ? max(1, min(256, throughput / 1000)) : 256
        var index = 0
        var reused: [ProducerRecord] = []
        func send(_ chunk: [ProducerRecord], _ count: Int) async throws {
            let sentAt = DispatchTime.now().uptimeNanoseconds
            // One report per run of records delivered together (one clock read and lock per run).
            try await producer.send(contentsOf: chunk, onBatchDelivery: { indices, result in
                switch result {
                case .success:
                    stats.record(count: indices.count, bytes: size * indices.count,
                                 latencyMicros: (DispatchTime.now().uptimeNanoseconds &- sentAt) / 1000)
                case .failure(let error): stats.recordError(error, count: indices.count)
                }
            })
            index += count
        }
        while index < numRecords {
            if throughput > 0 {
                let due = start + .seconds(Double(index) / Double(throughput))
                if due > clock.now { try await Task.sleep(until: due, clock: clock) }
            }
            let count = min(chunkSize, numRecords - index)
            // Without time stamps or keys every chunk holds the same records: build it once.
            let reusable = !stampTime && keys == 0
            if reusable, reused.count == count {
                try await send(reused, count)
                continue
            }
            var chunk: [ProducerRecord] = []
            chunk.reserveCapacity(count)
            for _ in 0..<count {
                var value = payload
                if stampTime {
                    value = ByteBuffer(buffer: payload)
                    value.setInteger(wallClockMillis(), at: value.readerIndex, endianness: .big)
                }
                let key = keys > 0 ? ByteBuffer(string: "key-\((index + chunk.count) % keys)") : nil
                chunk.append(ProducerRecord(topic: topic, key: key, value: value))
            }
            if reusable { reused = chunk }
            try await send(chunk, count)
        }
        payload.clear()
        await producer.close()
        progress.cancel()
        return (clock.now - start).seconds
    }

    struct Consume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read records as fast as possible; report consume rate.")
        @OptionGroup var client: ClientOptions
        @Option(name: .long, help: "Topic to read.") var topic: String
        @Option(name: .customLong("num-records"), help: "Stop after this many records.") var numRecords: Int = 100_000
        @Option(name: .long, help: "Consumer group (default: read partitions directly from the start).") var group: String?
        @Option(name: .customLong("timeout-ms"), help: "Give up after this long without a record.") var timeoutMs: Int = 10_000
        @Option(name: .long, help: "text or json.") var output: Output = .text

        func run() async throws {
            try await runClient {
                let stats = PerfStats()
                let consumer = try await PerfCommand.startConsumer(topic: topic, group: group, client: client, fromStart: true)
                let progress = startProgress { stats.progressLine(seconds: $0, verb: "received", withLatency: false) }
                let start = ContinuousClock.now
                var last = start
                while stats.records < numRecords, ContinuousClock.now - last < .milliseconds(timeoutMs) {
                    let records = try await consumer.poll(maxWait: .milliseconds(200))
                    if !records.isEmpty { last = .now }
                    for record in records { stats.record(bytes: record.value?.readableBytes ?? 0, latencyMicros: nil) }
                }
                progress.cancel()
                let elapsed = (last - start).seconds
                await consumer.close()
                printSummary(stats.summary(seconds: max(elapsed, 0.001), ratePrefix: "consume", latencyPrefix: nil, recordSize: 0),
                             json: output == .json)
                if stats.records < numRecords {
                    throw CLIError("received \(stats.records) of \(numRecords) records before --timeout-ms \(timeoutMs)")
                }
            }
        }
    }

    static func startConsumer(topic: String, group: String?, client: ClientOptions, fromStart: Bool) async throws -> Consumer {
        var extra = ["auto.offset.reset": fromStart ? "earliest" : "latest", "fetch.max.wait.ms": "100"]
        if let group { extra["group.id"] = group }
        let consumer = Consumer(configuration: try ConsumerConfiguration(properties: try client.propertyMap(extra)))
        if group != nil {
            try await consumer.subscribe(topics: [topic])
        } else {
            let admin = Admin(configuration: try client.clientConfiguration())
            let partitions = try await admin.partitions(of: topic)
            await admin.close()
            try await consumer.assign(partitions)
            if !fromStart { try await consumer.seek(partitions, to: .latest) }
        }
        return consumer
    }

    struct EndToEnd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "e2e",
            abstract: "Produce and consume at once; report the produce-to-consume latency from timestamps in the values.")
        @OptionGroup var client: ClientOptions
        @Option(name: .long, help: "Topic to use.") var topic: String
        @OptionGroup var producer: ProducerOptions
        @Option(name: .long, help: "text or json.") var output: Output = .text

        func run() async throws {
            try await runClient {
                let stats = PerfStats()
                let consumer = try await PerfCommand.startConsumer(topic: topic, group: nil, client: client, fromStart: false)
                // Resolve positions at the log end before the first record is sent.
                _ = try await consumer.poll(maxWait: .milliseconds(10))
                let target = producer.numRecords
                let receiving = Task {
                    var last = ContinuousClock.now
                    while stats.records < target, ContinuousClock.now - last < .seconds(15) {
                        let records = try await consumer.poll(maxWait: .milliseconds(100))
                        let now = wallClockMillis()
                        if !records.isEmpty { last = .now }
                        for record in records {
                            let sent = record.value?.getInteger(at: record.value!.readerIndex, endianness: .big, as: Int64.self) ?? now
                            stats.record(bytes: record.value?.readableBytes ?? 0, latencyMicros: UInt64(max(0, now - sent)) * 1000)
                        }
                    }
                }
                let sendStats = PerfStats()
                let elapsed = try await PerfCommand.produce(topic: topic, options: producer, client: client, stats: sendStats,
                                                            stampTime: true)
                try await receiving.value
                await consumer.close()
                var fields = stats.summary(seconds: elapsed, ratePrefix: "consume", latencyPrefix: "endToEndLatency",
                                           recordSize: producer.recordSize)
                fields += sendStats.summary(seconds: elapsed, ratePrefix: "publish", latencyPrefix: "publishLatency",
                                            recordSize: producer.recordSize).filter { $0.0.hasPrefix("publish") }
                printSummary(fields, json: output == .json)
                if stats.records < target { throw CLIError("received \(stats.records) of \(target) records") }
            }
        }
    }
}
