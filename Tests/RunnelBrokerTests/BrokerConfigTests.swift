import Foundation
import LogStorage
@testable import RunnelBroker
import KafkaProtocol
import Testing

/// Broker configuration: defaults, properties files, overrides, validation, listeners, topic configs.
@Suite struct BrokerConfigTests {
    @Test func defaults() throws {
        let config = try BrokerConfig()
        #expect(config.string("listeners") == "PLAINTEXT://localhost:9092")
        #expect(try config.listeners == [Listener(name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "localhost", port: 9092)])
        #expect(try config.advertisedListeners == [Listener(name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "localhost", port: 9092)])
        #expect(config.string("advertised.listeners") == nil)
        #expect(config.string("log.dirs") == "./data")
        #expect(config.logDirectories == ["./data"])
        #expect(config.int("num.partitions") == 1)
        #expect(config.int("socket.request.max.bytes") == 104_857_600)
        #expect(config.int("default.replication.factor") == 1)
        #expect(config.bool("auto.create.topics.enable"))
        #expect(config.nodeID == 1)
        #expect(config.values.count == ConfigDefinitions.broker.count)
    }

    @Test func parsePropertiesText() throws {
        let text = """
            # a comment
            ! another comment

              num.partitions = 4
            listeners=PLAINTEXT://0.0.0.0:19092
            auto.create.topics.enable: false
            log.dirs:/tmp/with=equals
               # indented comment
            runnel.log.level=debug\u{20}\u{20}
            """
        let props = try BrokerConfig.parseProperties(text, path: "test.properties")
        #expect(props.map(\.key) == ["num.partitions", "listeners", "auto.create.topics.enable", "log.dirs", "runnel.log.level"])
        #expect(props.map(\.value) == ["4", "PLAINTEXT://0.0.0.0:19092", "false", "/tmp/with=equals", "debug"])
        let config = try BrokerConfig(properties: props)
        #expect(config.int("num.partitions") == 4)
        #expect(!config.bool("auto.create.topics.enable"))
        #expect(config.logDirectories == ["/tmp/with=equals"])
        #expect(config.string("runnel.log.level") == "debug")
    }

    @Test func parsePropertiesWithCRLFLineEndings() throws {
        let props = try BrokerConfig.parseProperties("# c\r\nnum.partitions=2\r\n\r\nnode.id=5\r\n", path: "crlf.properties")
        #expect(props.map(\.key) == ["num.partitions", "node.id"])
        #expect(props.map(\.value) == ["2", "5"])
    }

