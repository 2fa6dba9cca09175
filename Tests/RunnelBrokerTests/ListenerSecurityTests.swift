import Foundation
import NIOSSL
@testable import RunnelBroker
import Testing

/// Listener security protocols, the PEM `ssl.*` keys (KIP-651) with their start-up checks, and the
/// RFC 2253 principal of a client certificate.
@Suite struct ListenerSecurityTests {
    @Test func listenersTakeKafkasFourProtocols() throws {
        let map = ["PLAINTEXT": "PLAINTEXT", "INTERNAL": "SASL_SSL"]
        let listeners = try ["PLAINTEXT://:1", "internal://:2"].map { try Listener.parse($0, key: "listeners", protocolMap: map) }
        #expect(listeners.map(\.name) == ["PLAINTEXT", "INTERNAL"])
        #expect(listeners.map(\.security) == [.plaintext, .saslSSL])
        #expect(listeners.map(\.usesTLS) == [false, true])
        #expect(listeners.map(\.usesSASL) == [false, true])
        #expect(ListenerSecurityProtocol.allCases.map(\.id) == [0, 1, 2, 3])
        // A name that is itself a protocol maps to itself; an unknown protocol in the map is refused.
        #expect(try Listener.parse("ssl://h:1", key: "listeners").security == .ssl)
        #expect(throws: ConfigError.self) { try Listener.parse("X://h:1", key: "listeners", protocolMap: ["X": "TLS"]) }
    }

    @Test func sslListenerLoadsAKeystoreFileAndNamesItsPrincipalRules() throws {
        let certs = try TestCertificates.make()
        defer { certs.remove() }
        let config = try BrokerConfig(overrides: [
            ("listeners", "SSL://localhost:0"), ("ssl.keystore.location", certs.serverKeystore),
            ("ssl.truststore.location", certs.caCertificate), ("ssl.client.auth", "required"),
        ])
        let settings = try ListenerTLSSettings.load(from: config, listener: "SSL")
        #expect(settings.certificateChain.count == 1)
        #expect(settings.trustedCertificates?.count == 1)
        #expect(settings.clientAuth == .required)
        #expect(settings.minimumVersion == .tlsv12 && settings.maximumVersion == .tlsv13)
        #expect(settings.cipherSuites == nil)
        let restricted = try BrokerConfig(overrides: [
            ("listeners", "SSL://localhost:0"), ("ssl.keystore.location", certs.serverKeystore),
            ("ssl.cipher.suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256"),
        ])
        #expect(try ListenerTLSSettings.load(from: restricted, listener: "SSL").cipherSuites == [.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384])
        #expect(try config.serverTLSContexts(for: config.listeners).keys.sorted() == ["SSL"])
    }

    @Test func inlinePEMAndEncryptedKeys() throws {
        let certs = try TestCertificates.make()
        defer { certs.remove() }
        let chain = try String(contentsOfFile: certs.serverCertificate, encoding: .utf8)
        let encrypted = try String(contentsOfFile: certs.serverEncryptedKey, encoding: .utf8)
        let base: [(key: String, value: String)] = [("listeners", "SSL://localhost:0"), ("ssl.keystore.certificate.chain", chain),
                                                    ("ssl.keystore.key", encrypted)]
        _ = try BrokerConfig(overrides: base + [("ssl.key.password", "secret")])
        let wrong = #expect(throws: ConfigError.self) { try BrokerConfig(overrides: base + [("ssl.key.password", "nope")]) }
        #expect(key(of: wrong) == "ssl.keystore.key")
        let missing = #expect(throws: ConfigError.self) { try BrokerConfig(overrides: base) }
        #expect(missing?.description.contains("ssl.key.password") == true)
        // The password must not appear in the message.
        #expect(wrong?.description.contains("nope") == false)
    }

