import KafkaSASL
import Testing

/// SCRAM against RFC 7677's SHA-256 example and a SHA-512 exchange computed independently
/// (Python's hashlib.pbkdf2_hmac and hmac), both sides of the exchange.
@Suite struct ScramTests {
    struct Vector: Sendable {
        var algorithm: ScramAlgorithm
        var user: String
        var password: String
        var clientNonce: String
        var serverNonce: String
        var salt: [UInt8]
        var serverFirst: String
        var clientFinal: String
        var serverFinal: String
    }

    static let rfc7677 = Vector(
        algorithm: .sha256, user: "user", password: "pencil", clientNonce: "rOprNGfwEbeRWgbNEkqO",
        serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        salt: [0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e, 0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81],
        serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")

    static let sha512 = Vector(
        algorithm: .sha512, user: "alice", password: "alice-secret", clientNonce: "fyko+d2lbbFgONRv9qkxdawL",
        serverNonce: "3rfcNHYJY1ZVvWVs7j", salt: Array("runnel-salt-0123".utf8),
        serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=cnVubmVsLXNhbHQtMDEyMw==,i=4096",
        clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=XQgewdgv52Bk70zsAJPqUFyZw35ti7kLqgsqLR7WhA8G2JM8ImTlKVAKxFv3wLbI2ttdYifawx0YHhyWiL4N1w==",
        serverFinal: "v=RaiRQW39L0DcDjxHOBk0lzWNZIG7dclPBi0jhOJBm1cn5n+973U893GUaWY3np/Kx/HvBmQRsvDo9MKeOIG79w==")

    static let secret: [UInt8] = Array(repeating: 7, count: 32)

    @Test(arguments: [rfc7677, sha512])
    func clientSide(vector: Vector) throws {
        var client = ScramClientExchange(algorithm: vector.algorithm, username: vector.user, password: vector.password,
                                         clientNonce: vector.clientNonce)
        #expect(String(decoding: client.firstMessage, as: UTF8.self) == "n,,n=\(vector.user),r=\(vector.clientNonce)")
        let final = try client.finalMessage(serverFirst: Array(vector.serverFirst.utf8))
        #expect(String(decoding: final, as: UTF8.self) == vector.clientFinal)
        try client.verifyServerFinal(Array(vector.serverFinal.utf8))
        #expect(throws: SaslError.self) { try client.verifyServerFinal(Array("v=AAAA".utf8)) }
    }

    @Test(arguments: [rfc7677, sha512])
    func serverSide(vector: Vector) throws {
        let credential = try ScramCredential(algorithm: vector.algorithm, password: vector.password, salt: vector.salt, iterations: 4096)
        var server = ScramServerExchange(algorithm: vector.algorithm, unknownUserSecret: Self.secret, serverNonce: vector.serverNonce)
        let first = try server.handleClientFirst(Array("n,,n=\(vector.user),r=\(vector.clientNonce)".utf8)) {
            $0 == vector.user ? credential : nil
        }
        #expect(String(decoding: first, as: UTF8.self) == vector.serverFirst)
        let final = try server.handleClientFinal(Array(vector.clientFinal.utf8))
        #expect(String(decoding: final, as: UTF8.self) == vector.serverFinal)
        #expect(server.authenticatedUser == vector.user)
        #expect(server.isFinished)
    }

    @Test func wrongPasswordAndUnknownUserFailAlike() throws {
        let credential = try ScramCredential(algorithm: .sha512, password: "right", salt: Array("0123456789abcdef".utf8), iterations: 4096)
        var failures: [String] = []
        for (user, password) in [("alice", "wrong"), ("nobody", "whatever")] {
            var client = ScramClientExchange(algorithm: .sha512, username: user, password: password)
            var server = ScramServerExchange(algorithm: .sha512, unknownUserSecret: Self.secret)
            let serverFirst = try server.handleClientFirst(client.firstMessage) { $0 == "alice" ? credential : nil }
            // Same shape of reply: a salt and Kafka's minimum iteration count either way.
            #expect(String(decoding: serverFirst, as: UTF8.self).contains(",i=4096"))
            let final = try client.finalMessage(serverFirst: serverFirst)
            do {
                _ = try server.handleClientFinal(final)
                Issue.record("\(user) authenticated with a wrong password")
            } catch let error as SaslError {
                #expect(error.kind == .authenticationFailed)
                failures.append(error.message)
            }
            #expect(server.authenticatedUser == nil)
        }
        #expect(failures.count == 2 && failures[0] == failures[1])
    }

    @Test func unknownUserSaltIsStable() throws {
        func salt() throws -> String {
            var server = ScramServerExchange(algorithm: .sha256, unknownUserSecret: Self.secret)
            let reply = String(decoding: try server.handleClientFirst(Array("n,,n=ghost,r=abc".utf8)) { _ in nil }, as: UTF8.self)
            return String(reply.split(separator: ",")[1])
        }
        #expect(try salt() == salt())
    }

    @Test func malformedAndOutOfTurnMessages() throws {
        var server = ScramServerExchange(algorithm: .sha256, unknownUserSecret: Self.secret)
        #expect(throws: SaslError.self) { try server.handleClientFinal(Array("c=biws,r=x,p=AAAA".utf8)) }
        for bad in ["", "n,,", "p=tls-unique,,n=u,r=x", "n,,n=u", "n,,n=a=ZZb,r=x", "n,x,n=u,r=x", "n,,n=u,r=x,tokenauth=true"] {
            var server = ScramServerExchange(algorithm: .sha256, unknownUserSecret: Self.secret)
            #expect(throws: SaslError.self, "\(bad)") { try server.handleClientFirst(Array(bad.utf8)) { _ in nil } }
            #expect(server.isFinished)
        }
        // A different authorization id is refused (Kafka does the same).
        var other = ScramServerExchange(algorithm: .sha256, unknownUserSecret: Self.secret)
        #expect(throws: SaslError.self) { try other.handleClientFirst(Array("n,a=admin,n=u,r=x".utf8)) { _ in nil } }
    }

    @Test func saslNameEscaping() throws {
        #expect(ScramMessages.escape("a,b=c") == "a=2Cb=3Dc")
        #expect(try ScramMessages.unescape("a=2Cb=3Dc") == "a,b=c")
        #expect(throws: SaslError.self) { try ScramMessages.unescape("a=4") }
    }
}

@Suite struct PlainMessageTests {
    @Test func parsesRFC4616() throws {
        let message = try PlainMessage(parsing: Array("\0alice\0alice-secret".utf8))
        #expect(message == PlainMessage(username: "alice", password: "alice-secret"))
        #expect(try PlainMessage(parsing: message.bytes) == message)
        #expect(try PlainMessage(parsing: Array("alice\0alice\0pw".utf8)).authorizationID == "alice")
        for bad in ["alice", "\0alice", "\0\0pw", "\0alice\0", "\0a\0b\0c"] {
            #expect(throws: SaslError.self, "\(bad)") { try PlainMessage(parsing: Array(bad.utf8)) }
        }
    }

