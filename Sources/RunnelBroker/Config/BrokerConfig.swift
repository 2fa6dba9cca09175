import KafkaProtocol
import LogStorage
import SystemPackage

/// A `PROTOCOL://host:port` listener (Kafka `listeners` / `advertised.listeners`).
public struct Listener: Sendable, Equatable, CustomStringConvertible {
    /// The listener name (`PLAINTEXT`, `CONTROLLER`, ...), as written before `://`.
    public var name: String
    /// The security protocol the name maps to through `listener.security.protocol.map`
    /// (`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL`; typed as ``Listener/security``).
    public var securityProtocol: String
    /// Host name or address; empty means all interfaces.
    public var host: String
    public var port: Int

    /// Parses `NAME://host:port` (IPv6 hosts in brackets). The name maps to a security protocol
    /// through `protocolMap` (`listener.security.protocol.map`); a name that is itself a protocol
    /// maps to itself.
    /// - Throws: ``ConfigError/invalidValue(key:value:reason:)`` for unmapped names, protocols other
    ///   than Kafka's four (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), and malformed URIs.
    public static func parse(_ text: String, key: String, protocolMap: [String: String] = [:]) throws -> Listener {
        let t = text.trimmingWhitespace()
        guard let sep = t.range(of: "://") else {
            throw ConfigError.invalidValue(key: key, value: text, reason: "expected NAME://host:port, e.g. PLAINTEXT://localhost:9092")
        }
        let name = String(t[..<sep.lowerBound]).uppercased()
        guard let proto = protocolMap[name] ?? ListenerSecurityProtocol(rawValue: name)?.rawValue else {
            throw ConfigError.invalidValue(key: key, value: text,
                                           reason: "listener name \(name) is not in listener.security.protocol.map")
        }
        guard ListenerSecurityProtocol(rawValue: proto) != nil else {
            throw ConfigError.invalidValue(key: "listener.security.protocol.map", value: "\(name):\(proto)",
                                           reason: "allowed security protocols: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")
        }
        let rest = t[sep.upperBound...]
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigError.invalidValue(key: key, value: text, reason: "expected a port number in 0-65535 after the last ':'")
        }
        var host = String(rest[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return Listener(name: name, securityProtocol: proto, host: host, port: port)
    }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(name)://\(h):\(port)"
    }
}

/// The validated broker configuration: defaults, then the properties file, then `--override`s.
public struct BrokerConfig: Sendable {
    /// Every key's effective value as text (`nil` = null).
    public private(set) var values: [String: String?]
    /// Keys set by the properties file or an override (DescribeConfigs reports them as
    /// STATIC_BROKER_CONFIG, the others as DEFAULT_CONFIG).
    public private(set) var explicitKeys: Set<String> = []
    /// The values from defaults, the properties file and overrides, before dynamic configs.
    public private(set) var staticValues: [String: String?] = [:]
    /// Per-listener values (`listener.name.<lowercase name>.<key>` → value), for the keys in
    /// ``ConfigDefinitions/perListenerKeys``; read them with ``string(_:listener:)``.
    public private(set) var listenerValues: [String: String] = [:]
    /// Dynamic cluster-wide defaults (AlterConfigs on broker resource "", KIP-226).
    public private(set) var dynamicDefaults: [String: String] = [:]
    /// Dynamic values for this broker (AlterConfigs on broker resource "<node.id>").
    public private(set) var dynamicBrokerValues: [String: String] = [:]

    /// Where a broker key's effective value comes from, highest precedence first (Kafka's
    /// `ConfigSource`, as DescribeConfigs reports it).
    public enum Source: Int8, Sendable, CaseIterable {
        case dynamicBroker = 2
        case dynamicDefaultBroker = 3
        case staticBroker = 4
        case defaultValue = 5
    }

    /// Builds a configuration from `properties` (file contents, may be empty) and `overrides`.
    /// - Throws: ``ConfigError`` naming the first unknown key or invalid value.
    public init(properties: [(key: String, value: String)] = [], overrides: [(key: String, value: String)] = []) throws {
        var values: [String: String?] = [:]
        for def in ConfigDefinitions.broker { values[def.name] = def.defaultValue }
        for (key, value) in properties + overrides {
            if let (listener, def) = ConfigDefinitions.listenerKey(key) {
                try def.validate(value)
                listenerValues[Self.listenerKey(def.name, listener: listener)] = value.trimmingWhitespace()
                continue
            }
            guard let def = ConfigDefinitions.brokerKey(key) else { throw ConfigError.unknownKey(key, scope: .broker) }
            try def.validate(value)
            values[key] = value.trimmingWhitespace()
            explicitKeys.insert(key)
        }
        self.values = values
        self.staticValues = values
        _ = try Self.parseLogDirectories(logDirsValue)
        _ = try listeners
        _ = try advertisedListeners
        _ = try metricsEndpoint
        _ = try LogLevels(self)
        _ = try ClusterSettings.parse(self)
        try validateListenerSecurity()
    }

