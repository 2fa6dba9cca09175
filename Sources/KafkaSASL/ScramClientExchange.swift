/// The client side of one SCRAM authentication (RFC 5802 section 5): client-first, then the
/// client-final computed from the server-first, then the server's signature checked.
public struct ScramClientExchange: Sendable {
    public let algorithm: ScramAlgorithm
    public let username: String
    private let password: String
    private let clientFirst: ScramMessages.ClientFirst
    private var expectedServerSignature: [UInt8]?

    /// - Parameters:
    ///   - clientNonce: random (24 base64 characters from the system CSPRNG) unless a test fixes it.
    public init(algorithm: ScramAlgorithm, username: String, password: String, clientNonce: String? = nil) {
        self.algorithm = algorithm
        self.username = username
        self.password = password
        clientFirst = ScramMessages.ClientFirst(username: username, nonce: clientNonce ?? Base64.encode(ScramCredential.randomBytes(18)))
    }

    /// The client-first-message (`n,,n=<user>,r=<nonce>`).
    public var firstMessage: [UInt8] { Array(clientFirst.text.utf8) }

    /// Computes the client-final-message from the server-first-message (PBKDF2 with the server's
    /// salt and iteration count).
    /// - Throws: ``SaslError`` for a malformed message, a nonce that does not extend ours, or an
    ///   iteration count below Kafka's minimum of 4096.
    public mutating func finalMessage(serverFirst message: [UInt8]) throws -> [UInt8] {
        let serverFirstText = try ScramServerExchange.text(message)
        let serverFirst = try ScramMessages.ServerFirst(parsing: serverFirstText)
        guard serverFirst.nonce.hasPrefix(clientFirst.nonce), serverFirst.nonce.count > clientFirst.nonce.count else {
            throw SaslError(.authenticationFailed, "Invalid SCRAM server nonce: it does not start with the client nonce")
        }
        guard serverFirst.iterations >= ScramAlgorithm.minIterations else {
            throw SaslError(.authenticationFailed, "Requested iterations \(serverFirst.iterations) is less than the minimum \(ScramAlgorithm.minIterations) for \(algorithm.mechanismName)")
        }
        let saltedPassword: [UInt8]
        do {
            saltedPassword = try algorithm.saltedPassword(password, salt: serverFirst.salt, iterations: serverFirst.iterations)
        } catch {
            throw SaslError(.authenticationFailed, "SCRAM key derivation failed: \(error)")
        }
        var final = ScramMessages.ClientFinal(channelBinding: Base64.encode(Array(clientFirst.gs2Header.utf8)), nonce: serverFirst.nonce, proof: [])
        let authMessage = Array("\(clientFirst.bare),\(serverFirstText),\(final.withoutProof)".utf8)
        let clientKey = algorithm.hmac(key: saltedPassword, Array("Client Key".utf8))
        let clientSignature = algorithm.hmac(key: algorithm.hash(clientKey), authMessage)
        final.proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = algorithm.hmac(key: saltedPassword, Array("Server Key".utf8))
        expectedServerSignature = algorithm.hmac(key: serverKey, authMessage)
        return Array(final.text.utf8)
    }

    /// Checks the server-final-message's signature: proves the server knew the credential.
    /// - Throws: ``SaslError`` for an `e=` error, a malformed message or a wrong signature.
    public func verifyServerFinal(_ message: [UInt8]) throws {
        let attributes = try ScramMessages.parseAttributes(try ScramServerExchange.text(message))
        if let error = attributes["e"] { throw SaslError(.authenticationFailed, "SCRAM server error: \(error)") }
        guard let expectedServerSignature, let text = attributes["v"], let signature = Base64.decode(text) else {
            throw SaslError(.malformedMessage, "Invalid SCRAM server final message")
        }
        guard constantTimeEquals(signature, expectedServerSignature) else {
            throw SaslError(.authenticationFailed, "Invalid SCRAM server signature")
        }
    }
}
