import Foundation
import Testing
@testable import RunnelClient

/// RunnelClient over TLS against an in-process broker with an SSL listener that requires client
/// certificates; the CA and certificates are made with the `openssl` command.
@Suite("RunnelClient over TLS", .serialized)
struct TLSEndToEndTests {
    /// A CA, a server certificate for localhost and 127.0.0.1, a client certificate, and a second
    /// CA the server does not chain to.
    static func makeCertificates() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-tls-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", """
            set -e; cd '\(directory)'
            openssl req -x509 \(ec) -keyout ca.key -out ca.pem -days 2 -subj '/CN=CA'
            openssl req -x509 \(ec) -keyout rogue.key -out rogue.pem -days 2 -subj '/CN=Rogue CA'
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext
            openssl req \(ec) -keyout server.key -out server.csr -subj '/CN=localhost'
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext
            cat server.key server.pem > keystore.pem
            openssl req \(ec) -keyout alice.key -out alice.csr -subj '/CN=alice'
            openssl x509 -req -in alice.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out alice.pem -days 2
            """]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return directory
    }

    @Test("a client with the CA and a client certificate creates a topic and produces; wrong settings are refused")
    func roundTrip() async throws {
        let pki = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: pki) }
        let broker = try await InProcessBroker.start(overrides: [
            ("listeners", "SSL://127.0.0.1:{port}"), ("ssl.keystore.location", "\(pki)/keystore.pem"),
            ("ssl.truststore.location", "\(pki)/ca.pem"), ("ssl.client.auth", "required"),
        ])
        defer { Task { await broker.stop() } }
        let tls: [String: String] = [
            "bootstrap.servers": broker.bootstrap, "security.protocol": "SSL", "ssl.ca.location": "\(pki)/ca.pem",
            "ssl.certificate.location": "\(pki)/alice.pem", "ssl.key.location": "\(pki)/alice.key",
        ]
        // Typed settings, as docs/security.md shows them.
        let port = Int(broker.bootstrap.split(separator: ":").last ?? "") ?? 0
        var config = ClientConfiguration(bootstrapServers: [BrokerAddress(host: "localhost", port: port)])
        config.securityProtocol = .ssl
        config.tls = TLSSettings(caLocation: "\(pki)/ca.pem", certificateLocation: "\(pki)/alice.pem", keyLocation: "\(pki)/alice.key")
        let admin = Admin(configuration: config)
        try await admin.createTopics([NewTopic(name: "secure", partitions: 1)])
        let producer = Producer(configuration: try ProducerConfiguration(properties: tls))
        for i in 0..<3 {
            let metadata = try await producer.send(ProducerRecord(topic: "secure", key: "k", value: "over TLS \(i)"))
            #expect(metadata.offset == Int64(i))
        }
        await producer.close()
        #expect(try await admin.listTopics().contains("secure"))

        // The broker's certificate does not chain to the CA this client trusts.
        var rogue = tls
        rogue["ssl.ca.location"] = "\(pki)/rogue.pem"
        rogue["request.timeout.ms"] = "3000"
        let refused = Admin(configuration: try ClientConfiguration(properties: rogue))
        do {
            _ = try await refused.listTopics()
            Issue.record("a client that does not trust the broker's CA connected")
        } catch let error as ClientError {
            #expect("\(error)".contains("CERTIFICATE_VERIFY_FAILED"), "\(error)")
        }
        // Plain TCP to the SSL listener gets no answer.
        var plain = ["bootstrap.servers": broker.bootstrap, "request.timeout.ms": "3000"]
        plain["socket.connection.setup.timeout.ms"] = "3000"
        await #expect(throws: ClientError.self) { _ = try await Admin(configuration: try ClientConfiguration(properties: plain)).listTopics() }
    }

    @Test("SASL_SSL: the TLS handshake, then PLAIN inside it; TLS alone or a wrong password is refused")
    func saslOverTLS() async throws {
        let pki = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: pki) }
        let jaas = #"org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";"#
        let broker = try await InProcessBroker.start(overrides: [
            ("listeners", "SASL_SSL://127.0.0.1:{port}"), ("ssl.keystore.location", "\(pki)/keystore.pem"),
            ("ssl.truststore.location", "\(pki)/ca.pem"), ("sasl.enabled.mechanisms", "PLAIN"),
            ("listener.name.sasl_ssl.plain.sasl.jaas.config", jaas), ("connection.failed.authentication.delay.ms", "0"),
        ])
        defer { Task { await broker.stop() } }
        let properties: [String: String] = [
            "bootstrap.servers": broker.bootstrap, "security.protocol": "SASL_SSL", "ssl.ca.location": "\(pki)/ca.pem",
            "sasl.mechanism": "PLAIN", "sasl.username": "alice", "sasl.password": "alice-secret", "request.timeout.ms": "5000",
        ]
        let admin = Admin(configuration: try ClientConfiguration(properties: properties))
        try await admin.createTopics([NewTopic(name: "sasl-ssl", partitions: 1)])
        let producer = Producer(configuration: try ProducerConfiguration(properties: properties))
        let metadata = try await producer.send(ProducerRecord(topic: "sasl-ssl", key: "k", value: "inside TLS"))
        #expect(metadata.offset == 0)
        await producer.close()

        var wrong = properties
        wrong["sasl.password"] = "guess"
        do {
            _ = try await Admin(configuration: try ClientConfiguration(properties: wrong)).listTopics()
            Issue.record("a wrong password authenticated")
        } catch let error as ClientError {
            #expect("\(error)".lowercased().contains("authentication"), "\(error)")
        }
        // TLS without SASL: the handshake succeeds, but the first request closes the connection.
        var tlsOnly = properties
        tlsOnly["security.protocol"] = "SSL"
        for key in ["sasl.mechanism", "sasl.username", "sasl.password"] { tlsOnly[key] = nil }
        tlsOnly["socket.connection.setup.timeout.ms"] = "3000"
        await #expect(throws: ClientError.self) { _ = try await Admin(configuration: try ClientConfiguration(properties: tlsOnly)).listTopics() }
    }
}
