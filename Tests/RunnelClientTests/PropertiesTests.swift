import KafkaProtocol
import Testing
@testable import RunnelClient

@Suite("Configuration from Kafka property names")
struct PropertiesTests {
    @Test("producer properties map to typed values")
    func producer() throws {
        let config = try ProducerConfiguration(properties: [
            "bootstrap.servers": "a:9092, b:9093,[::1]:9094",
            "client.id": "svc", "linger.ms": "20", "batch.size": "65536", "acks": "all",
            "compression.type": "zstd", "enable.idempotence": "true", "delivery.timeout.ms": "30000",
            "buffer.memory": "1048576", "request.timeout.ms": "1500",
        ])
        #expect(config.client.bootstrapServers == [BrokerAddress(host: "a", port: 9092), BrokerAddress(host: "b", port: 9093),
                                                   BrokerAddress(host: "::1", port: 9094)])
        #expect(config.client.clientID == "svc")
        #expect(config.linger == .milliseconds(20))
        #expect(config.batchSizeBytes == 65536)
        #expect(config.acks == .all)
        #expect(config.compression == .zstd)
        #expect(config.enableIdempotence)
        #expect(config.deliveryTimeout == .seconds(30))
        #expect(config.bufferMemoryBytes == 1_048_576)
        #expect(config.client.requestTimeout == .milliseconds(1500))
    }

    @Test("defaults are the documented ones")
    func defaults() {
        let config = ProducerConfiguration()
        #expect(config.acks == .all)
        #expect(config.linger == .milliseconds(5))
        #expect(config.batchSizeBytes == 16_384)
        #expect(config.enableIdempotence)
        #expect(config.client.bootstrapServers == [BrokerAddress(host: "localhost", port: 9092)])
        let consumer = ConsumerConfiguration()
        #expect(consumer.autoOffsetReset == .latest)
        #expect(consumer.enableAutoCommit)
        #expect(consumer.assignors == [.range, .cooperativeSticky])
    }

    @Test("acks=1 without an explicit enable.idempotence turns idempotence off; with it, it is an error")
    func idempotenceNeedsAcksAll() throws {
        #expect(try ProducerConfiguration(properties: ["acks": "1"]).enableIdempotence == false)
        #expect(throws: ClientError.invalidConfiguration(property: "acks", value: "1",
                                                         reason: "enable.idempotence=true requires acks=all")) {
            try ProducerConfiguration(properties: ["acks": "1", "enable.idempotence": "true"])
        }
    }

    @Test("unknown properties and bad values name the property")
    func errors() {
        #expect(throws: ClientError.unknownProperty("linger.msec")) {
            try ProducerConfiguration(properties: ["linger.msec": "5"])
        }
        #expect(throws: ClientError.self) { try ProducerConfiguration(properties: ["compression.type": "brotli"]) }
        #expect(throws: ClientError.self) { try ProducerConfiguration(properties: ["linger.ms": "-1"]) }
        #expect(throws: ClientError.self) { try ProducerConfiguration(properties: ["bootstrap.servers": "host:99999"]) }
        #expect(throws: ClientError.self) { try ConsumerConfiguration(properties: ["enable.auto.commit": "yes"]) }
        let error = ClientError.unknownProperty("x.y")
        #expect(error.description == "unknown configuration property 'x.y'; docs/client.md lists the supported ones")
    }

    @Test("consumer properties, with librdkafka spellings")
    func consumer() throws {
        let config = try ConsumerConfiguration(properties: [
            "group.id": "g", "auto.offset.reset": "smallest", "enable.auto.commit": "false",
            "partition.assignment.strategy": "cooperative-sticky,range", "isolation.level": "read_committed",
            "session.timeout.ms": "10000", "fetch.wait.max.ms": "100",
        ])
        #expect(config.groupID == "g")
        #expect(config.autoOffsetReset == .earliest)
        #expect(!config.enableAutoCommit)
        #expect(config.assignors == [.cooperativeSticky, .range])
        #expect(config.isolationLevel == .readCommitted)
        #expect(config.sessionTimeout == .seconds(10))
        #expect(config.fetchMaxWait == .milliseconds(100))
    }

    @Test("broker addresses parse host, port and IPv6 literals")
    func addresses() {
        #expect(BrokerAddress(parsing: "localhost") == BrokerAddress(host: "localhost", port: 9092))
        #expect(BrokerAddress(parsing: " h:1 ") == BrokerAddress(host: "h", port: 1))
        #expect(BrokerAddress(parsing: "[fe80::1]:9000")?.description == "[fe80::1]:9000")
        #expect(BrokerAddress(parsing: "h:0") == nil)
        #expect(BrokerAddress(parsing: ":9092") == nil)
    }
}
