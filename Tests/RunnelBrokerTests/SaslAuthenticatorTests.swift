import KafkaProtocol
import KafkaSASL
import NIOCore
@testable import RunnelBroker
import Testing

/// The per-connection SASL state machine (``SaslAuthenticator``), fed request frames as a client
/// sends them, checked action by action; plus the JAAS parser, the listener settings and the
/// SCRAM credential records.
struct SaslAuthenticatorTests {
    static let jaas = #"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#

    static func authenticator(mechanisms: String = "PLAIN,SCRAM-SHA-512", credentials: ScramCredentialStore = ScramCredentialStore()) throws -> SaslAuthenticator {
        let config = try BrokerConfig(overrides: [("listeners", "SASL_PLAINTEXT://localhost:0"),
                                                  ("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas),
                                                  ("sasl.enabled.mechanisms", mechanisms)])
        let sasl = try SaslAuthentication(config: config, listeners: try config.listeners, scramCredentials: credentials)
        return try #require(sasl.authenticator(for: try config.listeners[0]))
    }

    /// A request frame (header v1/v2 and body, no size prefix).
    static func frame(_ body: some KafkaRequest, version: Int16, correlationID: Int32 = 1) -> ByteBuffer {
        var out = ByteBuffer()
        RequestHeader(apiKey: type(of: body).apiKey, apiVersion: version, correlationID: correlationID, clientID: "t").encode(to: &out)
        var encoded = body.encoded(apiKey: type(of: body).apiKey, version: version)
        out.writeBuffer(&encoded)
        return out
    }

    static func authenticate(_ token: [UInt8], version: Int16 = 2) -> ByteBuffer {
        frame(SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: token)), version: version, correlationID: 2)
    }

    /// The body of a framed response (size prefix and response header dropped).
    static func body<M: KafkaMessage>(_ action: SaslAuthenticator.Action, as type: M.Type, apiKey: ApiKey, version: Int16) throws -> M {
        let bytes: ByteBuffer
        switch action {
        case .respond(let b), .respondAndClose(let b, _): bytes = b
        case .failAuthentication(let b, _): bytes = try #require(b)
        default: Issue.record("no response in \(action)"); throw CancellationError()
        }
        var buffer = bytes
        buffer.moveReaderIndex(forwardBy: 4)
        _ = try ResponseHeader.decode(from: &buffer, version: apiKey.responseHeaderVersion(version))
        return try M.decode(buffer, apiKey: apiKey, version: version)
    }

    @Test func plainSucceedsAndThenRoutesEverything() throws {
        var auth = try Self.authenticator()
        #expect(isRoute(auth.handle(frame: Self.frame(ApiVersionsRequest(clientSoftwareName: "t", clientSoftwareVersion: "1"), version: 3))))
        let handshake = auth.handle(frame: Self.frame(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1))
        #expect(try Self.body(handshake, as: SaslHandshakeResponse.self, apiKey: .saslHandshake, version: 1)
                == SaslHandshakeResponse(mechanisms: ["PLAIN", "SCRAM-SHA-512"]))
        let done = auth.handle(frame: Self.authenticate(PlainMessage(username: "alice", password: "alice-secret").bytes))
        let reply = try Self.body(done, as: SaslAuthenticateResponse.self, apiKey: .saslAuthenticate, version: 2)
        #expect(reply.errorCode == .none && reply.sessionLifetimeMs == 0)
        #expect(auth.principal == KafkaPrincipal(name: "alice"))
        #expect(isRoute(auth.handle(frame: Self.frame(MetadataRequest(topics: nil), version: 1))))
    }

    @Test func wrongPasswordAndUnknownUserFailAlike() throws {
        var messages: [String?] = []
        for (user, password) in [("alice", "nope"), ("mallory", "alice-secret")] {
            var auth = try Self.authenticator()
            _ = auth.handle(frame: Self.frame(SaslHandshakeRequest(mechanism: "plain"), version: 1))
            let action = auth.handle(frame: Self.authenticate(PlainMessage(username: user, password: password).bytes, version: 1))
            guard case .failAuthentication = action else { Issue.record("\(action)"); return }
            let reply = try Self.body(action, as: SaslAuthenticateResponse.self, apiKey: .saslAuthenticate, version: 1)
            #expect(reply.errorCode == .saslAuthenticationFailed)
            messages.append(reply.errorMessage)
            #expect(auth.principal == nil)
        }
        #expect(messages[0] == messages[1])
    }

    @Test func requestsBeforeAuthenticationClose() throws {
        var auth = try Self.authenticator()
        guard case .close = auth.handle(frame: Self.frame(MetadataRequest(topics: nil), version: 1)) else { Issue.record("not closed"); return }
        // A token before the handshake, and a second handshake, close too.
        var early = try Self.authenticator()
        guard case .close = early.handle(frame: Self.authenticate([0, 1])) else { Issue.record("not closed"); return }
        var twice = try Self.authenticator()
        _ = twice.handle(frame: Self.frame(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1))
        guard case .close = twice.handle(frame: Self.frame(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1)) else {
            Issue.record("not closed"); return
        }
    }

    @Test func unsupportedMechanismListsEnabledOnes() throws {
        var auth = try Self.authenticator(mechanisms: "SCRAM-SHA-256")
        let action = auth.handle(frame: Self.frame(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1))
        guard case .respondAndClose = action else { Issue.record("\(action)"); return }
        #expect(try Self.body(action, as: SaslHandshakeResponse.self, apiKey: .saslHandshake, version: 1)
                == SaslHandshakeResponse(errorCode: .unsupportedSaslMechanism, mechanisms: ["SCRAM-SHA-256"]))
    }

    @Test func handshakeV0TakesBareTokens() throws {
        var auth = try Self.authenticator()
        _ = auth.handle(frame: Self.frame(SaslHandshakeRequest(mechanism: "PLAIN"), version: 0))
        let action = auth.handle(frame: ByteBuffer(bytes: PlainMessage(username: "admin", password: "admin-secret").bytes))
        guard case .respond(let bytes) = action else { Issue.record("\(action)"); return }
        #expect(Array(bytes.readableBytesView) == [0, 0, 0, 0])  // an empty server token, size-prefixed
        #expect(auth.principal == KafkaPrincipal(name: "admin"))
        var bad = try Self.authenticator()
        _ = bad.handle(frame: Self.frame(SaslHandshakeRequest(mechanism: "PLAIN"), version: 0))
        guard case .failAuthentication(nil, _) = bad.handle(frame: ByteBuffer(bytes: PlainMessage(username: "admin", password: "x").bytes)) else {
            Issue.record("bare failure must close without a response"); return
        }
    }

    @Test func scramThroughTheStateMachine() throws {
        let store = ScramCredentialStore()
        store.replace(["carol": [.sha512: try ScramCredential(algorithm: .sha512, password: "pw", salt: Array("0123456789abcdef".utf8), iterations: 4096)]])
        var auth = try Self.authenticator(credentials: store)
        _ = auth.handle(frame: Self.frame(SaslHandshakeRequest(mechanism: "SCRAM-SHA-512"), version: 1))
        var client = ScramClientExchange(algorithm: .sha512, username: "carol", password: "pw")
        let first = try Self.body(auth.handle(frame: Self.authenticate(client.firstMessage)), as: SaslAuthenticateResponse.self,
                                  apiKey: .saslAuthenticate, version: 2)
        let final = try client.finalMessage(serverFirst: Array(first.authBytes.readableBytesView))
        let last = try Self.body(auth.handle(frame: Self.authenticate(final)), as: SaslAuthenticateResponse.self,
                                 apiKey: .saslAuthenticate, version: 2)
        try client.verifyServerFinal(Array(last.authBytes.readableBytesView))
        #expect(auth.principal == KafkaPrincipal(name: "carol"))
    }

    @Test func oversizedTokenCloses() throws {
        var auth = try Self.authenticator()
        _ = auth.handle(frame: Self.frame(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1))
        guard case .close = auth.handle(frame: Self.authenticate([UInt8](repeating: 1, count: SaslAuthenticator.maxReceiveBytes + 1))) else {
            Issue.record("not closed"); return
        }
    }

    @Test func plainPasswordComparison() {
        #expect(SaslAuthenticator.plainPasswordMatches("a", expected: "a"))
        #expect(!SaslAuthenticator.plainPasswordMatches("a", expected: "b"))
        #expect(!SaslAuthenticator.plainPasswordMatches("", expected: nil))
    }

    private func isRoute(_ action: SaslAuthenticator.Action) -> Bool {
        if case .route = action { return true }
        return false
    }
}

