/// The type of a configuration value, with Kafka's `ConfigDef.Type` names.
public enum ConfigType: String, Sendable {
    case boolean, string, int, short, long, double, list, password
}

/// What values a key accepts.
public enum ConfigValidator: Sendable {
    case any
    /// A number at least `min`.
    case atLeast(Int64)
    /// A number in `min...max`.
    case between(Int64, Int64)
    /// One of the listed strings (case-sensitive, as Kafka's `ValidString`).
    case oneOf([String])
    /// A non-empty comma-separated list.
    case nonEmptyList
    /// A comma-separated list of `host:count` pairs, counts >= 0 (possibly empty).
    case hostCounts

    var allowedDescription: String {
        switch self {
        case .any: return "any value"
        case .atLeast(let min): return "a number >= \(min)"
        case .between(let min, let max): return "a number in [\(min), \(max)]"
        case .oneOf(let values): return "one of " + values.joined(separator: ", ")
        case .nonEmptyList: return "a non-empty comma-separated list"
        case .hostCounts: return "comma-separated host:count pairs with counts >= 0"
        }
    }
}

/// Whether a key belongs to the broker or to a topic.
public enum ConfigScope: String, Sendable {
    case broker, topic
}

/// One configuration key: its Kafka name, type, default, valid values and documentation.
///
/// The tables in ``ConfigDefinitions`` are the single source for parsing, validation, the topic
/// overrides in CreateTopics and (later) DescribeConfigs and the generated reference. Keys Kafka does
/// not have are Runnel extensions and start with `runnel.`.
public struct ConfigDefinition: Sendable {
    public var name: String
    public var scope: ConfigScope
    public var type: ConfigType
    /// The default as Kafka writes it in properties form; `nil` means no default (null).
    public var defaultValue: String?
    public var validator: ConfigValidator
    /// For a topic key, the broker key that supplies its default (`segment.bytes` → `log.segment.bytes`).
    public var brokerKey: String?
    public var documentation: String

    public init(_ name: String, _ scope: ConfigScope, _ type: ConfigType, default defaultValue: String?,
                _ validator: ConfigValidator = .any, brokerKey: String? = nil, doc: String) {
        self.name = name
        self.scope = scope
        self.type = type
        self.defaultValue = defaultValue
        self.validator = validator
        self.brokerKey = brokerKey
        self.documentation = doc
    }

    /// Checks `value` against the type and validator.
    /// - Throws: ``ConfigError/invalidValue(key:value:reason:)`` naming the key and what is allowed.
    public func validate(_ value: String) throws {
        let trimmed = value.trimmingWhitespace()
        switch type {
        case .boolean:
            guard ["true", "false"].contains(trimmed.lowercased()) else {
                throw ConfigError.invalidValue(key: name, value: value, reason: "expected true or false")
            }
        case .int, .short, .long:
            guard let number = Int64(trimmed) else {
                throw ConfigError.invalidValue(key: name, value: value, reason: "expected an integer (\(type.rawValue))")
            }
            let limits: ClosedRange<Int64> = type == .short ? Int64(Int16.min)...Int64(Int16.max)
                : type == .int ? Int64(Int32.min)...Int64(Int32.max) : Int64.min...Int64.max
            guard limits.contains(number) else {
                throw ConfigError.invalidValue(key: name, value: value, reason: "out of range for \(type.rawValue)")
            }
            switch validator {
            case .atLeast(let min) where number < min,
                 .between(let min, _) where number < min:
                throw ConfigError.invalidValue(key: name, value: value, reason: "allowed: \(validator.allowedDescription)")
            case .between(_, let max) where number > max:
                throw ConfigError.invalidValue(key: name, value: value, reason: "allowed: \(validator.allowedDescription)")
            default: break
            }
        case .double:
            guard Double(trimmed) != nil else {
                throw ConfigError.invalidValue(key: name, value: value, reason: "expected a number")
            }
        case .string, .password, .list:
            if case .oneOf(let allowed) = validator, !allowed.contains(trimmed) {
                throw ConfigError.invalidValue(key: name, value: value, reason: "allowed: \(validator.allowedDescription)")
            }
            if case .nonEmptyList = validator, trimmed.split(separator: ",").isEmpty {
                throw ConfigError.invalidValue(key: name, value: value, reason: "allowed: \(validator.allowedDescription)")
            }
            if case .hostCounts = validator, ConnectionLimiter.parseOverrides(trimmed) == nil {
                throw ConfigError.invalidValue(key: name, value: value, reason: "allowed: \(validator.allowedDescription)")
            }
        }
    }
}

/// A configuration problem that stops start-up or rejects a topic config.
public enum ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    case unknownKey(String, scope: ConfigScope)
    case invalidValue(key: String, value: String, reason: String)
    case unreadableFile(path: String, reason: String)
    case malformedLine(path: String, line: Int, text: String)

    public var description: String {
        switch self {
        case .unknownKey(let key, let scope):
            return "unknown \(scope.rawValue) configuration key '\(key)' (Runnel-specific keys start with 'runnel.'; see docs/configuration.md)"
        case .invalidValue(let key, let value, let reason):
            return "invalid value '\(value)' for configuration key '\(key)': \(reason)"
        case .unreadableFile(let path, let reason):
            return "cannot read configuration file \(path): \(reason)"
        case .malformedLine(let path, let line, let text):
            return "\(path):\(line): expected key=value, found '\(text)'"
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
