import Foundation
import NIOCore
import NIOSSL
import NIOTLS

/// Sits right after the `NIOSSLServerHandler` of an SSL or SASL_SSL listener's connection and
/// reports how the TLS handshake ended: with the connection's principal (`User:<subject DN>` for
/// a verified client certificate, `User:ANONYMOUS` without one), or with the handshake's error.
/// The connection's task waits for it before reading requests.
final class TLSHandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Why a TLS connection never got to send requests.
    enum Failure: Error, CustomStringConvertible {
        /// The handshake failed (untrusted, expired or missing certificate, a non-TLS client...).
        case handshake(reason: String)
        /// The peer closed the connection before the handshake completed.
        case closedBeforeHandshake

        var description: String {
            switch self {
            case .handshake(let reason): return reason
            case .closedBeforeHandshake: return "connection closed before the TLS handshake completed"
            }
        }
    }

    private let promise: EventLoopPromise<KafkaPrincipal>
    private var done = false

    private init(promise: EventLoopPromise<KafkaPrincipal>) { self.promise = promise }

    /// Adds the TLS handler and the observer to a new connection's pipeline, before any framing.
    /// - Returns: the handshake's outcome: the principal, or a ``Failure``.
    static func install(on channel: any Channel, context: NIOSSLContext) throws -> EventLoopFuture<KafkaPrincipal> {
        let promise = channel.eventLoop.makePromise(of: KafkaPrincipal.self)
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        try channel.pipeline.syncOperations.addHandler(TLSHandshakeObserver(promise: promise))
        return promise.futureResult
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            let ssl = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
            complete(.success(Self.principal(of: ssl?.peerCertificate)))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A peer that connects and closes (a port probe, a client giving up) is no handshake failure.
        let closed = error as? NIOSSLError == .uncleanShutdown || "\(error)".contains("EOF during handshake")
        complete(.failure(closed ? Failure.closedBeforeHandshake : Failure.handshake(reason: Self.reason(error))))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(.failure(Failure.closedBeforeHandshake))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        complete(.failure(Failure.closedBeforeHandshake))
    }

    private func complete(_ result: Result<KafkaPrincipal, any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }

    /// `User:<subject DN, RFC 2253>` for a client certificate (the handshake verified it against
    /// the trust store), `User:ANONYMOUS` without one (Kafka's `DefaultKafkaPrincipalBuilder` with
    /// `ssl.principal.mapping.rules=DEFAULT`).
    static func principal(of certificate: NIOSSLCertificate?) -> KafkaPrincipal {
        guard let certificate, let der = try? certificate.toDERBytes(),
              let subject = try? DistinguishedName.subject(ofCertificate: der) else { return .anonymous }
        return KafkaPrincipal(name: subject.rfc2253)
    }

    /// BoringSSL's reason (`CERTIFICATE_VERIFY_FAILED`, `WRONG_VERSION_NUMBER`...) without the
    /// error-queue wrapping around it, else the error as NIO describes it.
    static func reason(_ error: any Error) -> String {
        let text = "\(error)"
        let reasons = text.components(separatedBy: "OPENSSL_internal:").dropFirst().map { part in
            // "CERTIFICATE_VERIFY_FAILED at /path/handshake.cc:320]": the reason only.
            String(part.prefix { $0 != "]" && $0 != "," && $0 != ")" && $0 != " " })
        }
        return reasons.isEmpty ? text : reasons.joined(separator: ", ")
    }
}
