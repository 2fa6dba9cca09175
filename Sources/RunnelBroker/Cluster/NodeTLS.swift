import NIOCore
import NIOSSL

/// TLS for this node's own connections to other nodes (replica fetches to the inter-broker
/// listener; quorum RPCs, registration, heartbeats and forwarded requests to the controller
/// listener), used when that listener's security protocol is SSL: the keystore is presented as
/// client certificate and the peer is verified against the trust store, with host name checks
/// unless `ssl.endpoint.identification.algorithm` is empty (Kafka's inter-broker client).
struct NodeTLS: Sendable {
    let context: NIOSSLContext

    /// The TLS settings for dialling other nodes' listener `name`, or nil when it does not use TLS.
    /// - Throws: ``ConfigError`` when the listener's `ssl.*` material cannot be loaded.
    static func forListener(_ name: String?, config: BrokerConfig) throws -> NodeTLS? {
        guard let name, let settings = try config.clientTLS(forListener: name) else { return nil }
        do {
            return NodeTLS(context: try settings.clientContext())
        } catch {
            throw ConfigError.invalidValue(key: "ssl.keystore.location", value: name,
                                           reason: "cannot build the TLS client context for listener \(name): \(error)")
        }
    }

    /// The listener brokers dial each other on: `inter.broker.listener.name`, else the first
    /// listener that is not a controller listener.
    static func interBrokerListenerName(_ config: BrokerConfig) -> String? {
        if let name = config.interBrokerListenerName { return name }
        let controllerNames = Set(config.controllerListenerNames)
        return ((try? config.listeners) ?? []).first { !controllerNames.contains($0.name) }?.name
    }

    /// Adds the TLS client handler to a new connection to `host`. A host name is sent as SNI and
    /// checked against the certificate; an IP address is checked against its IP SANs.
    func addHandler(to channel: any Channel, host: String) throws {
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host))
    }
}