    /// The value of `key` for one listener: `listener.name.<lowercase listener>.<key>` when set,
    /// else the broker-wide value (Kafka's per-listener override).
    public func string(_ key: String, listener: String) -> String? {
        listenerValues[Self.listenerKey(key, listener: listener)] ?? string(key)
    }

    /// The name under which a per-listener value is kept.
    static func listenerKey(_ key: String, listener: String) -> String {
        "listener.name.\(listener.lowercased()).\(key)"
    }

    /// `runnel.metrics.listener`, nil when empty (metrics off).
    public var metricsEndpoint: MetricsEndpoint? {
        get throws { try MetricsEndpoint.parse(string("runnel.metrics.listener") ?? "") }
    }

    /// Parses Java properties text: `key=value` or `key: value` lines, `#`/`!` comments, blank lines.
    /// - Throws: ``ConfigError/malformedLine(path:line:text:)``.
    public static func parseProperties(_ text: String, path: String) throws -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        // Split on any line break: "\r\n" is a single Character, so splitting on "\n" alone
        // would leave a CRLF file as one line.
        for (number, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = String(raw).trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            guard let sep = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw ConfigError.malformedLine(path: path, line: number + 1, text: line)
            }
            out.append((String(line[..<sep]).trimmingWhitespace(), String(line[line.index(after: sep)...]).trimmingWhitespace()))
        }
        return out
    }

    /// Parses a `key=value` command-line override.
    public static func parseOverride(_ text: String) throws -> (key: String, value: String) {
        guard let eq = text.firstIndex(of: "=") else {
            throw ConfigError.malformedLine(path: "--override", line: 1, text: text)
        }
        return (String(text[..<eq]).trimmingWhitespace(), String(text[text.index(after: eq)...]))
    }

    /// This configuration with dynamic values layered over the static ones: `broker` (this
    /// broker's own) wins over `clusterDefaults`, which wins over the properties file and defaults.
    /// Only keys in ``ConfigDefinitions/dynamicBrokerKeys`` should be passed; the metadata log is
    /// validated before it is written, so values are taken as they are.
    public func applyingDynamic(clusterDefaults: [String: String], broker: [String: String]) -> BrokerConfig {
        var copy = self
        copy.values = staticValues
        for (k, v) in clusterDefaults { copy.values[k] = v }
        for (k, v) in broker { copy.values[k] = v }
        copy.dynamicDefaults = clusterDefaults
        copy.dynamicBrokerValues = broker
        return copy
    }

    /// The layers that define `key`, highest precedence first, each with its value (KIP-226
    /// synonyms): this broker's dynamic value, the dynamic cluster default, the static value, the
    /// built-in default. The first layer is the effective one.
    public func layers(_ key: String) -> [(source: Source, value: String?)] {
        var out: [(source: Source, value: String?)] = []
        if let v = dynamicBrokerValues[key] { out.append((.dynamicBroker, v)) }
        if let v = dynamicDefaults[key] { out.append((.dynamicDefaultBroker, v)) }
        if explicitKeys.contains(key) { out.append((.staticBroker, staticValues[key] ?? nil)) }
        if let def = ConfigDefinitions.brokerKey(key) { out.append((.defaultValue, def.defaultValue)) }
        return out
    }

    /// The source of `key`'s effective value.
    public func source(_ key: String) -> Source { layers(key).first?.source ?? .defaultValue }

    public func string(_ key: String) -> String? {
        precondition(ConfigDefinitions.brokerKey(key) != nil, "undeclared config key \(key)")
        return values[key] ?? nil
    }

    public func int(_ key: String) -> Int { Int(string(key) ?? "") ?? 0 }
    public func bool(_ key: String) -> Bool { string(key)?.lowercased() == "true" }

    public var nodeID: Int32 { Int32(int("node.id")) }
    /// The raw directory list: `log.dirs` when set, else `log.dir` when set, else the `log.dirs` default.
    var logDirsValue: String {
        if !explicitKeys.contains("log.dirs"), let single = string("log.dir"), !single.isEmpty { return single }
        return string("log.dirs") ?? "./data"
    }

    /// The log directories in configured order (`log.dirs`, or `log.dir` when `log.dirs` is not
    /// set): each holds partition logs (JBOD, KIP-112); the first also holds the metadata log unless
    /// `metadata.log.dir` says otherwise.
    public var logDirectories: [String] { (try? Self.parseLogDirectories(logDirsValue)) ?? ["./data"] }

    /// The directory of the metadata log: `metadata.log.dir`, or the first log directory (Kafka's default).
    public var metadataLogDirectory: String {
        let configured = (string("metadata.log.dir") ?? "").trimmingWhitespace()
        return configured.isEmpty ? logDirectories[0] : configured
    }

    /// Every directory the broker writes and locks: the log directories, then the metadata log
    /// directory when it is not one of them.
    public var allLogDirectories: [String] {
        let dirs = logDirectories
        let metadata = metadataLogDirectory
        return dirs.contains(where: { Self.samePath($0, metadata) }) ? dirs : dirs + [metadata]
    }

    /// Splits a `log.dirs` value on commas, trimming each entry.
    /// - Throws: ``ConfigError/invalidValue(key:value:reason:)`` for an empty list or a directory named twice.
    static func parseLogDirectories(_ value: String) throws -> [String] {
        let dirs = value.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        guard !dirs.isEmpty else {
            throw ConfigError.invalidValue(key: "log.dirs", value: value, reason: "name at least one directory")
        }
        for (i, dir) in dirs.enumerated() where dirs[..<i].contains(where: { samePath($0, dir) }) {
            throw ConfigError.invalidValue(key: "log.dirs", value: value, reason: "\(dir) is listed twice; give each log directory once")
        }
        return dirs
    }

    /// Whether two configured paths name the same directory once `.`, `..` and trailing slashes are resolved.
    static func samePath(_ a: String, _ b: String) -> Bool {
        FilePath(a).lexicallyNormalized() == FilePath(b).lexicallyNormalized()
    }
    public var listeners: [Listener] {
        get throws {
            let map = try protocolMap
            return try (string("listeners") ?? "").split(separator: ",").map {
                try Listener.parse(String($0), key: "listeners", protocolMap: map)
            }
        }
    }

    /// `listener.security.protocol.map` as listener name → security protocol.
    var protocolMap: [String: String] {
        get throws {
            var map: [String: String] = [:]
            for entry in (string("listener.security.protocol.map") ?? "").split(separator: ",") {
                let parts = entry.split(separator: ":", maxSplits: 1).map { String($0).trimmingWhitespace().uppercased() }
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw ConfigError.invalidValue(key: "listener.security.protocol.map", value: String(entry),
                                                   reason: "expected NAME:PROTOCOL entries, e.g. CONTROLLER:PLAINTEXT")
                }
                map[parts[0]] = parts[1]
            }
            return map
        }
    }

    /// `controller.listener.names`, upper-cased.
    public var controllerListenerNames: [String] {
        (string("controller.listener.names") ?? "").split(separator: ",").map { String($0).trimmingWhitespace().uppercased() }
    }

    /// `advertised.listeners`, or `listeners` with an empty host replaced by `localhost`; controller
    /// listeners are never advertised to clients (as in Kafka).
    public var advertisedListeners: [Listener] {
        get throws {
            let controllerNames = Set(controllerListenerNames)
            if let adv = string("advertised.listeners"), !adv.isEmpty {
                let map = try protocolMap
                return try adv.split(separator: ",").map { try Listener.parse(String($0), key: "advertised.listeners", protocolMap: map) }
                    .filter { !controllerNames.contains($0.name) }
            }
            return try listeners.filter { !controllerNames.contains($0.name) }.map { l in
                var a = l
                if a.host.isEmpty || a.host == "0.0.0.0" || a.host == "::" { a.host = "localhost" }
                return a
            }
        }
    }

    /// The value a broker key supplies as a topic default, resolving Kafka's fallbacks:
    /// `log.roll.ms` → `log.roll.hours`; `log.retention.ms` → `.minutes` → `.hours`;
    /// `log.flush.interval.ms` → `log.flush.scheduler.interval.ms`.
    func brokerDefault(forTopicKey def: ConfigDefinition) -> String? {
        guard let brokerKey = def.brokerKey else { return def.defaultValue }
        if let value = values[brokerKey] ?? nil { return value }
        switch brokerKey {
        case "log.roll.ms":
            return String(Int64(int("log.roll.hours")) * 3_600_000)
        case "log.flush.interval.ms":
            return string("log.flush.scheduler.interval.ms") ?? def.defaultValue
        case "log.retention.ms":
            if let minutes = values["log.retention.minutes"] ?? nil, let m = Int64(minutes) { return m < 0 ? "-1" : String(m * 60_000) }
            let hours = Int64(int("log.retention.hours"))
            return hours < 0 ? "-1" : String(hours * 3_600_000)
        default:
            return def.defaultValue
        }
    }

    /// The broker-level defaults of every topic key (topic key → value).
    public var topicDefaults: [String: String] {
        var out: [String: String] = [:]
        for def in ConfigDefinitions.topic {
            if let v = brokerDefault(forTopicKey: def) { out[def.name] = v }
        }
        return out
    }

    /// The effective log settings of a topic with `overrides` (topic key → value).
    public func logConfig(topicOverrides overrides: [String: String]) -> LogConfig {
        var merged = topicDefaults
        for (k, v) in overrides { merged[k] = v }
        func int(_ key: String, _ fallback: Int) -> Int { Int(merged[key] ?? "") ?? fallback }
        func long(_ key: String, _ fallback: Int64) -> Int64 { Int64(merged[key] ?? "") ?? fallback }
        let policy = (merged["cleanup.policy"] ?? "delete").split(separator: ",").map { String($0).trimmingWhitespace() }
        return LogConfig(segmentBytes: int("segment.bytes", 1_073_741_824),
                         segmentMs: long("segment.ms", 604_800_000),
                         segmentIndexBytes: int("segment.index.bytes", 10_485_760),
                         indexIntervalBytes: int("index.interval.bytes", 4096),
                         maxMessageBytes: int("max.message.bytes", 1_048_588),
                         retentionMs: long("retention.ms", 604_800_000),
                         retentionBytes: long("retention.bytes", -1),
                         fileDeleteDelayMs: long("file.delete.delay.ms", 60_000),
                         deleteEnabled: policy.contains("delete"),
                         compactEnabled: policy.contains("compact"),
                         minCleanableDirtyRatio: Double(merged["min.cleanable.dirty.ratio"] ?? "") ?? 0.5,
                         minCompactionLagMs: long("min.compaction.lag.ms", 0),
                         deleteRetentionMs: long("delete.retention.ms", 86_400_000),
                         flushIntervalMessages: long("flush.messages", .max),
                         flushIntervalMs: long("flush.ms", .max),
                         flushOnAck: (merged["runnel.flush.on.ack"] ?? "false").lowercased() == "true")
    }

    /// The replication settings of a topic with `overrides`: `min.insync.replicas` (topic override
    /// or broker default) and the broker's `replica.lag.time.max.ms`.
    func replicationSettings(topicOverrides overrides: [String: String]) -> ReplicationSettings {
        let minISR = Int(overrides["min.insync.replicas"] ?? "") ?? Int(topicDefaults["min.insync.replicas"] ?? "") ?? 1
        return ReplicationSettings(minInsyncReplicas: minISR, replicaLagTimeMaxMs: Int64(int("replica.lag.time.max.ms")))
    }

    /// What a topic with `overrides` does to each produced batch before it is stored: timestamp
    /// type and bounds, and the codec it is kept in.
    public func appendPolicy(topicOverrides overrides: [String: String]) -> AppendPolicy {
        var merged = topicDefaults
        for (k, v) in overrides { merged[k] = v }
        func long(_ key: String) -> Int64 { Int64(merged[key] ?? "") ?? Int64.max }
        let compression: CompressionCodec?
        switch merged["compression.type"] ?? "producer" {
        case "producer": compression = nil
        case "uncompressed": compression = CompressionCodec.none
        case let name: compression = CompressionCodec(name: name)
        }
        return AppendPolicy(logAppendTime: merged["message.timestamp.type"] == "LogAppendTime",
                            timestampBeforeMaxMs: long("message.timestamp.before.max.ms"),
                            timestampAfterMaxMs: long("message.timestamp.after.max.ms"),
                            compression: compression)
    }
}
