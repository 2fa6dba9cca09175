import Foundation

/// A CA and certificates made with the `openssl` command in a temporary directory, for TLS tests.
struct TestCertificates {
    let directory: String

    var caCertificate: String { "\(directory)/ca.pem" }
    var serverCertificate: String { "\(directory)/server.pem" }
    var serverKey: String { "\(directory)/server.key" }
    /// The server's key and certificate in one file (`ssl.keystore.location`).
    var serverKeystore: String { "\(directory)/server-keystore.pem" }
    /// The server key encrypted (PKCS#8, password `secret`).
    var serverEncryptedKey: String { "\(directory)/server-enc.key" }
    /// A key that does not belong to the server certificate.
    var otherKey: String { "\(directory)/other.key" }
    /// A client certificate with subject `O=Acme, OU=eng, CN=alice` (encoding order).
    var aliceCertificate: String { "\(directory)/alice.pem" }

    /// Makes the files; throws when `openssl` fails.
    static func make() throws -> TestCertificates {
        let directory = try makeTemporaryDirectory()
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        try shell("""
            set -e
            cd '\(directory)'
            openssl req -x509 \(ec) -keyout ca.key -out ca.pem -days 2 -subj '/CN=Runnel Test CA'
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext
            openssl req \(ec) -keyout server.key -out server.csr -subj '/CN=localhost'
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext
            cat server.key server.pem > server-keystore.pem
            openssl pkcs8 -topk8 -in server.key -out server-enc.key -passout pass:secret
            openssl req \(ec) -keyout other.key -out other.csr -subj '/CN=other'
            openssl req \(ec) -keyout alice.key -out alice.csr -subj '/O=Acme/OU=eng/CN=alice'
            openssl x509 -req -in alice.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out alice.pem -days 2
            """)
        return TestCertificates(directory: directory)
    }

    /// Makes a self-signed certificate with `subject` (openssl's `/K=V/...` form) and returns its PEM path.
    func selfSigned(subject: String, name: String) throws -> String {
        try shell("""
            cd '\(directory)' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout \(name).key -out \(name).pem -days 2 -subj '\(subject)' -multivalue-rdn
            """)
        return "\(directory)/\(name).pem"
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    private static func shell(_ script: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "openssl failed: \(script)"])
        }
    }

    private func shell(_ script: String) throws { try Self.shell(script) }
}
