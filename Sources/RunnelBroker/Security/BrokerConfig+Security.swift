import NIOSSL

/// Listener security in the broker configuration: which listener carries inter-broker traffic,
/// and the start-up checks of SASL and TLS listeners.
extension BrokerConfig {
    /// `inter.broker.listener.name`, upper-cased; nil means the first non-controller listener.
    public var interBrokerListenerName: String? {
        guard let name = string("inter.broker.listener.name")?.trimmingWhitespace(), !name.isEmpty else { return nil }
        return name.uppercased()
    }

    /// The security protocol of the listener named `name`, from `listener.security.protocol.map`
    /// (a name that is itself a protocol maps to itself). Nil for an unmapped name.
    func securityProtocol(ofListener name: String) -> ListenerSecurityProtocol? {
        let map = (try? protocolMap) ?? [:]
        return ListenerSecurityProtocol(rawValue: map[name.uppercased()] ?? name.uppercased())
    }

    /// The TLS settings this node uses to dial other nodes' listener `name` (the inter-broker or
    /// the controller listener), or nil when that listener does not use TLS.
    /// - Throws: ``ConfigError`` when its `ssl.*` material cannot be loaded.
    func clientTLS(forListener name: String) throws -> ListenerTLSSettings? {
        guard securityProtocol(ofListener: name)?.usesTLS == true else { return nil }
        return try ListenerTLSSettings.load(from: self, listener: name)
    }

    /// Checks `inter.broker.listener.name` and loads the TLS material of every TLS listener (and of the controller listener a broker
    /// dials), so that a bad file stops start-up naming its key.
    /// - Throws: ``ConfigError/invalidValue(key:value:reason:)``.
    func validateListenerSecurity() throws {
        let all = try listeners
        let controllerNames = Set(controllerListenerNames)
        if let name = interBrokerListenerName {
            guard all.contains(where: { $0.name == name && !controllerNames.contains($0.name) }) else {
                throw ConfigError.invalidValue(key: "inter.broker.listener.name", value: name,
                                               reason: "must name one of the broker's listeners that is not a controller listener")
            }
        }
        for listener in all where listener.usesTLS {
            _ = try ListenerTLSSettings.load(from: self, listener: listener.name)
        }
        if !(string("process.roles") ?? "").isEmpty, let controller = controllerListenerNames.first,
           !all.contains(where: { $0.name == controller }) {
            _ = try clientTLS(forListener: controller)
        }
    }

    /// The server TLS contexts of the `listeners` that use TLS, by listener name.
    /// - Throws: ``ConfigError`` when a listener's `ssl.*` material cannot be loaded.
    func serverTLSContexts(for listeners: [Listener]) throws -> [String: NIOSSLContext] {
        var contexts: [String: NIOSSLContext] = [:]
        for listener in listeners where listener.usesTLS {
            contexts[listener.name] = try ListenerTLSSettings.load(from: self, listener: listener.name).serverContext()
        }
        return contexts
    }
}
