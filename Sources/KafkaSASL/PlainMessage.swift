/// The one message of SASL PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, UTF-8.
public struct PlainMessage: Equatable, Sendable {
    /// The authorization identity; empty or equal to ``username`` (Kafka refuses others).
    public var authorizationID: String
    public var username: String
    public var password: String

    public init(authorizationID: String = "", username: String, password: String) {
        self.authorizationID = authorizationID
        self.username = username
        self.password = password
    }

    /// Parses the client's message.
    /// - Throws: ``SaslError`` (malformed) without exactly two NULs, with an empty user name or
    ///   password, or invalid UTF-8.
    public init(parsing bytes: [UInt8]) throws {
        let parts = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[2].contains(0) else {
            throw SaslError(.malformedMessage, "Invalid SASL/PLAIN response: expected 3 tokens")
        }
        guard let authorizationID = String(validating: parts[0], as: UTF8.self),
              let username = String(validating: parts[1], as: UTF8.self),
              let password = String(validating: parts[2], as: UTF8.self) else {
            throw SaslError(.malformedMessage, "Invalid SASL/PLAIN response: not UTF-8")
        }
        guard !username.isEmpty else { throw SaslError(.malformedMessage, "Authentication failed: username not specified") }
        guard !password.isEmpty else { throw SaslError(.malformedMessage, "Authentication failed: password not specified") }
        self.init(authorizationID: authorizationID, username: username, password: password)
    }

    /// The message's bytes.
    public var bytes: [UInt8] { Array(authorizationID.utf8) + [0] + Array(username.utf8) + [0] + Array(password.utf8) }
}
