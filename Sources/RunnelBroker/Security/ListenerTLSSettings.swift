import Foundation
import NIOSSL

/// The TLS material and rules of one listener, read from Kafka's `ssl.*` broker keys in their PEM
/// form (KIP-651), each overridable per listener as `listener.name.<lowercase name>.ssl.*`.
///
/// Loading checks everything a handshake would need, so a bad file stops the broker at start-up
/// with an error naming the key instead of failing every connection later: unreadable files, text
/// without PEM blocks, an encrypted key without (or with a wrong) `ssl.key.password`, a key that
/// does not belong to the first certificate of the chain, and key store types other than PEM.
struct ListenerTLSSettings: Sendable {
    /// `ssl.client.auth`.
    enum ClientAuth: String, Sendable {
        case none, requested, required
    }

    /// The listener these settings belong to (upper-cased).
    var listenerName: String
    /// The certificate chain, leaf first, this node presents (as server, and as client to other nodes).
    var certificateChain: [NIOSSLCertificate]
    var privateKey: NIOSSLPrivateKey
    /// CA certificates peers' certificates must chain to; nil when no trust store is configured.
    var trustedCertificates: [NIOSSLCertificate]?
    var clientAuth: ClientAuth
    var minimumVersion: TLSVersion
    var maximumVersion: TLSVersion
    /// `ssl.endpoint.identification.algorithm` is `https`: as a client, check the peer's host name.
    var verifiesHostname: Bool
    /// `ssl.cipher.suites` for TLS 1.2, nil for BoringSSL's defaults (TLS 1.3 suites are always on).
    var cipherSuites: [NIOTLSCipher]? = nil

    /// Reads and checks the settings of `listener`.
    /// - Throws: ``ConfigError/invalidValue(key:value:reason:)`` or
    ///   ``ConfigError/unreadableFile(path:reason:)`` naming the key (with its `listener.name.`
    ///   prefix when the per-listener value is the one used).
    static func load(from config: BrokerConfig, listener: String) throws -> ListenerTLSSettings {
        let keys = Keys(config: config, listener: listener)
        for storeType in ["ssl.keystore.type", "ssl.truststore.type"] {
            let value = keys.value(storeType) ?? "PEM"
            guard value.uppercased() == "PEM" else {
                throw ConfigError.invalidValue(key: keys.name(storeType), value: value,
                                               reason: "only PEM key and trust stores are supported (KIP-651); convert \(value) with openssl (see docs/security.md)")
            }
        }
        let password = keys.value("ssl.key.password")
        let (chain, key) = try loadKeystore(keys, password: password)
        let trusted = try loadTruststore(keys)
        let clientAuth = ClientAuth(rawValue: keys.value("ssl.client.auth") ?? "none") ?? .none
        if clientAuth != .none, trusted == nil {
            throw ConfigError.invalidValue(key: keys.name("ssl.client.auth"), value: clientAuth.rawValue,
                                           reason: "client certificates need a trust store: set ssl.truststore.location or ssl.truststore.certificates")
        }
        let (minimum, maximum) = try protocolRange(keys)
        let algorithm = (keys.value("ssl.endpoint.identification.algorithm") ?? "https").lowercased()
        guard ["https", "", "none"].contains(algorithm) else {
            throw ConfigError.invalidValue(key: keys.name("ssl.endpoint.identification.algorithm"), value: algorithm,
                                           reason: "expected https, or empty (none) to turn host name checks off")
        }
        let settings = ListenerTLSSettings(listenerName: listener.uppercased(), certificateChain: chain, privateKey: key,
                                           trustedCertificates: trusted, clientAuth: clientAuth, minimumVersion: minimum,
                                           maximumVersion: maximum, verifiesHostname: algorithm == "https",
                                           cipherSuites: try cipherSuites(keys))
        // BoringSSL checks that the key belongs to the leaf certificate when both are set.
        do {
            _ = try settings.serverContext()
        } catch {
            throw ConfigError.invalidValue(key: keys.keystoreKeyName, value: keys.keystoreDescription,
                                           reason: "the private key does not match the first certificate of the chain, or cannot be used (\(error))")
        }
        return settings
    }

