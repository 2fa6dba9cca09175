/// The server side of one SCRAM authentication (RFC 5802 section 5), as a state machine: the
/// caller passes each client message in and sends back what it returns.
///
/// Work per exchange is bounded and small: a few HMACs and hashes, never PBKDF2 (the server keeps
/// derived keys). An unknown user gets a made-up salt (stable per user for the life of
/// `unknownUserSecret`) and fails at the proof, exactly as a wrong password does, so the exchange
/// does not reveal which users exist (RFC 5802 section 9).
public struct ScramServerExchange: Sendable {
    enum State: Sendable {
        case awaitingClientFirst
        case awaitingClientFinal(clientFirstBare: String, serverFirst: String, gs2Header: String,
                                 nonce: String, username: String, credential: ScramCredential?)
        case finished
    }

    public let algorithm: ScramAlgorithm
    private var state: State = .awaitingClientFirst
    private let serverNonce: String
    private let unknownUserSecret: [UInt8]
    /// The user, once the client's proof verified.
    public private(set) var authenticatedUser: String?

    /// - Parameters:
    ///   - algorithm: SHA-256 or SHA-512.
    ///   - unknownUserSecret: a per-broker random secret that keys the fake salts of unknown users.
    ///   - serverNonce: the server's half of the nonce; random (24 base64 characters from the
    ///     system CSPRNG) unless a test fixes it.
    public init(algorithm: ScramAlgorithm, unknownUserSecret: [UInt8], serverNonce: String? = nil) {
        self.algorithm = algorithm
        self.unknownUserSecret = unknownUserSecret
        self.serverNonce = serverNonce ?? Base64.encode(ScramCredential.randomBytes(18))
    }

    /// Whether the next message expected is the client-first-message.
    public var awaitingClientFirst: Bool {
        if case .awaitingClientFirst = state { return true }
        return false
    }

    /// Whether the exchange has ended (successfully or not).
    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Handles the client-first-message and returns the server-first-message.
    /// - Parameter credential: looks up the user's credential for this mechanism (nil: unknown).
    /// - Throws: ``SaslError``: malformed, out of turn, or a delegation-token request (unsupported).
    public mutating func handleClientFirst(_ message: [UInt8], credential: (String) -> ScramCredential?) throws -> [UInt8] {
        guard case .awaitingClientFirst = state else { throw fail(.illegalState, "Unexpected SCRAM client first message") }
        let first: ScramMessages.ClientFirst
        do {
            first = try ScramMessages.ClientFirst(parsing: try Self.text(message))
        } catch {
            state = .finished
            throw error
        }
        if first.extensions["tokenauth"] == "true" { throw fail(.authenticationFailed, "Delegation tokens are not supported") }
        if let authorizationID = first.authorizationID, authorizationID != first.username {
            throw fail(.authenticationFailed, "Authentication failed: Client requested an authorization id that is different from username")
        }
        let known = credential(first.username).flatMap { $0.algorithm == algorithm ? $0 : nil }
        let salt = known?.salt ?? Array(algorithm.hmac(key: unknownUserSecret, Array(first.username.utf8)).prefix(16))
        let iterations = known?.iterations ?? ScramAlgorithm.minIterations
        let nonce = first.nonce + serverNonce
        let serverFirst = ScramMessages.ServerFirst(nonce: nonce, salt: salt, iterations: iterations).text
        state = .awaitingClientFinal(clientFirstBare: first.bare, serverFirst: serverFirst, gs2Header: first.gs2Header,
                                     nonce: nonce, username: first.username, credential: known)
        return Array(serverFirst.utf8)
    }

    /// Handles the client-final-message: verifies the proof and returns the server-final-message
    /// (`v=<server signature>`).
    /// - Throws: ``SaslError``: authentication failed (wrong proof, unknown user, nonce or channel
    ///   binding mismatch), malformed, or out of turn.
    public mutating func handleClientFinal(_ message: [UInt8]) throws -> [UInt8] {
        guard case .awaitingClientFinal(let bare, let serverFirst, let gs2Header, let nonce, let username, let credential) = state else {
            throw fail(.illegalState, "Unexpected SCRAM client final message")
        }
        state = .finished
        let final = try ScramMessages.ClientFinal(parsing: try Self.text(message))
        // Kafka accepts a nonce that ends with ours (`ScramSaslServer.verifyClientProof`):
        // librdkafka before 2.x fixes sends its own nonce again in front of the combined one.
        guard final.nonce.hasSuffix(nonce) else { throw fail(.authenticationFailed, "Invalid SCRAM nonce") }
        guard final.channelBinding == Base64.encode(Array(gs2Header.utf8)) else {
            throw fail(.authenticationFailed, "Invalid SCRAM channel binding")
        }
        let authMessage = Array("\(bare),\(serverFirst),\(final.withoutProof)".utf8)
        // Verify against a throwaway key for an unknown user, so both cases take the same work.
        let storedKey = credential?.storedKey ?? algorithm.hash(unknownUserSecret)
        let clientSignature = algorithm.hmac(key: storedKey, authMessage)
        guard final.proof.count == clientSignature.count else { throw Self.invalidCredentials(algorithm) }
        let clientKey = zip(final.proof, clientSignature).map { $0 ^ $1 }
        guard constantTimeEquals(algorithm.hash(clientKey), storedKey), let credential else { throw Self.invalidCredentials(algorithm) }
        authenticatedUser = username
        let serverSignature = algorithm.hmac(key: credential.serverKey, authMessage)
        return Array("v=\(Base64.encode(serverSignature))".utf8)
    }

    /// Kafka's message for a failed SCRAM proof; the same for unknown users and wrong passwords.
    static func invalidCredentials(_ algorithm: ScramAlgorithm) -> SaslError {
        SaslError(.authenticationFailed,
                  "Authentication failed during authentication due to invalid credentials with SASL mechanism \(algorithm.mechanismName)")
    }

    private mutating func fail(_ kind: SaslError.Kind, _ message: String) -> SaslError {
        state = .finished
        return SaslError(kind, message)
    }

    static func text(_ bytes: [UInt8]) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SaslError(.malformedMessage, "SCRAM message is not valid UTF-8")
        }
        return text
    }
}
