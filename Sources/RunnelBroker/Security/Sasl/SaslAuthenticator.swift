import KafkaProtocol
import KafkaSASL
import NIOCore

/// The SASL state of one connection on a SASL listener, as a state machine that returns what the
/// connection must do (Kafka's `SaslServerAuthenticator`, KIP-43 and KIP-152).
///
/// Before authentication only ApiVersions, SaslHandshake and SaslAuthenticate are served; any
/// other request closes the connection. After a SaslHandshake v1 the tokens come in
/// SaslAuthenticate requests (KIP-152); after a v0 handshake they come as bare size-prefixed
/// frames (KIP-43), answered the same way, and a failure just closes the connection. A handshake naming a mechanism the listener has not
/// enabled is answered UNSUPPORTED_SASL_MECHANISM with the enabled list, then the connection
/// closes. A failed authentication is answered SASL_AUTHENTICATION_FAILED with a message that does
/// not say whether the user exists; the connection delays that answer by
/// `connection.failed.authentication.delay.ms` and closes after it. Once authenticated, the
/// connection acts as `User:<name>` and every request goes to the router.
///
/// Work per request is bounded: PLAIN hashes two passwords, SCRAM computes a few HMACs (never
/// PBKDF2), and tokens over Kafka's `sasl.server.max.receive.size` (512 KiB) close the connection.
struct SaslAuthenticator: Sendable {
    enum State: Sendable {
        case awaitingHandshake
        /// `raw`: after a v0 handshake the tokens are bare frames, not SaslAuthenticate requests.
        case awaitingPlainToken(raw: Bool)
        case awaitingScramToken(ScramServerExchange, raw: Bool)
        case authenticated(KafkaPrincipal)
        case closed
    }

    /// What the connection does with a frame.
    enum Action: Sendable {
        /// Serve the frame through the router (ApiVersions, or anything once authenticated).
        case route
        /// Send these bytes and wait for the next request.
        case respond(ByteBuffer)
        /// Send these bytes, then close the connection (log `reason`).
        case respondAndClose(ByteBuffer, reason: String)
        /// Wait `connection.failed.authentication.delay.ms`, send these bytes (nothing after a v0
        /// handshake), then close (log `reason`).
        case failAuthentication(ByteBuffer?, reason: String)
        /// Close without answering (log `reason`).
        case close(reason: String)
    }

    /// Kafka's `sasl.server.max.receive.size` default: the largest frame before authentication.
    static let maxReceiveBytes = 524_288

    let settings: SaslListenerSettings
    let scramCredentials: ScramCredentialStore
    let unknownUserSecret: [UInt8]
    private(set) var state: State = .awaitingHandshake

    init(settings: SaslListenerSettings, scramCredentials: ScramCredentialStore, unknownUserSecret: [UInt8]) {
        self.settings = settings
        self.scramCredentials = scramCredentials
        self.unknownUserSecret = unknownUserSecret
    }

    /// The authenticated principal, nil until authentication succeeds.
    var principal: KafkaPrincipal? {
        if case .authenticated(let principal) = state { return principal }
        return nil
    }

    /// Decides what to do with one request frame (header and body, no size prefix).
    mutating func handle(frame: ByteBuffer) -> Action {
        if case .authenticated = state { return .route }
        guard frame.readableBytes <= Self.maxReceiveBytes else {
            return close("\(frame.readableBytes)-byte frame before SASL authentication is over sasl.server.max.receive.size (\(Self.maxReceiveBytes))")
        }
        switch state {
        case .awaitingPlainToken(raw: true), .awaitingScramToken(_, raw: true):
            return authenticate(nil, token: Array(frame.readableBytesView))
        default:
            break
        }
        guard let prefix = RequestHeader.peekPrefix(frame) else {
            return close("request frame of \(frame.readableBytes) bytes is shorter than a request header")
        }
        switch (prefix.apiKey, state) {
        case (.apiVersions, .awaitingHandshake):
            return .route
        case (.saslHandshake, .awaitingHandshake):
            return decode(frame, SaslHandshakeRequest.self, range: 0...1) { me, header, request in me.handshake(header, request) }
        case (.saslAuthenticate, .awaitingPlainToken), (.saslAuthenticate, .awaitingScramToken):
            return decode(frame, SaslAuthenticateRequest.self, range: 0...2) { me, header, request in
                me.authenticate(header, token: Array(request.authBytes.readableBytesView))
            }
        default:
            return close("unexpected \(prefix.apiKey) request during SASL authentication")
        }
    }

    // MARK: steps

    private mutating func handshake(_ header: RequestHeader, _ request: SaslHandshakeRequest) -> Action {
        let mechanism = request.mechanism.uppercased()
        guard settings.enabledMechanisms.contains(mechanism) else {
            state = .closed
            let response = SaslHandshakeResponse(errorCode: .unsupportedSaslMechanism, mechanisms: settings.enabledMechanisms)
            return .respondAndClose(frame(response, header),
                                    reason: "client asked for SASL mechanism \(request.mechanism.prefix(64)), not enabled on listener \(settings.listenerName)")
        }
        let raw = header.apiVersion == 0
        if let algorithm = ScramAlgorithm(mechanismName: mechanism) {
            state = .awaitingScramToken(ScramServerExchange(algorithm: algorithm, unknownUserSecret: unknownUserSecret), raw: raw)
        } else {
            state = .awaitingPlainToken(raw: raw)
        }
        return .respond(frame(SaslHandshakeResponse(mechanisms: settings.enabledMechanisms), header))
    }