    /// The server side of a listener: presents the key store; with `ssl.client.auth` requested or
    /// required, asks for a client certificate that must chain to the trust store.
    func serverContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: certificateChain.map { .certificate($0) },
                                                                      privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = minimumVersion
        configuration.maximumTLSVersion = maximumVersion
        if let cipherSuites { configuration.cipherSuiteValues = cipherSuites }
        switch clientAuth {
        case .none: configuration.certificateVerification = .none
        case .requested: configuration.certificateVerification = .optionalVerification
        case .required: configuration.certificateVerification = .noHostnameVerification
        }
        if let trustedCertificates { configuration.trustRoots = .certificates(trustedCertificates) }
        return try NIOSSLContext(configuration: configuration)
    }

    /// The client side, for this node's connections to another node's listener of this name:
    /// presents the key store as client certificate and verifies the peer against the trust store
    /// (the system's roots when none is set), with host name checks when `verifiesHostname`.
    func clientContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateChain = certificateChain.map { .certificate($0) }
        configuration.privateKey = .privateKey(privateKey)
        configuration.minimumTLSVersion = minimumVersion
        configuration.maximumTLSVersion = maximumVersion
        if let cipherSuites { configuration.cipherSuiteValues = cipherSuites }
        configuration.certificateVerification = verifiesHostname ? .fullVerification : .noHostnameVerification
        if let trustedCertificates { configuration.trustRoots = .certificates(trustedCertificates) }
        return try NIOSSLContext(configuration: configuration)
    }

    // MARK: Loading

    private static func loadKeystore(_ keys: Keys, password: String?) throws -> ([NIOSSLCertificate], NIOSSLPrivateKey) {
        let location = keys.value("ssl.keystore.location")
        let inlineChain = keys.value("ssl.keystore.certificate.chain")
        let inlineKey = keys.value("ssl.keystore.key")
        let chainBytes: [UInt8]
        let keyBytes: [UInt8]
        let chainKey: String
        let keyKey: String
        switch (location, inlineChain, inlineKey) {
        case (let path?, nil, nil):
            chainBytes = try readFile(path, key: keys.name("ssl.keystore.location"))
            keyBytes = chainBytes
            chainKey = keys.name("ssl.keystore.location")
            keyKey = chainKey
        case (nil, let chain?, let key?):
            chainBytes = Array(chain.utf8)
            keyBytes = Array(key.utf8)
            chainKey = keys.name("ssl.keystore.certificate.chain")
            keyKey = keys.name("ssl.keystore.key")
        case (nil, nil, nil):
            throw ConfigError.invalidValue(key: keys.name("ssl.keystore.location"), value: "",
                                           reason: "listener \(keys.listener) uses TLS: set ssl.keystore.location, or ssl.keystore.certificate.chain and ssl.keystore.key")
        default:
            throw ConfigError.invalidValue(key: keys.name("ssl.keystore.location"), value: location ?? "",
                                           reason: "set either ssl.keystore.location or both ssl.keystore.certificate.chain and ssl.keystore.key")
        }
        let chain = try certificates(chainBytes, key: chainKey, shown: location ?? "<inline PEM>")
        let privateKey: NIOSSLPrivateKey
        do {
            let passwordBytes = Array((password ?? "").utf8)
            // Always give a passphrase callback: without one BoringSSL would prompt on stdin.
            privateKey = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem) { setter in setter(passwordBytes) }
        } catch {
            let reason = password == nil
                ? "no usable PEM private key (an encrypted key needs ssl.key.password): \(error)"
                : "no usable PEM private key, or ssl.key.password does not decrypt it: \(error)"
            throw ConfigError.invalidValue(key: keyKey, value: location ?? "<inline PEM>", reason: reason)
        }
        return (chain, privateKey)
    }

    private static func loadTruststore(_ keys: Keys) throws -> [NIOSSLCertificate]? {
        switch (keys.value("ssl.truststore.location"), keys.value("ssl.truststore.certificates")) {
        case (nil, nil):
            return nil
        case (let path?, nil):
            return try certificates(try readFile(path, key: keys.name("ssl.truststore.location")), key: keys.name("ssl.truststore.location"), shown: path)
        case (nil, let text?):
            return try certificates(Array(text.utf8), key: keys.name("ssl.truststore.certificates"), shown: "<inline PEM>")
        case (let path?, _?):
            throw ConfigError.invalidValue(key: keys.name("ssl.truststore.location"), value: path,
                                           reason: "set either ssl.truststore.location or ssl.truststore.certificates, not both")
        }
    }

    /// - Parameter shown: the path or `<inline PEM>`, never the text (a key store holds the key).
    private static func certificates(_ bytes: [UInt8], key: String, shown: String) throws -> [NIOSSLCertificate] {
        let certificates = try? NIOSSLCertificate.fromPEMBytes(bytes)
        guard let certificates, !certificates.isEmpty else {
            throw ConfigError.invalidValue(key: key, value: shown,
                                           reason: "no PEM certificate (-----BEGIN CERTIFICATE-----) could be read")
        }
        return certificates
    }

    private static func readFile(_ path: String, key: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError.invalidValue(key: key, value: path, reason: "the file does not exist or is not readable")
        }
        return Array(data)
    }

    /// TLS 1.2 cipher suites by their IANA names, as Kafka (Java) takes them in `ssl.cipher.suites`.
    static let namedCipherSuites: [String: NIOTLSCipher] = [
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": .TLS_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_RSA_WITH_AES_256_GCM_SHA384": .TLS_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_RSA_WITH_AES_128_CBC_SHA": .TLS_RSA_WITH_AES_128_CBC_SHA,
        "TLS_RSA_WITH_AES_256_CBC_SHA": .TLS_RSA_WITH_AES_256_CBC_SHA,
    ]

    /// TLS 1.3 suites: BoringSSL always enables them, so naming them changes nothing.
    static let tls13CipherSuites: Set<String> = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]

    /// `ssl.cipher.suites` as BoringSSL's TLS 1.2 suites; nil when unset (the defaults).
    private static func cipherSuites(_ keys: Keys) throws -> [NIOTLSCipher]? {
        guard let text = keys.value("ssl.cipher.suites") else { return nil }
        var suites: [NIOTLSCipher] = []
        for name in text.split(separator: ",").map({ String($0).trimmingWhitespace() }) where !name.isEmpty {
            if tls13CipherSuites.contains(name) { continue }
            guard let suite = namedCipherSuites[name] else {
                throw ConfigError.invalidValue(key: keys.name("ssl.cipher.suites"), value: name,
                                               reason: "unknown or unsupported cipher suite; supported: " + namedCipherSuites.keys.sorted().joined(separator: ", "))
            }
            suites.append(suite)
        }
        return suites.isEmpty ? nil : suites
    }

    /// TLS versions from `ssl.enabled.protocols` as the range BoringSSL takes.
    private static func protocolRange(_ keys: Keys) throws -> (TLSVersion, TLSVersion) {
        let text = keys.value("ssl.enabled.protocols") ?? "TLSv1.2,TLSv1.3"
        var versions: [TLSVersion] = []
        for name in text.split(separator: ",").map({ String($0).trimmingWhitespace() }) where !name.isEmpty {
            switch name {
            case "TLSv1.2": versions.append(.tlsv12)
            case "TLSv1.3": versions.append(.tlsv13)
            default:
                throw ConfigError.invalidValue(key: keys.name("ssl.enabled.protocols"), value: text,
                                               reason: "supported versions are TLSv1.2 and TLSv1.3")
            }
        }
        guard !versions.isEmpty else {
            throw ConfigError.invalidValue(key: keys.name("ssl.enabled.protocols"), value: text, reason: "name at least one of TLSv1.2, TLSv1.3")
        }
        return (versions.contains(.tlsv12) ? .tlsv12 : .tlsv13, versions.contains(.tlsv13) ? .tlsv13 : .tlsv12)
    }

    /// Looks keys up for one listener and names them as the user wrote them.
    private struct Keys {
        let config: BrokerConfig
        let listener: String

        func value(_ key: String) -> String? {
            guard let v = config.string(key, listener: listener)?.trimmingWhitespace(), !v.isEmpty || key == "ssl.endpoint.identification.algorithm" else {
                return nil
            }
            return v
        }

        /// `key`, or its `listener.name.` form when the per-listener value is set.
        func name(_ key: String) -> String {
            let specific = BrokerConfig.listenerKey(key, listener: listener)
            return config.listenerValues[specific] != nil ? specific : key
        }

        var keystoreKeyName: String {
            value("ssl.keystore.location") != nil ? name("ssl.keystore.location") : name("ssl.keystore.key")
        }

        var keystoreDescription: String { value("ssl.keystore.location") ?? "<inline PEM>" }
    }
}