    @Test func constantTimeComparison() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2], [1, 2, 3]))
    }
}

@Suite struct ScramInteropQuirkTests {
    /// librdkafka 2.0.2 repeats its nonce in the client-final-message (`r=<cnonce><cnonce><snonce>`)
    /// and signs that; Kafka accepts a nonce that ends with the server's, and so do we.
    @Test func acceptsLibrdkafkaDoubledNonce() throws {
        let credential = try ScramCredential(algorithm: .sha512, password: "pw", salt: Array("saltsaltsaltsalt".utf8), iterations: 4096)
        var server = ScramServerExchange(algorithm: .sha512, unknownUserSecret: ScramTests.secret, serverNonce: "SERVER")
        let first = String(decoding: try server.handleClientFirst(Array("n,,n=u,r=CLIENT".utf8)) { _ in credential }, as: UTF8.self)
        let withoutProof = "c=biws,r=CLIENTCLIENTSERVER"
        let authMessage = Array("n=u,r=CLIENT,\(first),\(withoutProof)".utf8)
        let salted = try ScramAlgorithm.sha512.saltedPassword("pw", salt: credential.salt, iterations: 4096)
        let clientKey = ScramAlgorithm.sha512.hmac(key: salted, Array("Client Key".utf8))
        let signature = ScramAlgorithm.sha512.hmac(key: ScramAlgorithm.sha512.hash(clientKey), authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let final = ScramMessages.ClientFinal(channelBinding: "biws", nonce: "CLIENTCLIENTSERVER", proof: proof)
        _ = try server.handleClientFinal(Array(final.text.utf8))
        #expect(server.authenticatedUser == "u")
    }
}