struct JaasConfigTests {
    @Test func parsesKafkasPlainEntry() throws {
        let jaas = try JaasConfig(parsing: SaslAuthenticatorTests.jaas)
        #expect(jaas.loginModule == "org.apache.kafka.common.security.plain.PlainLoginModule")
        #expect(jaas.flag == "required")
        #expect(jaas.username == "admin" && jaas.password == "admin-secret")
        #expect(jaas.users == ["admin": "admin-secret", "alice": "alice-secret"])
    }

    @Test func quotingAndBareValues() throws {
        let jaas = try JaasConfig(parsing: #"  m.Module   optional a=bare b="with \"quote\" and ; semicolon" c="";  "#)
        #expect(jaas.options == ["a": "bare", "b": #"with "quote" and ; semicolon"#, "c": ""])
    }

    @Test(arguments: ["", "Module", "Module required", "Module maybe a=\"b\";", "Module required a;", "Module required a=\"b;",
                      "Module required a=\"b\"; Other required;"])
    func rejectsMalformed(text: String) {
        #expect(throws: JaasConfig.ParseError.self) { try JaasConfig(parsing: text) }
    }

    @Test func listenerSettings() throws {
        let config = try BrokerConfig(overrides: [
            ("listeners", "SASL_PLAINTEXT://localhost:0"),
            ("listener.name.sasl_plaintext.plain.sasl.jaas.config", SaslAuthenticatorTests.jaas),
            ("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "scram-sha-256,PLAIN"),
        ])
        let settings = try SaslListenerSettings.make(config: config, listenerName: "SASL_PLAINTEXT")
        #expect(settings.enabledMechanisms == ["SCRAM-SHA-256", "PLAIN"])
        #expect(settings.plainUsers["alice"] == "alice-secret")
        let bad = try BrokerConfig(overrides: [("sasl.enabled.mechanisms", "GSSAPI")])
        #expect(throws: ConfigError.self) { try SaslListenerSettings.make(config: bad, listenerName: "SASL_PLAINTEXT") }
        let badJaas = try BrokerConfig(overrides: [("listener.name.sasl_plaintext.plain.sasl.jaas.config", "nonsense")])
        #expect(throws: ConfigError.self) { try SaslListenerSettings.make(config: badJaas, listenerName: "SASL_PLAINTEXT") }
        // Unknown listener-prefixed keys are still refused.
        #expect(throws: ConfigError.self) { try BrokerConfig(overrides: [("listener.name.x.plain.bogus", "1")]) }
    }
}

struct ScramCredentialRecordTests {
    @Test func userScramCredentialRecordBytes() throws {
        let record = MetadataRecord.userScramCredential(.init(name: "u", mechanism: .scramSHA256, salt: [1], storedKey: [2, 2],
                                                               serverKey: [3], iterations: 4096))
        let bytes = Array(record.encoded().readableBytesView)
        #expect(bytes == [1, 11, 0,                 // frame version, api key 11, version 0
                          0x02, 0x75, 0x01,         // name "u", mechanism 1
                          0x02, 0x01, 0x03, 0x02, 0x02, 0x02, 0x03, // salt, stored_key, server_key
                          0x00, 0x00, 0x10, 0x00,   // iterations
                          0x00])                    // tags
        #expect(try MetadataRecord.decode(ByteBuffer(bytes: bytes)) == record)
        let remove = MetadataRecord.removeUserScramCredential(name: "u", mechanism: .scramSHA256)
        #expect(Array(remove.encoded().readableBytesView) == [1, 22, 0, 0x02, 0x75, 0x01, 0x00])
        #expect(try MetadataRecord.decode(remove.encoded()) == remove)
    }

    @Test func imageAppliesCredentials() {
        var image = MetadataImage()
        image.apply(.userScramCredential(.init(name: "u", mechanism: .scramSHA512, salt: [1], storedKey: [2], serverKey: [3], iterations: 8192)))
        image.apply(.userScramCredential(.init(name: "u", mechanism: .scramSHA256, salt: [1], storedKey: [2], serverKey: [3], iterations: 4096)))
        #expect(image.scramCredentials["u"]?[.sha512]?.iterations == 8192)
        image.apply(.removeUserScramCredential(name: "u", mechanism: .scramSHA512))
        #expect(image.scramCredentials["u"]?.keys.sorted { $0.rawValue < $1.rawValue } == [.sha256])
        image.apply(.removeUserScramCredential(name: "u", mechanism: .scramSHA256))
        #expect(image.scramCredentials["u"] == nil)
        // Unknown mechanisms are skipped on replay.
        image.apply(.userScramCredential(.init(name: "v", mechanism: ScramMechanism(rawValue: 9), salt: [], storedKey: [], serverKey: [], iterations: 1)))
        #expect(image.scramCredentials.isEmpty)
    }
}
