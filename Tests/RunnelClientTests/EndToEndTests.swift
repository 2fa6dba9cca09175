import Foundation
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import RunnelBroker
import ServiceLifecycle
import Synchronization
import Testing
@testable import RunnelClient

/// A broker in this process on a free loopback port, with its log under a temporary directory.
struct InProcessBroker {
    let bootstrap: String
    let task: Task<Void, any Error>
    let directory: String

    /// - Parameter overrides: more broker settings; `listeners` in them may use `{port}` for the
    ///   free port picked.
    static func start(overrides: [(key: String, value: String)] = []) async throws -> InProcessBroker {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-client-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try await freePort()
        let config = try BrokerConfig(overrides: [
            ("listeners", "PLAINTEXT://127.0.0.1:\(port)"), ("log.dirs", directory),
            ("offsets.topic.replication.factor", "1"), ("group.initial.rebalance.delay.ms", "0"),
            ("runnel.metrics.listener", ""),
        ] + overrides.map { ($0.key, $0.value.replacingOccurrences(of: "{port}", with: "\(port)")) })
        var logger = Logger(label: "test.broker")
        logger.logLevel = .error
        let listening = AsyncStream<Int>.makeStream()
        let broker = Broker(config: config, logger: logger) { listening.continuation.yield($0) }
        let task = Task { try await broker.run() }
        for await _ in listening.stream { break }
        return InProcessBroker(bootstrap: "127.0.0.1:\(port)", task: task, directory: directory)
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }
}

/// Signals the service group to shut down gracefully once `body` has run.
struct OneShot: Service {
    let body: @Sendable () async throws -> Void
    func run() async throws { try await body() }
}

