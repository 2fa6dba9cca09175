import Foundation
import NIOCore
import NIOSSL
import NIOTLS

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

    /// Adds the TLS handler and a ``TLSHandshakeWaiter`` to a new connection to `host`. A host name
    /// is sent as SNI and checked against the certificate's names; an IP address against its IP SANs.
    /// - Parameter handshake: completed when the handshake has; failed with
    ///   ``ClientError/brokerUnreachable(address:reason:)`` naming BoringSSL's reason.
    func addHandlers(to channel: any Channel, host: String, address: String, handshake: EventLoopPromise<Void>) throws {
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host))
        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(address: address, handshake: handshake))
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

/// Reports the end of a client connection's TLS handshake, and turns a TLS failure into
/// ``ClientError/brokerUnreachable(address:reason:)`` with BoringSSL's reason
/// (`CERTIFICATE_VERIFY_FAILED`...), so the caller sees why instead of "connection closed". The
/// connection waits for it before its first request: a request written earlier would fail with
/// the write, before the reason is known.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let address: String
    private let handshake: EventLoopPromise<Void>
    private var done = false

    init(address: String, handshake: EventLoopPromise<Void>) {
        self.address = address
        self.handshake = handshake
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls { complete(nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(ClientError.connectionClosed(address: address))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        complete(ClientError.connectionClosed(address: address))
    }

    private func complete(_ error: (any Error)?) {
        guard !done else { return }
        done = true
        if let error { handshake.fail(error) } else { handshake.succeed() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError else {
            complete(error)
            context.fireErrorCaught(error)
            return
        }
        let text = "\(error)"
        let reasons = text.components(separatedBy: "OPENSSL_internal:").dropFirst().map { part in
            // "CERTIFICATE_VERIFY_FAILED at /path/handshake.cc:320]": the reason only.
            String(part.prefix { $0 != "]" && $0 != "," && $0 != ")" && $0 != " " })
        }
        let reason = "TLS handshake failed: " + (reasons.isEmpty ? text : reasons.joined(separator: ", "))
        let translated = ClientError.brokerUnreachable(address: address, reason: reason)
        complete(translated)
        context.fireErrorCaught(translated)
    }
}
