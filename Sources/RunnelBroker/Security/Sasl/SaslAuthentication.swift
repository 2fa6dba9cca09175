import KafkaSASL

/// The broker-wide side of SASL authentication (KIP-43, KIP-152): per SASL listener its settings,
/// the SCRAM credentials, and a secret that keys the made-up salts of unknown SCRAM users.
/// ``BrokerServer`` makes one ``SaslAuthenticator`` per connection on a SASL listener from it.
struct SaslAuthentication: Sendable {
    /// Settings by listener name (upper case), for listeners whose protocol is SASL_*.
    var listeners: [String: SaslListenerSettings]
    var scramCredentials: ScramCredentialStore
    /// `connection.failed.authentication.delay.ms`.
    var failedAuthenticationDelay: Duration
    /// 32 random bytes from the system CSPRNG, new at every start.
    let unknownUserSecret: [UInt8] = ScramCredential.randomBytes(32)

    /// Reads the settings of every SASL listener in `listeners`.
    /// - Throws: ``ConfigError`` for an unsupported mechanism or a malformed JAAS entry.
    init(config: BrokerConfig, listeners: [Listener], scramCredentials: ScramCredentialStore = ScramCredentialStore()) throws {
        var settings: [String: SaslListenerSettings] = [:]
        for listener in listeners where listener.securityProtocol.hasPrefix("SASL_") {
            settings[listener.name] = try SaslListenerSettings.make(config: config, listenerName: listener.name)
        }
        self.listeners = settings
        // A cluster broker authenticates its own replica fetches: its JAAS entry must name it.
        if !(config.string("process.roles") ?? "").isEmpty { _ = try NodeSaslCredentials.interBroker(config) }
        self.scramCredentials = scramCredentials
        failedAuthenticationDelay = .milliseconds(config.int("connection.failed.authentication.delay.ms"))
    }

    /// Settings that start but cannot work, for a warning at start-up: PLAIN enabled on a listener
    /// without a PLAIN JAAS entry (no user can log in with it).
    var startupWarnings: [String] {
        listeners.values.sorted { $0.listenerName < $1.listenerName }.compactMap { settings in
            guard settings.enabledMechanisms.contains(SaslMechanismName.plain), settings.plainUsers.isEmpty else { return nil }
            return "PLAIN is enabled on listener \(settings.listenerName) but \(SaslListenerSettings.jaasKey(listenerName: settings.listenerName, mechanism: "PLAIN")) names no user_<name> entries: no PLAIN login can succeed"
        }
    }

    /// A fresh per-connection authenticator for a connection on `listener`, or nil when the
    /// listener does not use SASL.
    func authenticator(for listener: Listener) -> SaslAuthenticator? {
        guard let settings = listeners[listener.name] else { return nil }
        return SaslAuthenticator(settings: settings, scramCredentials: scramCredentials, unknownUserSecret: unknownUserSecret)
    }
}