    @Test func malformedLineNamesTheLine() {
        #expect(throws: ConfigError.malformedLine(path: "x.properties", line: 3, text: "just words")) {
            try BrokerConfig.parseProperties("# ok\nnode.id=1\njust words\n", path: "x.properties")
        }
    }

    @Test func overrideWinsOverFile() throws {
        let config = try BrokerConfig(properties: [("num.partitions", "3"), ("node.id", "7")],
                                      overrides: [("num.partitions", "5")])
        #expect(config.int("num.partitions") == 5)
        #expect(config.nodeID == 7)
        let override = try BrokerConfig.parseOverride("log.dirs=/data/a=b")
        #expect(override.key == "log.dirs")
        #expect(override.value == "/data/a=b")
        #expect(throws: ConfigError.self) { try BrokerConfig.parseOverride("no-equals-sign") }
    }

    @Test func unknownKeyIsNamed() {
        #expect(throws: ConfigError.unknownKey("bogus.key", scope: .broker)) {
            try BrokerConfig(properties: [("bogus.key", "1")])
        }
        #expect(throws: ConfigError.unknownKey("segment.bytes", scope: .broker), "a topic key is not a broker key") {
            try BrokerConfig(overrides: [("segment.bytes", "1000")])
        }
        #expect(ConfigError.unknownKey("bogus.key", scope: .broker).description.contains("'bogus.key'"))
    }

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        var key: String
        var value: String
        var testDescription: String { "\(key)=\(value)" }
    }

    @Test(arguments: [
        InvalidCase(key: "num.partitions", value: "0"),
        InvalidCase(key: "num.partitions", value: "many"),
        InvalidCase(key: "num.partitions", value: "3000000000"),
        InvalidCase(key: "auto.create.topics.enable", value: "maybe"),
        InvalidCase(key: "listeners", value: "BOGUS://x:1"),
        InvalidCase(key: "listeners", value: "PLAINTEXT://host:notaport"),
        InvalidCase(key: "listeners", value: "PLAINTEXT://host:70000"),
        InvalidCase(key: "listeners", value: "localhost:9092"),
        InvalidCase(key: "listeners", value: ""),
        InvalidCase(key: "advertised.listeners", value: "BOGUS://x:1"),
        InvalidCase(key: "default.replication.factor", value: "40000"),
        InvalidCase(key: "log.message.timestamp.type", value: "createtime"),
        InvalidCase(key: "runnel.log.level", value: "verbose"),
        InvalidCase(key: "log.segment.bytes", value: "13"),
    ])
    func invalidValueNamesTheKey(_ c: InvalidCase) {
        let error = #expect(throws: ConfigError.self) { try BrokerConfig(overrides: [(c.key, c.value)]) }
        guard case .invalidValue(let key, _, _)? = error else {
            Issue.record("expected invalidValue, got \(String(describing: error))")
            return
        }
        #expect(key == c.key)
        #expect(error?.description.contains("'\(c.key)'") == true)
    }

    @Test func advertisedListenersDefaultToListeners() throws {
        let config = try BrokerConfig(overrides: [("listeners", "PLAINTEXT://0.0.0.0:9092, PLAINTEXT://:9093,PLAINTEXT://[::1]:9094,plaintext://broker1:9095")])
        #expect(try config.listeners == [
            Listener(name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "0.0.0.0", port: 9092),
            Listener(name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "", port: 9093),
            Listener(name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "::1", port: 9094),
            Listener(name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "broker1", port: 9095),
        ])
        #expect(try config.advertisedListeners == [
            Listener(name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "localhost", port: 9092),
            Listener(name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "localhost", port: 9093),
            Listener(name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "::1", port: 9094),
            Listener(name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "broker1", port: 9095),
        ])
        #expect(try config.listeners.map(\.description) == [
            "PLAINTEXT://0.0.0.0:9092", "PLAINTEXT://:9093", "PLAINTEXT://[::1]:9094", "PLAINTEXT://broker1:9095",
        ])

        let explicit = try BrokerConfig(overrides: [("listeners", "PLAINTEXT://0.0.0.0:9092"),
                                                    ("advertised.listeners", "PLAINTEXT://public.example:19092")])
        #expect(try explicit.advertisedListeners == [Listener(name: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "public.example", port: 19092)])
    }

    @Test func logConfigMergesTopicOverridesOverBrokerDefaults() throws {
        let defaults = try BrokerConfig().logConfig(topicOverrides: [:])
        #expect(defaults == LogConfig(segmentBytes: 1_073_741_824, indexIntervalBytes: 4096, maxMessageBytes: 1_048_588))

        let config = try BrokerConfig(overrides: [("log.segment.bytes", "1000000"), ("log.index.interval.bytes", "512"),
                                                  ("message.max.bytes", "2000")])
        #expect(config.logConfig(topicOverrides: [:]) == LogConfig(segmentBytes: 1_000_000, indexIntervalBytes: 512, maxMessageBytes: 2000))
        #expect(config.logConfig(topicOverrides: ["segment.bytes": "4096"])
                == LogConfig(segmentBytes: 4096, indexIntervalBytes: 512, maxMessageBytes: 2000))
        #expect(config.logConfig(topicOverrides: ["max.message.bytes": "10", "index.interval.bytes": "1"])
                == LogConfig(segmentBytes: 1_000_000, indexIntervalBytes: 1, maxMessageBytes: 10))
        #expect(config.topicDefaults == [
            "segment.bytes": "1000000", "index.interval.bytes": "512", "max.message.bytes": "2000",
            "message.timestamp.type": "CreateTime", "segment.ms": "604800000", "segment.index.bytes": "10485760",
            "retention.ms": "604800000", "retention.bytes": "-1", "file.delete.delay.ms": "60000",
            "cleanup.policy": "delete", "min.cleanable.dirty.ratio": "0.5", "min.compaction.lag.ms": "0",
            "min.insync.replicas": "1", "unclean.leader.election.enable": "false",
            "delete.retention.ms": "86400000", "compression.type": "producer",
            "message.timestamp.before.max.ms": "9223372036854775807", "message.timestamp.after.max.ms": "3600000",
            "flush.messages": "9223372036854775807", "flush.ms": "9223372036854775807", "runnel.flush.on.ack": "false",
        ])
        // Kafka's fallbacks: log.roll.ms -> log.roll.hours; log.retention.ms -> .minutes -> .hours.
        let fallbacks = try BrokerConfig(overrides: [("log.roll.hours", "2"), ("log.retention.minutes", "3")])
        #expect(fallbacks.topicDefaults["segment.ms"] == "7200000")
        #expect(fallbacks.topicDefaults["retention.ms"] == "180000")
        #expect(try BrokerConfig(overrides: [("log.retention.hours", "-1")]).logConfig(topicOverrides: [:]).retentionMs == -1)
        #expect(try BrokerConfig(overrides: [("log.retention.ms", "5")]).logConfig(topicOverrides: ["retention.ms": "9"]).retentionMs == 9)
        // log.flush.interval.ms -> log.flush.scheduler.interval.ms; runnel.flush.on.ack from the broker, overridable.
        let flush = try BrokerConfig(overrides: [("log.flush.scheduler.interval.ms", "250"), ("log.flush.interval.messages", "7"),
                                                 ("runnel.log.flush.on.ack", "true")])
        #expect(flush.topicDefaults["flush.ms"] == "250")
        let flushLog = flush.logConfig(topicOverrides: [:])
        #expect(flushLog.flushIntervalMs == 250 && flushLog.flushIntervalMessages == 7 && flushLog.flushOnAck)
        #expect(!flush.logConfig(topicOverrides: ["runnel.flush.on.ack": "false"]).flushOnAck)
        #expect(try BrokerConfig(overrides: [("log.flush.interval.ms", "40")]).logConfig(topicOverrides: [:]).flushIntervalMs == 40)
        #expect(ConfigDefinitions.dynamicBrokerKeys.isSuperset(of: ["runnel.log.flush.on.ack", "log.flush.interval.messages", "log.flush.interval.ms"]))
        let compacted = config.logConfig(topicOverrides: ["cleanup.policy": "compact,delete"])
        #expect(compacted.compactEnabled && compacted.deleteEnabled)

        let appendTime = try BrokerConfig(overrides: [("log.message.timestamp.type", "LogAppendTime")])
        #expect(appendTime.appendPolicy(topicOverrides: [:]).logAppendTime)
        #expect(!appendTime.appendPolicy(topicOverrides: ["message.timestamp.type": "CreateTime"]).logAppendTime)
        #expect(try BrokerConfig().appendPolicy(topicOverrides: ["message.timestamp.type": "LogAppendTime"]).logAppendTime)
    }

    @Test func appendPolicyFollowsKafkaDefaultsAndOverrides() throws {
        let defaults = try BrokerConfig().appendPolicy(topicOverrides: [:])
        // Kafka 4.0: before.max.ms unbounded, after.max.ms one hour (KIP-937); compression.type=producer.
        #expect(defaults == AppendPolicy(logAppendTime: false, timestampBeforeMaxMs: .max, timestampAfterMaxMs: 3_600_000, compression: nil))
        let broker = try BrokerConfig(overrides: [("compression.type", "zstd"), ("log.message.timestamp.before.max.ms", "1000")])
        #expect(broker.appendPolicy(topicOverrides: [:]).compression == .zstd)
        #expect(broker.appendPolicy(topicOverrides: [:]).timestampBeforeMaxMs == 1000)
        #expect(broker.appendPolicy(topicOverrides: ["compression.type": "uncompressed"]).compression == CompressionCodec.none)
        #expect(broker.appendPolicy(topicOverrides: ["compression.type": "producer"]).compression == nil)
        #expect(broker.appendPolicy(topicOverrides: ["message.timestamp.after.max.ms": "5"]).timestampAfterMaxMs == 5)
        #expect(throws: ConfigError.self) { try BrokerConfig(overrides: [("compression.type", "brotli")]) }
    }

    @Test func dynamicLayersTakePrecedenceOverStaticValues() throws {
        let base = try BrokerConfig(overrides: [("log.retention.ms", "1000")])
        let layered = base.applyingDynamic(clusterDefaults: ["log.retention.ms": "2000", "log.segment.bytes": "4096"],
                                           broker: ["log.retention.ms": "3000"])
        #expect(layered.string("log.retention.ms") == "3000")
        #expect(layered.string("log.segment.bytes") == "4096")
        #expect(layered.source("log.retention.ms") == .dynamicBroker)
        #expect(layered.source("log.segment.bytes") == .dynamicDefaultBroker)
        #expect(layered.source("num.partitions") == .defaultValue)
        #expect(layered.layers("log.retention.ms").map(\.source) == [.dynamicBroker, .dynamicDefaultBroker, .staticBroker, .defaultValue])
        #expect(layered.layers("log.retention.ms").map(\.value) == ["3000", "2000", "1000", nil])
        #expect(layered.logConfig(topicOverrides: [:]).retentionMs == 3000)
        // Removing the dynamic values brings the static ones back.
        let cleared = layered.applyingDynamic(clusterDefaults: [:], broker: [:])
        #expect(cleared.string("log.retention.ms") == "1000")
        #expect(cleared.string("log.segment.bytes") == "1073741824")
    }

    /// `Config/server.properties` at the repository root, found from this file's path.
    static let serverPropertiesPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Config/server.properties").path

    /// Keys `Config/server.properties` sets differently from the built-in defaults, as Kafka's
    /// shipped `config/server.properties` does for a single-node development broker.
    static let singleBrokerSettings = ["offsets.topic.replication.factor": "1", "group.initial.rebalance.delay.ms": "0"]

    /// The README promises that `Config/server.properties` is the built-in defaults plus the
    /// single-broker settings above.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: serverPropertiesPath), "Config/server.properties exists"))
    func shippedServerPropertiesMatchesTheDefaults() throws {
        let text = try readText(Self.serverPropertiesPath)
        let props = try BrokerConfig.parseProperties(text, path: Self.serverPropertiesPath)
        #expect(!props.isEmpty)
        let config = try BrokerConfig(properties: props)
        for (key, value) in props {
            let definition = try #require(ConfigDefinitions.brokerKey(key), "\(key) is a broker key")
            let expected = Self.singleBrokerSettings[key] ?? definition.defaultValue
            #expect(value == expected, "\(key)=\(value) differs from the built-in default")
        }
        let overrides = Self.singleBrokerSettings.map { (key: $0.key, value: $0.value) }
        #expect(config.values == (try BrokerConfig(overrides: overrides)).values)
        #expect(Set(props.map(\.key)).count == props.count, "no key is set twice")
        for key in Self.singleBrokerSettings.keys { #expect(props.contains { $0.key == key }, "\(key) is set") }
    }
}
