import KafkaProtocol
import KafkaSASL
import NIOCore

/// The SASL identity this node presents on its own connections to other nodes (replica fetchers
/// to the leader's listener, brokers and controllers to the controller listener), as Kafka does:
/// the mechanism of `sasl.mechanism.inter.broker.protocol` (or `sasl.mechanism.controller.protocol`)
/// with the `username`/`password` of the listener's JAAS entry for that mechanism.
struct NodeSaslCredentials: Sendable, Equatable {
    var mechanism: String
    var username: String
    var password: String

    /// The credentials for connections to listener `listenerName`, nil when its protocol has no SASL.
    /// - Throws: ``ConfigError`` when the listener uses SASL but its JAAS entry for the mechanism is
    ///   missing, malformed, or has no username and password.
    static func forListener(_ listenerName: String, config: BrokerConfig, mechanismKey: String) throws -> NodeSaslCredentials? {
        let securityProtocol = (try config.protocolMap)[listenerName.uppercased()] ?? listenerName.uppercased()
        guard securityProtocol.hasPrefix("SASL_") else { return nil }
        let mechanism = (config.string(mechanismKey) ?? "PLAIN").uppercased()
        let key = SaslListenerSettings.jaasKey(listenerName: listenerName, mechanism: mechanism)
        guard let text = config.string(key) else {
            throw ConfigError.invalidValue(key: key, value: "", reason: "listener \(listenerName) uses \(securityProtocol), so this node needs a \(mechanism) JAAS entry with username and password for its own connections (\(mechanismKey)=\(mechanism))")
        }
        let jaas: JaasConfig
        do { jaas = try JaasConfig(parsing: text) } catch {
            throw ConfigError.invalidValue(key: key, value: "[hidden]", reason: "\(error)")
        }
        guard let username = jaas.username, let password = jaas.password else {
            throw ConfigError.invalidValue(key: key, value: "[hidden]", reason: "username and password are needed for this node's own connections")
        }
        return NodeSaslCredentials(mechanism: mechanism, username: username, password: password)
    }

    /// For replica fetchers: the broker's client listener (Runnel's inter-broker listener).
    static func interBroker(_ config: BrokerConfig) throws -> NodeSaslCredentials? {
        // The same listener the replica fetchers' TLS settings come from.
        guard let name = NodeTLS.interBrokerListenerName(config) else { return nil }
        return try forListener(name, config: config, mechanismKey: "sasl.mechanism.inter.broker.protocol")
    }

    /// For connections to the controllers: the first of `controller.listener.names`.
    static func controller(_ config: BrokerConfig) throws -> NodeSaslCredentials? {
        guard let name = config.controllerListenerNames.first else { return nil }
        return try forListener(name, config: config, mechanismKey: "sasl.mechanism.controller.protocol")
    }

    /// Authenticates a fresh connection: SaslHandshake v1, then SaslAuthenticate v2 tokens.
    /// - Throws: ``NodeSaslError`` when the other node refuses; ``NodeConnectionError`` when the
    ///   connection fails.
    func authenticate(_ connection: NodeConnection, timeout: TimeAmount) async throws {
        let handshake = try await connection.send(SaslHandshakeRequest(mechanism: mechanism), version: 1, timeout: timeout)
        guard handshake.errorCode == .none else {
            throw NodeSaslError(message: "\(mechanism) refused (\(handshake.errorCode)); enabled: \(handshake.mechanisms.joined(separator: ","))")
        }
        func step(_ token: [UInt8]) async throws -> [UInt8] {
            let reply = try await connection.send(SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: token)), version: 2, timeout: timeout)
            guard reply.errorCode == .none else { throw NodeSaslError(message: "\(reply.errorCode): \(reply.errorMessage ?? "")") }
            return Array(reply.authBytes.readableBytesView)
        }
        if let algorithm = ScramAlgorithm(mechanismName: mechanism) {
            var exchange = ScramClientExchange(algorithm: algorithm, username: username, password: password)
            let serverFirst = try await step(exchange.firstMessage)
            do {
                try exchange.verifyServerFinal(try await step(try exchange.finalMessage(serverFirst: serverFirst)))
            } catch let error as SaslError {
                throw NodeSaslError(message: error.message)
            }
        } else {
            _ = try await step(PlainMessage(username: username, password: password).bytes)
        }
    }
}

/// Another node refused this node's SASL authentication.
struct NodeSaslError: Error, CustomStringConvertible {
    var message: String
    var description: String { "SASL authentication to another node failed: \(message)" }
}
