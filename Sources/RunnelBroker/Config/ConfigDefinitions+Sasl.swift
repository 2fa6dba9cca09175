extension ConfigDefinitions {
    /// The SASL keys (Kafka `BrokerSecurityConfigs`, KIP-43, KIP-86 listener prefixes).
    static let sasl: [ConfigDefinition] = [
        ConfigDefinition("sasl.enabled.mechanisms", .broker, .list, default: "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
                         doc: "SASL mechanisms SASL_PLAINTEXT and SASL_SSL listeners offer in SaslHandshake: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (Kafka's default is GSSAPI, which Runnel does not implement). A listener may override it with listener.name.<listener>.sasl.enabled.mechanisms."),
        ConfigDefinition("listener.name.<listener>.sasl.enabled.mechanisms", .broker, .list, default: nil,
                         doc: "Per-listener sasl.enabled.mechanisms; <listener> is the listener name in lower case, e.g. listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512."),
        ConfigDefinition("listener.name.<listener>.<mechanism>.sasl.jaas.config", .broker, .password, default: nil,
                         doc: "JAAS configuration of a mechanism on a listener, both in lower case, as Kafka writes it. For PLAIN: org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"alice-secret\"; - each user_<name>=\"<password>\" entry is a user the listener accepts, and username/password is the identity this broker uses on its own connections (inter-broker). For SCRAM: ScramLoginModule with username/password for inter-broker connections; SCRAM users are credentials in the metadata log (AlterUserScramCredentials)."),
        ConfigDefinition("sasl.mechanism.inter.broker.protocol", .broker, .string, default: "PLAIN",
                         .oneOf(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
                         doc: "SASL mechanism brokers use towards each other when inter.broker.listener.name (or the controller listener) is a SASL listener, with the username and password of that listener's JAAS configuration for the mechanism (Kafka's default is GSSAPI)."),
        ConfigDefinition("sasl.mechanism.controller.protocol", .broker, .string, default: "PLAIN",
                         .oneOf(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
                         doc: "SASL mechanism nodes use towards the controllers when the controller listener (the first of controller.listener.names) is a SASL listener, with the username and password of that listener's JAAS configuration for the mechanism (Kafka's default is GSSAPI)."),
        ConfigDefinition("connection.failed.authentication.delay.ms", .broker, .int, default: "100", .atLeast(0),
                         doc: "Milliseconds a failed SASL authentication waits before its error response is sent and the connection closed, slowing down password guessing without holding up other connections."),
    ]

    /// The pattern definition a concrete listener-prefixed SASL key belongs to
    /// (`listener.name.sasl_plaintext.plain.sasl.jaas.config`), or nil.
    static func listenerPrefixedSaslKey(_ name: String) -> ConfigDefinition? {
        let prefix = "listener.name."
        guard name.hasPrefix(prefix) else { return nil }
        let parts = name.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, !parts[0].isEmpty else { return nil }
        let rest = parts.dropFirst().joined(separator: ".")
        if rest == "sasl.enabled.mechanisms" { return brokerByName["listener.name.<listener>.sasl.enabled.mechanisms"] }
        if parts.count == 5, !parts[1].isEmpty, parts[2...].joined(separator: ".") == "sasl.jaas.config" {
            return brokerByName["listener.name.<listener>.<mechanism>.sasl.jaas.config"]
        }
        return nil
    }
}
