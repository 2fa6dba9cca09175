import Foundation
import Testing
@testable import RunnelClient

@Suite("security.protocol and ssl.* client properties")
struct SecurityPropertiesTests {
    @Test("librdkafka's PEM file names map to TLSSettings, host name checks on by default")
    func librdkafkaNames() throws {
        let config = try ClientConfiguration(properties: [
            "security.protocol": "ssl", "ssl.ca.location": "/ca.pem", "ssl.certificate.location": "/alice.pem",
            "ssl.key.location": "/alice.key", "ssl.key.password": "secret",
        ])
        #expect(config.securityProtocol == .ssl)
        #expect(config.tls == TLSSettings(caLocation: "/ca.pem", certificateLocation: "/alice.pem", keyLocation: "/alice.key",
                                          keyPassword: "secret", verifiesHostname: true))
        #expect(ClientConfiguration().securityProtocol == .plaintext)
    }

    @Test("the Java client's PEM stores and ssl.endpoint.identification.algorithm")
    func javaNames() throws {
        let config = try ConsumerConfiguration(properties: [
            "security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": "/ca.pem",
            "ssl.keystore.type": "PEM", "ssl.keystore.location": "/keystore.pem", "ssl.endpoint.identification.algorithm": "",
        ])
        #expect(config.client.tls.caLocation == "/ca.pem")
        #expect(config.client.tls.certificateLocation == "/keystore.pem" && config.client.tls.keyLocation == "/keystore.pem")
        #expect(!config.client.tls.verifiesHostname)
        #expect(try !ClientConfiguration(properties: ["ssl.endpoint.identification.algorithm": "none"]).tls.verifiesHostname)
    }

    @Test("SASL_SSL sets both TLS and SASL; SSL alone sets no SASL")
    func saslOverTLS() throws {
        let config = try ClientConfiguration(properties: [
            "security.protocol": "SASL_SSL", "ssl.ca.location": "/ca.pem",
            "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "carol", "sasl.password": "carol-secret",
        ])
        #expect(config.securityProtocol == .saslSSL && config.securityProtocol.usesTLS)
        #expect(config.tls.caLocation == "/ca.pem")
        #expect(config.sasl == SaslConfiguration(mechanism: .scramSHA512, username: "carol", password: "carol-secret"))
        let plain = try ClientConfiguration(properties: ["security.protocol": "SASL_PLAINTEXT", "sasl.username": "a", "sasl.password": "b"])
        #expect(plain.securityProtocol == .saslPlaintext && !plain.securityProtocol.usesTLS && plain.sasl?.mechanism == .plain)
        #expect(try ClientConfiguration(properties: ["security.protocol": "SSL"]).sasl == nil)
        #expect(throws: ClientError.self) { try ClientConfiguration(properties: ["security.protocol": "SASL_SSL"]) }
    }

    @Test("unusable security settings are refused, naming the property")
    func refusals() {
        let cases: [[String: String]] = [
            ["security.protocol": "TLS"],
            ["ssl.keystore.type": "JKS"],
            ["ssl.truststore.type": "PKCS12"],
            ["ssl.endpoint.identification.algorithm": "ldap"],
            ["ssl.certificate.location": "/alice.pem"],
        ]
        for properties in cases {
            #expect(throws: ClientError.self, "\(properties)") { try ClientConfiguration(properties: properties) }
        }
    }

    @Test("missing or unreadable PEM files fail when TLS is set up, naming the property")
    func unreadableFiles() throws {
        let error = #expect(throws: ClientError.self) {
            try ClientTLS(TLSSettings(caLocation: "/nonexistent/ca.pem"))
        }
        guard case .invalidConfiguration(let property, _, _)? = error else {
            Issue.record("expected invalidConfiguration, got \(String(describing: error))")
            return
        }
        #expect(property == "ssl.ca.location")
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-garbage-\(UUID().uuidString).pem").path
        try "not PEM".write(toFile: garbage, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        #expect(throws: ClientError.invalidConfiguration(property: "ssl.ca.location", value: garbage, reason: "no PEM certificate could be read")) {
            try ClientTLS(TLSSettings(caLocation: garbage))
        }
    }
}
