import Foundation
import NIOCore
import NIOSSL

/// The TLS side of a client's connections (``SecurityProtocol/ssl``): one `NIOSSLContext` built
/// from ``TLSSettings`` and shared by every connection of a client.
struct ClientTLS: Sendable {
    let context: NIOSSLContext
    let verifiesHostname: Bool

    /// Loads the PEM files of `settings`.
    /// - Throws: ``ClientError/invalidConfiguration(property:value:reason:)`` naming the property
    ///   whose file cannot be read or used.
    init(_ settings: TLSSettings) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = settings.verifiesHostname ? .fullVerification : .noHostnameVerification
        if let ca = settings.caLocation {
            configuration.trustRoots = .certificates(try Self.certificates(ca, property: "ssl.ca.location"))
        }
        if let certificate = settings.certificateLocation, let key = settings.keyLocation {
            configuration.certificateChain = try Self.certificates(certificate, property: "ssl.certificate.location").map { .certificate($0) }
            let password = Array((settings.keyPassword ?? "").utf8)
            do {
                // Always a passphrase callback: without one BoringSSL would prompt on stdin.
                let privateKey = try NIOSSLPrivateKey(bytes: try Self.read(key, property: "ssl.key.location"), format: .pem) { $0(password) }
                configuration.privateKey = .privateKey(privateKey)
            } catch let error as ClientError {
                throw error
            } catch {
                throw ClientError.invalidConfiguration(property: "ssl.key.location", value: key,
                                                       reason: "no usable PEM private key (is ssl.key.password right?): \(error)")
            }
        }
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ClientError.invalidConfiguration(property: "ssl.key.location", value: settings.keyLocation ?? "",
                                                   reason: "the key does not match the certificate or cannot be used: \(error)")
        }
        verifiesHostname = settings.verifiesHostname
    }

    /// Adds the TLS handler and the error translator to a new connection to `host`. A host name is
    /// sent as SNI and checked against the certificate's names; an IP address against its IP SANs.
    func addHandlers(to channel: any Channel, host: String, address: String) throws {
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host))
        try channel.pipeline.syncOperations.addHandler(TLSErrorTranslator(address: address))
    }

    private static func read(_ path: String, property: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClientError.invalidConfiguration(property: property, value: path, reason: "the file does not exist or is not readable")
        }
        return Array(data)
    }

    private static func certificates(_ path: String, property: String) throws -> [NIOSSLCertificate] {
        let certificates = try? NIOSSLCertificate.fromPEMBytes(try read(path, property: property))
        guard let certificates, !certificates.isEmpty else {
            throw ClientError.invalidConfiguration(property: property, value: path, reason: "no PEM certificate could be read")
        }
        return certificates
    }
}

/// Turns a TLS failure into ``ClientError/brokerUnreachable(address:reason:)`` with BoringSSL's
/// reason (`CERTIFICATE_VERIFY_FAILED`...), so the caller sees why instead of "connection closed".
final class TLSErrorTranslator: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let address: String

    init(address: String) { self.address = address }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError else {
            context.fireErrorCaught(error)
            return
        }
        let text = "\(error)"
        let reasons = text.components(separatedBy: "OPENSSL_internal:").dropFirst().map { part in
            // "CERTIFICATE_VERIFY_FAILED at /path/handshake.cc:320]": the reason only.
            String(part.prefix { $0 != "]" && $0 != "," && $0 != ")" && $0 != " " })
        }
        let reason = "TLS handshake failed: " + (reasons.isEmpty ? text : reasons.joined(separator: ", "))
        context.fireErrorCaught(ClientError.brokerUnreachable(address: address, reason: reason))
    }
}
