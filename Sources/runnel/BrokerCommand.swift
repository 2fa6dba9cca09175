import ArgumentParser
import Foundation
import Logging
import RunnelBroker
import ServiceLifecycle

/// `runnel broker [--config PATH] [--override key=value ...]`.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a broker.",
        discussion: """
        Without --config the built-in defaults are used (listeners=PLAINTEXT://localhost:9092, \
        log.dirs=./data). Config/server.properties is the same plus the single-broker settings \
        offsets.topic.replication.factor=1 and group.initial.rebalance.delay.ms=0, which consumer \
        groups on one broker need. Keys are Kafka's names; see docs/configuration.md.
        """
    )

    @Option(name: .long, help: "A server.properties file with key=value lines.")
    var config: String?

    @Option(name: .customLong("override"), help: "Set a configuration key, as key=value (repeatable).")
    var overrides: [String] = []

    func run() async throws {
        let brokerConfig: BrokerConfig
        do {
            var properties: [(key: String, value: String)] = []
            if let path = config {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ConfigError.unreadableFile(path: path, reason: "no such file or not readable")
                }
                properties = try BrokerConfig.parseProperties(text, path: path)
            }
            brokerConfig = try BrokerConfig(properties: properties, overrides: try overrides.map(BrokerConfig.parseOverride))
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("runnel: configuration error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let level = Logger.Level(rawValue: brokerConfig.string("runnel.log.level") ?? "info") ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "runnel.broker")
        MallocTuning.apply(environment: ProcessInfo.processInfo.environment)
        let broker = Broker(config: brokerConfig, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: broker)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        let secondSignal = SecondSignalExit(logger: logger)
        defer { secondSignal.cancel() }
        do {
            try await group.run()
        } catch {
            logger.critical("broker failed: \(error)")
            throw ExitCode(1)
        }
    }
}
