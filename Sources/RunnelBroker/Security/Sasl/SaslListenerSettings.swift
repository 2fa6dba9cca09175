import KafkaSASL

/// The SASL mechanisms supported by Runnel, by their SASL names.
enum SaslMechanismName {
    static let plain = "PLAIN"
    static let supported = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
}

/// What one SASL_PLAINTEXT or SASL_SSL listener accepts: its enabled mechanisms, PLAIN users and
/// JAAS entries, read from Kafka's keys (`sasl.enabled.mechanisms`, its
/// `listener.name.<listener>.` override, `listener.name.<listener>.<mechanism>.sasl.jaas.config`).
struct SaslListenerSettings: Sendable, Equatable {
    /// The listener name as configured (`SASL_PLAINTEXT`, `INTERNAL`).
    var listenerName: String
    /// Mechanisms offered in SaslHandshake, in configured order (upper case).
    var enabledMechanisms: [String]
    /// JAAS entries by mechanism (upper case).
    var jaas: [String: JaasConfig]

    /// PLAIN users (`user_<name>` entries of the PLAIN JAAS entry): name to password.
    var plainUsers: [String: String] { jaas[SaslMechanismName.plain]?.users ?? [:] }

    /// The configuration key of `mechanism`'s JAAS entry on `listenerName`.
    static func jaasKey(listenerName: String, mechanism: String) -> String {
        "listener.name.\(listenerName.lowercased()).\(mechanism.lowercased()).sasl.jaas.config"
    }

    /// Reads the settings of `listenerName` from `config`.
    /// - Throws: ``ConfigError/invalidValue(key:value:reason:)`` for an unsupported mechanism or a
    ///   JAAS entry that does not parse (the value is not echoed: it holds passwords).
    static func make(config: BrokerConfig, listenerName: String) throws -> SaslListenerSettings {
        let overrideKey = "listener.name.\(listenerName.lowercased()).sasl.enabled.mechanisms"
        let key = config.string(overrideKey) != nil ? overrideKey : "sasl.enabled.mechanisms"
        let text = config.string(key) ?? ""
        let mechanisms = text.split(separator: ",").map { String($0).trimmingWhitespace().uppercased() }.filter { !$0.isEmpty }
        for mechanism in mechanisms where !SaslMechanismName.supported.contains(mechanism) {
            throw ConfigError.invalidValue(key: key, value: text,
                                           reason: "unsupported SASL mechanism \(mechanism); supported: \(SaslMechanismName.supported.joined(separator: ", "))")
        }
        guard !mechanisms.isEmpty else { throw ConfigError.invalidValue(key: key, value: text, reason: "no SASL mechanism enabled") }
        var jaas: [String: JaasConfig] = [:]
        for mechanism in SaslMechanismName.supported {
            let jaasKey = jaasKey(listenerName: listenerName, mechanism: mechanism)
            guard let value = config.string(jaasKey) else { continue }
            do {
                jaas[mechanism] = try JaasConfig(parsing: value)
            } catch {
                throw ConfigError.invalidValue(key: jaasKey, value: "[hidden]", reason: "\(error)")
            }
        }
        return SaslListenerSettings(listenerName: listenerName, enabledMechanisms: mechanisms, jaas: jaas)
    }
}
