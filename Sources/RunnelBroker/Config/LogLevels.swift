import Logging

/// The parts of the broker that log under their own level (`runnel.log.levels`), each tagged
/// with `subsystem=<name>` in its lines.
public enum LogSubsystem: String, CaseIterable, Sendable {
    /// Connections, request decoding and the request handlers.
    case network
    /// The metadata log, partitions, segments, recovery, retention and the cleaner.
    case storage
    /// The group coordinator and `__consumer_offsets`.
    case groups
    /// The Prometheus endpoint.
    case metrics
    /// The metadata quorum, the active controller's decisions (registration, fencing, elections)
    /// and the broker's lifecycle with it.
    case controller
    /// Partition replication: replica fetchers, truncation, ISR changes, leadership of partitions.
    case replication
}

/// `runnel.log.level` for everything, with `runnel.log.levels` overrides per subsystem
/// (`network=debug,storage=warning`).
public struct LogLevels: Sendable, Equatable {
    public var base: Logger.Level
    public var overrides: [LogSubsystem: Logger.Level]

    /// Reads both keys from `config`.
    /// - Throws: ``ConfigError/invalidValue(key:value:reason:)`` naming the bad entry.
    public init(_ config: BrokerConfig) throws {
        base = Logger.Level(rawValue: config.string("runnel.log.level") ?? "info") ?? .info
        overrides = try Self.parse(config.string("runnel.log.levels") ?? "")
    }

    static func parse(_ text: String) throws -> [LogSubsystem: Logger.Level] {
        var out: [LogSubsystem: Logger.Level] = [:]
        for entry in text.split(separator: ",").map({ String($0).trimmingWhitespace() }) where !entry.isEmpty {
            let parts = entry.split(separator: "=", maxSplits: 1).map { String($0).trimmingWhitespace() }
            guard parts.count == 2, let subsystem = LogSubsystem(rawValue: parts[0]), let level = Logger.Level(rawValue: parts[1]) else {
                throw ConfigError.invalidValue(
                    key: "runnel.log.levels", value: text,
                    reason: "expected subsystem=level pairs separated by commas; subsystems: "
                        + LogSubsystem.allCases.map(\.rawValue).joined(separator: ", ")
                        + "; levels: trace, debug, info, notice, warning, error, critical")
            }
            out[subsystem] = level
        }
        return out
    }

    /// The level of `subsystem`.
    public subscript(_ subsystem: LogSubsystem) -> Logger.Level { overrides[subsystem] ?? base }

    /// `root` with the level and `subsystem` metadata of `subsystem`.
    public func logger(_ subsystem: LogSubsystem, from root: Logger) -> Logger {
        var logger = root
        logger.logLevel = self[subsystem]
        logger[metadataKey: "subsystem"] = "\(subsystem.rawValue)"
        return logger
    }
}