    @Test func startupErrorsNameTheKey() throws {
        let certs = try TestCertificates.make()
        defer { certs.remove() }
        let garbage = "\(certs.directory)/garbage.pem"
        try "not a certificate\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        let mismatched = "\(certs.directory)/mismatched.pem"
        try (String(contentsOfFile: certs.otherKey, encoding: .utf8) + String(contentsOfFile: certs.serverCertificate, encoding: .utf8))
            .write(toFile: mismatched, atomically: true, encoding: .utf8)
        let ssl: [(key: String, value: String)] = [("listeners", "SSL://localhost:0")]
        let cases: [(overrides: [(key: String, value: String)], key: String, mentions: String)] = [
            (ssl, "ssl.keystore.location", "ssl.keystore.location"),
            (ssl + [("ssl.keystore.location", "\(certs.directory)/missing.pem")], "ssl.keystore.location", "not readable"),
            (ssl + [("ssl.keystore.location", garbage)], "ssl.keystore.location", "PEM"),
            (ssl + [("ssl.keystore.location", mismatched)], "ssl.keystore.location", "does not match"),
            (ssl + [("ssl.keystore.location", certs.serverKeystore), ("ssl.keystore.type", "JKS")], "ssl.keystore.type", "only PEM"),
            (ssl + [("ssl.keystore.location", certs.serverKeystore), ("ssl.truststore.type", "PKCS12")], "ssl.truststore.type", "only PEM"),
            (ssl + [("ssl.keystore.location", certs.serverKeystore), ("ssl.truststore.location", garbage)], "ssl.truststore.location", "PEM"),
            (ssl + [("ssl.keystore.location", certs.serverKeystore), ("ssl.client.auth", "required")], "ssl.client.auth", "trust store"),
            (ssl + [("ssl.keystore.location", certs.serverKeystore), ("ssl.enabled.protocols", "TLSv1.1")], "ssl.enabled.protocols", "TLSv1.2"),
            (ssl + [("ssl.keystore.location", certs.serverKeystore), ("ssl.cipher.suites", "TLS_RSA_WITH_RC4_128_MD5")], "ssl.cipher.suites",
             "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
            (ssl + [("listener.name.ssl.ssl.keystore.location", garbage)], "listener.name.ssl.ssl.keystore.location", "PEM"),
            ([("listeners", "PLAINTEXT://:1"), ("inter.broker.listener.name", "INTERNAL")], "inter.broker.listener.name", "listeners"),
        ]
        for c in cases {
            let error = #expect(throws: ConfigError.self, "\(c.key)") { try BrokerConfig(overrides: c.overrides) }
            #expect(key(of: error) == c.key, "\(String(describing: error))")
            #expect(error?.description.contains(c.mentions) == true, "\(String(describing: error))")
        }
    }

    @Test func perListenerKeysOverrideTheBrokerWideOnes() throws {
        let certs = try TestCertificates.make()
        defer { certs.remove() }
        let config = try BrokerConfig(overrides: [
            ("listeners", "PLAINTEXT://:0,EXTERNAL://localhost:0"), ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,EXTERNAL:SSL"),
            ("ssl.keystore.location", "\(certs.directory)/not-used.pem"),
            ("listener.name.external.ssl.keystore.location", certs.serverKeystore),
            ("listener.name.external.ssl.client.auth", "requested"), ("ssl.truststore.location", certs.caCertificate),
        ])
        #expect(config.string("ssl.keystore.location", listener: "EXTERNAL") == certs.serverKeystore)
        #expect(config.string("ssl.client.auth", listener: "EXTERNAL") == "requested")
        #expect(config.string("ssl.client.auth", listener: "PLAINTEXT") == "none")
        #expect(try ListenerTLSSettings.load(from: config, listener: "EXTERNAL").clientAuth == .requested)
        // Only ssl.* keys have a per-listener form.
        #expect(throws: ConfigError.unknownKey("listener.name.external.num.partitions", scope: .broker)) {
            try BrokerConfig(overrides: [("listener.name.external.num.partitions", "3")])
        }
    }

    @Test func interBrokerListenerPicksTheNamedListener() throws {
        let config = try BrokerConfig(overrides: [
            ("listeners", "PLAINTEXT://:0,INTERNAL://:0"), ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT"),
            ("inter.broker.listener.name", "internal"),
        ])
        #expect(NodeTLS.interBrokerListenerName(config) == "INTERNAL")
        #expect(NodeTLS.interBrokerListenerName(try BrokerConfig()) == "PLAINTEXT")
        #expect(try NodeTLS.forListener("INTERNAL", config: config) == nil)
    }

    @Test func certificateSubjectPrintsAsRFC2253() throws {
        let certs = try TestCertificates.make()
        defer { certs.remove() }
        #expect(try subject(certs.aliceCertificate) == "CN=alice,OU=eng,O=Acme")
        #expect(try subject(certs.serverCertificate) == "CN=localhost")
        // Java's X500Principal.getName(RFC2253): escapes, a multi-valued RDN, and an attribute
        // without a keyword (emailAddress, an IA5String) as #hex of its DER encoding.
        let tricky = try certs.selfSigned(subject: "/C=US/O=Acme, Inc./OU=a\\+b/CN=x+UID=7/emailAddress=x@y.z", name: "tricky")
        #expect(try subject(tricky) == "1.2.840.113549.1.9.1=#16057840792e7a,CN=x+UID=7,OU=a\\+b,O=Acme\\, Inc.,C=US")
        #expect(throws: DistinguishedName.ParseError.self) { try DistinguishedName.subject(ofCertificate: [0x30, 0x05, 0x01]) }
        #expect(DistinguishedName.escape(" #a;b ") == "\\ #a\\;b\\ ")
        #expect(DistinguishedName.escape("#x") == "\\#x")
    }

    private func subject(_ path: String) throws -> String {
        let der = try NIOSSLCertificate.fromPEMFile(path)[0].toDERBytes()
        return try DistinguishedName.subject(ofCertificate: der).rfc2253
    }

    private func key(of error: ConfigError?) -> String? {
        guard case .invalidValue(let key, _, _)? = error else { return nil }
        return key
    }
}
