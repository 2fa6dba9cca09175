import KafkaProtocol
import KafkaSASL
import NIOCore

/// Authenticates a new connection with SaslHandshake v1 and SaslAuthenticate (KIP-152), right
/// after the ApiVersions exchange and before any other request: PLAIN sends one token; SCRAM
/// sends the client-first and client-final messages and checks the server's signature.
enum SaslClient {
    /// Runs the exchange through `send` (one request, its decoded response).
    /// - Throws: ``ClientError/broker(code:message:context:)`` with UNSUPPORTED_SASL_MECHANISM,
    ///   SASL_AUTHENTICATION_FAILED (and the broker's message), or ILLEGAL_SASL_STATE; also for a
    ///   server signature that does not verify.
    static func authenticate(_ sasl: SaslConfiguration, address: String,
                             handshake: (SaslHandshakeRequest) async throws -> SaslHandshakeResponse,
                             authenticate: (SaslAuthenticateRequest) async throws -> SaslAuthenticateResponse) async throws {
        let context = "SASL \(sasl.mechanism.rawValue) authentication to \(address)"
        let reply = try await handshake(SaslHandshakeRequest(mechanism: sasl.mechanism.rawValue))
        guard reply.errorCode == .none else {
            throw ClientError.broker(code: reply.errorCode, message: "enabled mechanisms: \(reply.mechanisms.joined(separator: ", "))", context: context)
        }
        func step(_ token: [UInt8]) async throws -> [UInt8] {
            let response = try await authenticate(SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: token)))
            guard response.errorCode == .none else {
                throw ClientError.broker(code: response.errorCode, message: response.errorMessage, context: context)
            }
            return Array(response.authBytes.readableBytesView)
        }
        switch sasl.mechanism {
        case .plain:
            _ = try await step(PlainMessage(username: sasl.username, password: sasl.password).bytes)
        case .scramSHA256, .scramSHA512:
            let algorithm: ScramAlgorithm = sasl.mechanism == .scramSHA256 ? .sha256 : .sha512
            var exchange = ScramClientExchange(algorithm: algorithm, username: sasl.username, password: sasl.password)
            let serverFirst = try await step(exchange.firstMessage)
            do {
                let serverFinal = try await step(try exchange.finalMessage(serverFirst: serverFirst))
                try exchange.verifyServerFinal(serverFinal)
            } catch let error as SaslError {
                throw ClientError.broker(code: .saslAuthenticationFailed, message: error.message, context: context)
            }
        }
    }
}