    /// One token; `header` is nil for a bare token after a v0 handshake.
    private mutating func authenticate(_ header: RequestHeader?, token: [UInt8]) -> Action {
        switch state {
        case .awaitingPlainToken:
            return authenticatePlain(header, token)
        case .awaitingScramToken(var exchange, let raw):
            return authenticateScram(header, token, &exchange, raw: raw)
        default:
            return close("unexpected SaslAuthenticate request")
        }
    }

    private mutating func authenticatePlain(_ header: RequestHeader?, _ token: [UInt8]) -> Action {
        let message: PlainMessage
        do {
            message = try PlainMessage(parsing: token)
        } catch {
            return fail(header, mechanism: SaslMechanismName.plain, message: "\(error)")
        }
        if !message.authorizationID.isEmpty, message.authorizationID != message.username {
            return fail(header, mechanism: SaslMechanismName.plain,
                        message: "Authentication failed: Client requested an authorization id that is different from username")
        }
        guard Self.plainPasswordMatches(message.password, expected: settings.plainUsers[message.username]) else {
            return fail(header, mechanism: SaslMechanismName.plain, message: "Authentication failed: Invalid username or password")
        }
        return succeed(header, user: message.username, serverToken: [])
    }

    private mutating func authenticateScram(_ header: RequestHeader?, _ token: [UInt8], _ exchange: inout ScramServerExchange,
                                            raw: Bool) -> Action {
        let mechanism = exchange.algorithm.mechanismName
        let credentials = scramCredentials
        let algorithm = exchange.algorithm
        do {
            if exchange.awaitingClientFirst {
                let reply = try exchange.handleClientFirst(token) { credentials.credential(user: $0, algorithm: algorithm) }
                state = .awaitingScramToken(exchange, raw: raw)
                return .respond(tokenFrame(reply, header))
            }
            let reply = try exchange.handleClientFinal(token)
            guard let user = exchange.authenticatedUser else { return fail(header, mechanism: mechanism, message: nil) }
            return succeed(header, user: user, serverToken: reply)
        } catch {
            // Kafka's rule: never the SaslException's own text, which may say whether the user exists.
            return fail(header, mechanism: mechanism, message: nil)
        }
    }

    /// Compares SHA-256 digests in constant time, so neither the password's length nor where it
    /// differs shows in the timing; an unknown user costs the same as a wrong password.
    static func plainPasswordMatches(_ given: String, expected: String?) -> Bool {
        let expectedDigest = ScramAlgorithm.sha256.hash(Array((expected ?? "").utf8))
        let matches = constantTimeEquals(ScramAlgorithm.sha256.hash(Array(given.utf8)), expectedDigest)
        return matches && expected != nil
    }

    // MARK: helpers

    private mutating func succeed(_ header: RequestHeader?, user: String, serverToken: [UInt8]) -> Action {
        state = .authenticated(KafkaPrincipal(name: user))
        return .respond(tokenFrame(serverToken, header))
    }

    private mutating func fail(_ header: RequestHeader?, mechanism: String, message: String?) -> Action {
        state = .closed
        let text = message ?? "Authentication failed during authentication due to invalid credentials with SASL mechanism \(mechanism)"
        let response = header.map { frame(SaslAuthenticateResponse(errorCode: .saslAuthenticationFailed, errorMessage: text), $0) }
        return .failAuthentication(response, reason: "failed SASL authentication (\(mechanism)): \(text)")
    }

    /// A server token: in a SaslAuthenticate response, or as a bare frame after a v0 handshake.
    private func tokenFrame(_ token: [UInt8], _ header: RequestHeader?) -> ByteBuffer {
        guard let header else {
            var out = ByteBuffer()
            out.writeInteger(Int32(token.count))
            out.writeBytes(token)
            return out
        }
        // session_lifetime_ms 0: no re-authentication (connections.max.reauth.ms is not implemented).
        return frame(SaslAuthenticateResponse(authBytes: ByteBuffer(bytes: token), sessionLifetimeMs: 0), header)
    }

    private mutating func close(_ reason: String) -> Action {
        state = .closed
        return .close(reason: reason)
    }

    private mutating func decode<Request: KafkaRequest>(
        _ frame: ByteBuffer, _ type: Request.Type, range: ClosedRange<Int16>,
        _ step: (inout Self, RequestHeader, Request) -> Action
    ) -> Action {
        var body = frame
        do {
            let header = try RequestHeader.decode(from: &body)
            guard range.contains(header.apiVersion) else {
                return close("unsupported version \(header.apiVersion) of \(header.apiKey) (supported \(range.lowerBound)-\(range.upperBound))")
            }
            let request = try Request.decode(body, apiKey: Request.apiKey, version: header.apiVersion)
            return step(&self, header, request)
        } catch {
            return close("malformed \(Request.apiKey) request: \(error)")
        }
    }

    private func frame(_ body: some KafkaMessage, _ header: RequestHeader) -> ByteBuffer {
        RequestRouter.frame(body, apiKey: header.apiKey, version: header.apiVersion, correlationID: header.correlationID)
    }
}
