// The complete example of docs/client.md ("A service that consumes and produces"). The doc quotes
// the part between the EXAMPLE markers verbatim (DocsExampleTests checks that), so the example
// in the doc always compiles.

// BEGIN EXAMPLE
import Logging
import NIOCore
import RunnelClient
import ServiceLifecycle

/// Reads orders and sends a receipt for each one, keyed like the order.
struct ReceiptService: Service {
    let consumer: Consumer
    let producer: Producer
    let logger: Logger

    func run() async throws {
        try await consumer.subscribe(topics: ["orders"])
        // Ends on graceful shutdown (SIGTERM/SIGINT) or when the consumer closes.
        for try await order in consumer.records.cancelOnGracefulShutdown() {
            let receipt = ProducerRecord(topic: "receipts", key: order.key,
                                         value: ByteBuffer(string: "paid \(order.offset)"),
                                         headers: [RecordHeader(key: "order-partition", value: "\(order.partition)")])
            let stored = try await producer.send(receipt)
            logger.info("receipt sent", metadata: ["order": "\(order.topicPartition)@\(order.offset)",
                                                   "receipt": "\(stored)"])
        }
    }
}

/// Builds the clients from Kafka property names and runs them in one service group: on SIGTERM
/// the receipt loop stops first, then the consumer commits and leaves its group, then the
/// producer sends what it still holds (services stop in reverse order).
func runReceiptService(bootstrapServers: String) async throws {
    let logger = Logger(label: "receipts")
    let producer = Producer(configuration: try ProducerConfiguration(properties: [
        "bootstrap.servers": bootstrapServers,
        "linger.ms": "10",
        "compression.type": "zstd",
    ]), logger: logger)
    var consumerConfiguration = try ConsumerConfiguration(properties: ["bootstrap.servers": bootstrapServers])
    consumerConfiguration.groupID = "receipts"
    consumerConfiguration.autoOffsetReset = .earliest
    let consumer = Consumer(configuration: consumerConfiguration, logger: logger) { event in
        logger.info("rebalance", metadata: ["event": "\(event)"])
    }
    let receipts = ReceiptService(consumer: consumer, producer: producer, logger: logger)
    let group = ServiceGroup(configuration: .init(
        services: [
            .init(service: producer),
            .init(service: consumer),
            .init(service: receipts, successTerminationBehavior: .gracefullyShutdownGroup),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
    try await group.run()
}
// END EXAMPLE