@Suite("Producer and consumer against an in-process broker", .serialized)
struct EndToEndTests {
    @Test("a producer service drains queued records on graceful shutdown; a consumer reads them back in order")
    func producerDrainsOnShutdown() async throws {
        let broker = try await InProcessBroker.start()
        defer { Task { await broker.stop() } }
        let admin = Admin(configuration: try ClientConfiguration(properties: ["bootstrap.servers": broker.bootstrap]))
        try await admin.createTopics([NewTopic(name: "drain", partitions: 2)])

        var config = try ProducerConfiguration(properties: ["bootstrap.servers": broker.bootstrap, "compression.type": "lz4"])
        config.linger = .seconds(30)  // nothing is sent until the shutdown drains it
        let producer = Producer(configuration: config)
        let delivered = Mutex<[RecordMetadata]>([])
        let sender = OneShot {
            for i in 0..<1000 {
                try await producer.send(ProducerRecord(topic: "drain", key: "k\(i % 7)", value: "v\(i)")) { result in
                    if case .success(let metadata) = result { delivered.withLock { $0.append(metadata) } }
                }
            }
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: producer), .init(service: sender, successTerminationBehavior: .gracefullyShutdownGroup)],
            logger: Logger(label: "test")))
        try await group.run()
        let metadata = delivered.withLock { $0 }
        #expect(metadata.count == 1000)
        #expect(Set(metadata.map(\.partition)).count == 2)
        for partition in [Int32(0), 1] {
            let offsets = metadata.filter { $0.partition == partition }.map(\.offset).sorted()
            #expect(offsets == Array(0..<Int64(offsets.count)))
        }

        var consumerConfig = try ConsumerConfiguration(properties: ["bootstrap.servers": broker.bootstrap])
        consumerConfig.autoOffsetReset = .earliest
        let consumer = Consumer(configuration: consumerConfig)
        try await consumer.assign([TopicPartition(topic: "drain", partition: 0), TopicPartition(topic: "drain", partition: 1)])
        var seen: [String: [Int]] = [:]
        var count = 0
        for try await record in consumer.records {
            let key = String(buffer: record.key!)
            seen[key, default: []].append(Int(String(buffer: record.value!).dropFirst())!)
            count += 1
            if count == 1000 { break }
        }
        await consumer.close()
        await admin.close()
        // Per key (one partition each) the values arrive in the order they were sent.
        for (key, values) in seen {
            let k = Int(key.dropFirst())!
            #expect(values == Array(stride(from: k, to: 1000, by: 7)))
        }
    }

    @Test("a consumer service in a group commits its position and leaves on graceful shutdown; rebalance events are reported")
    func consumerCommitsOnShutdown() async throws {
        let broker = try await InProcessBroker.start()
        defer { Task { await broker.stop() } }
        let admin = Admin(configuration: try ClientConfiguration(properties: ["bootstrap.servers": broker.bootstrap]))
        try await admin.createTopics([NewTopic(name: "commits", partitions: 3)])
        let producer = Producer(configuration: try ProducerConfiguration(properties: ["bootstrap.servers": broker.bootstrap]))
        for i in 0..<30 {
            _ = try await producer.send(ProducerRecord(topic: "commits", partition: Int32(i % 3), value: "v\(i)"))
        }
        await producer.close()

        var config = try ConsumerConfiguration(properties: [
            "bootstrap.servers": broker.bootstrap, "group.id": "svc", "auto.offset.reset": "earliest",
            "heartbeat.interval.ms": "200",
        ])
        config.autoCommitInterval = .seconds(3600)  // only the shutdown commits
        let events = Mutex<[RebalanceEvent]>([])
        let consumer = Consumer(configuration: config) { event in events.withLock { $0.append(event) } }
        let reader = OneShot {
            try await consumer.subscribe(topics: ["commits"])
            var count = 0
            for try await _ in consumer.records {
                count += 1
                if count == 30 { return }
            }
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: consumer), .init(service: reader, successTerminationBehavior: .gracefullyShutdownGroup)],
            logger: Logger(label: "test")))
        try await group.run()

        let committed = try await admin.groupOffsets("svc")
        #expect(committed == [TopicPartition(topic: "commits", partition: 0): 10, TopicPartition(topic: "commits", partition: 1): 10,
                              TopicPartition(topic: "commits", partition: 2): 10])
        let description = try #require(try await admin.describeGroups(["svc"]).first)
        #expect(description.members.isEmpty)
        let all = (0..<3).map { TopicPartition(topic: "commits", partition: Int32($0)) }
        #expect(events.withLock { $0 } == [.assigned(all), .revoked(all)])
        await admin.close()
    }

    @Test("offsetsForTimes, seek and pause/resume")
    func offsetsSeekPause() async throws {
        let broker = try await InProcessBroker.start()
        defer { Task { await broker.stop() } }
        let admin = Admin(configuration: try ClientConfiguration(properties: ["bootstrap.servers": broker.bootstrap]))
        try await admin.createTopics([NewTopic(name: "times", partitions: 1)])
        let producer = Producer(configuration: try ProducerConfiguration(properties: ["bootstrap.servers": broker.bootstrap]))
        for i in 0..<10 {
            _ = try await producer.send(ProducerRecord(topic: "times", value: "v\(i)", timestamp: 1_000_000 + Int64(i) * 1000))
        }
        await producer.close()
        let tp = TopicPartition(topic: "times", partition: 0)
        let consumer = Consumer(configuration: try ConsumerConfiguration(properties: ["bootstrap.servers": broker.bootstrap]))
        try await consumer.assign([tp])
        let found = try await consumer.offsetsForTimes([tp: 1_004_500])
        #expect(found[tp] == 5)
        #expect(try await consumer.offsetsForTimes([tp: 9_999_999])[tp] == .some(nil))
        try await consumer.seek(tp, to: 5)
        await consumer.pause([tp])
        #expect(try await consumer.poll(maxWait: .milliseconds(50)).isEmpty)
        await consumer.resume([tp])
        var values: [String] = []
        while values.count < 5 { values += try await consumer.poll().map { String(buffer: $0.value!) } }
        #expect(values == ["v5", "v6", "v7", "v8", "v9"])
        #expect(await consumer.position(tp) == 10)
        let ends = try await admin.listOffsets([tp], spec: .latest)
        #expect(ends[tp] == 10)
        await consumer.close()
        await admin.close()
    }

    @Test("deleteRecords moves the log start offset to an offset or to the high watermark; past it is OFFSET_OUT_OF_RANGE")
    func deleteRecords() async throws {
        let broker = try await InProcessBroker.start()
        defer { Task { await broker.stop() } }
        let admin = Admin(configuration: try ClientConfiguration(properties: ["bootstrap.servers": broker.bootstrap]))
        try await admin.createTopics([NewTopic(name: "trim", partitions: 2)])
        let producer = Producer(configuration: try ProducerConfiguration(properties: ["bootstrap.servers": broker.bootstrap]))
        for i in 0..<6 { _ = try await producer.send(ProducerRecord(topic: "trim", partition: Int32(i % 2), value: "v\(i)")) }
        await producer.close()
        let (p0, p1) = (TopicPartition(topic: "trim", partition: 0), TopicPartition(topic: "trim", partition: 1))
        let result = try await admin.deleteRecords([p0: .before(2), p1: .all])
        #expect(result == [p0: 2, p1: 3])
        #expect(try await admin.listOffsets([p0, p1], spec: .earliest) == [p0: 2, p1: 3])
        await #expect(throws: ClientError.broker(code: .offsetOutOfRange, message: nil, context: "DeleteRecords for trim-0")) {
            _ = try await admin.deleteRecords([p0: .before(100)])
        }
        await admin.close()
    }
}
