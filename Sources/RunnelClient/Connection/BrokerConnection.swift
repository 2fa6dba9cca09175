import KafkaProtocol
import NIOCore
import NIOPosix

/// One TCP connection to one broker, after the ApiVersions handshake.
///
/// Requests may be sent from any task and are pipelined: several can be in flight at once, and
/// the broker answers them in order (protocol guide, "The Client-Server Protocol"). Each request
/// uses the highest version both sides support, from ``ClientApis/negotiate(_:)``.
final class BrokerConnection: Sendable {
    let address: BrokerAddress
    /// The broker id from Metadata, or `nil` for a bootstrap connection.
    let brokerID: Int32?
    private let channel: any Channel
    /// Negotiated version range per API.
    let versions: [ApiKey: ClosedRange<Int16>]
    let requestTimeout: Duration

    private init(address: BrokerAddress, brokerID: Int32?, channel: any Channel,
                 versions: [ApiKey: ClosedRange<Int16>], requestTimeout: Duration) {
        self.address = address
        self.brokerID = brokerID
        self.channel = channel
        self.versions = versions
        self.requestTimeout = requestTimeout
    }

    /// Whether the TCP connection is still open.
    var isActive: Bool { channel.isActive }

    /// Connects, waits for the TLS handshake when `tls` is given (SSL, SASL_SSL), runs the
    /// ApiVersions handshake (KIP-35, KIP-511), then SASL authentication when `sasl` is set
    /// (KIP-152): TCP, then TLS, then SASL, then Kafka requests.
    /// - Throws: ``ClientError/brokerUnreachable(address:reason:)`` when the TCP connect fails or
    ///   the handshake gets no answer; ``ClientError/broker(code:message:context:)`` when SASL
    ///   authentication fails.
    static func connect(to address: BrokerAddress, brokerID: Int32?, group: any EventLoopGroup,
                        clientID: String, connectTimeout: Duration, requestTimeout: Duration,
                        tls: ClientTLS? = nil, sasl: SaslConfiguration? = nil) async throws -> BrokerConnection {
        let channel: any Channel
        // Completed by the connection's TLSHandshakeWaiter (promises may be completed from any loop).
        let tlsHandshake = tls.map { _ in group.any().makePromise(of: Void.self) }
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.nanoseconds(connectTimeout.nanoseconds))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls, let tlsHandshake {
                            try tls.addHandlers(to: channel, host: address.host, address: address.description, handshake: tlsHandshake)
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(ResponseFrameDecoder(maxFrameBytes: 1 << 30)))
                        try channel.pipeline.syncOperations.addHandler(
                            RequestHandler(clientID: clientID, address: address.description))
                    }
                }
                .connect(host: address.host, port: address.port).get()
        } catch {
            tlsHandshake?.fail(ClientError.brokerUnreachable(address: address.description, reason: "not connected"))
            throw ClientError.brokerUnreachable(address: address.description, reason: Self.describe(error))
        }
        do {
            if let tlsHandshake {
                try await withTLSTimeout(tlsHandshake.futureResult, channel: channel, timeout: requestTimeout)
            }
            let versions = try await handshake(channel: channel, address: address, timeout: requestTimeout)
            let connection = BrokerConnection(address: address, brokerID: brokerID, channel: channel,
                                              versions: versions, requestTimeout: requestTimeout)
            if let sasl {
                try await SaslClient.authenticate(sasl, address: address.description,
                                                  handshake: { try await connection.send($0) },
                                                  authenticate: { try await connection.send($0) })
            }
            return connection
        } catch {
            try? await channel.close()
            if let clientError = error as? ClientError, case .broker = clientError { throw clientError }
            if let clientError = error as? ClientError, case .brokerUnreachable = clientError { throw clientError }
            throw ClientError.brokerUnreachable(address: address.description, reason: "ApiVersions handshake failed: \(error)")
        }
    }

    /// Waits for the TLS handshake, closing the channel (which fails it) after `timeout`.
    private static func withTLSTimeout(_ handshake: EventLoopFuture<Void>, channel: any Channel, timeout: Duration) async throws {
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { channel.close(promise: nil) }
        defer { timer.cancel() }
        try await handshake.get()
    }

    /// Sends ApiVersions v3 and falls back to v0 when the broker is older (it then answers v0 with
    /// UNSUPPORTED_VERSION and its list, KIP-511).
    private static func handshake(channel: any Channel, address: BrokerAddress,
                                  timeout: Duration) async throws -> [ApiKey: ClosedRange<Int16>] {
        for version: Int16 in [3, 0] {
            let request = ApiVersionsRequest(clientSoftwareName: "runnel-swift", clientSoftwareVersion: "1.0")
            let body = request.encoded(apiKey: .apiVersions, version: version)
            let raw = try await roundTrip(channel: channel, address: address.description, apiKey: .apiVersions, version: version, body: body, timeout: timeout)
            // A broker that rejects the version answers in v0 (KIP-511).
            let response: ApiVersionsResponse
            if let decoded = try? ApiVersionsResponse.decode(raw, apiKey: .apiVersions, version: version) {
                response = decoded
            } else {
                response = try ApiVersionsResponse.decode(raw, apiKey: .apiVersions, version: 0)
            }
            if response.errorCode == .unsupportedVersion { continue }
            guard response.errorCode == .none else {
                throw ClientError.broker(code: response.errorCode, message: nil, context: "ApiVersions to \(address)")
            }
            return ClientApis.negotiate(response.apiKeys)
        }
        throw ClientError.unsupportedVersion(api: "ApiVersions", address: address.description)
    }

    private static func roundTrip(channel: any Channel, address: String, apiKey: ApiKey, version: Int16, body: ByteBuffer,
                                  timeout: Duration) async throws -> ByteBuffer {
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        submit(OutboundRequest(apiKey: apiKey, apiVersion: version, body: body, promise: promise, timeout: timeout),
               on: channel, address: address)
        return try await promise.futureResult.get()
    }

    /// Writes `request` and makes sure its response promise completes even when the write never
    /// reaches ``RequestHandler``: a write issued off the event loop just as the connection closes
    /// arrives after the pipeline was torn down, and NIO then fails only the write promise. Without
    /// this the response promise would never complete and its caller would wait forever (a
    /// producer batch stuck "in flight" blocked its partition and every epoch bump).
    /// Failing a promise the handler already completed does nothing.
    static func submit(_ request: OutboundRequest, on channel: any Channel, address: String,
                       written: EventLoopPromise<Void>? = nil) {
        let writePromise = written ?? channel.eventLoop.makePromise(of: Void.self)
        if let response = request.promise {
            writePromise.futureResult.whenFailure { _ in response.fail(ClientError.connectionClosed(address: address)) }
        }
        channel.writeAndFlush(request, promise: writePromise)
    }

    /// The version to use for `apiKey`: the highest both sides support.
    /// - Throws: ``ClientError/unsupportedVersion(api:address:)`` when there is none.
    func version(for apiKey: ApiKey) throws -> Int16 {
        guard let range = versions[apiKey] else {
            throw ClientError.unsupportedVersion(api: apiKey.description, address: address.description)
        }
        return range.upperBound
    }

    /// Sends `request` in the negotiated version (or `version` when given) and decodes the response.
    /// - Throws: ``ClientError`` for a timeout, a closed connection or an undecodable response.
    func send<R: KafkaRequest>(_ request: R, version: Int16? = nil, timeout: Duration? = nil) async throws -> R.Response {
        let version = try version ?? self.version(for: R.apiKey)
        let raw = try await Self.roundTrip(channel: channel, address: address.description, apiKey: R.apiKey, version: version,
                                           body: request.encoded(apiKey: R.apiKey, version: version),
                                           timeout: timeout ?? requestTimeout)
        do {
            return try R.Response.decode(raw, apiKey: R.apiKey, version: version)
        } catch {
            throw ClientError.malformedResponse(api: R.apiKey.description, reason: "\(error)")
        }
    }

    /// Writes `request` to the socket now, before this call returns, so requests written one
    /// after another from one task reach the broker in that order (which idempotent produce
    /// needs); the future completes with the decoded response.
    /// - Throws: ``ClientError/unsupportedVersion(api:address:)`` (the future fails with the
    ///   errors of ``send(_:version:timeout:)``).
    func write<R: KafkaRequest>(_ request: R) throws -> EventLoopFuture<R.Response> {
        let version = try self.version(for: R.apiKey)
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let (body, moreBody) = Self.encodedBody(request, version: version)
        Self.submit(OutboundRequest(apiKey: R.apiKey, apiVersion: version, body: body, moreBody: moreBody,
                                    promise: promise, timeout: requestTimeout),
                    on: channel, address: address.description)
        return promise.futureResult.flatMapThrowing { raw in
            do {
                return try R.Response.decode(raw, apiKey: R.apiKey, version: version)
            } catch {
                throw ClientError.malformedResponse(api: R.apiKey.description, reason: "\(error)")
            }
        }
    }

    /// Writes a request the broker does not answer (Produce with acks=0) now; the future
    /// completes once it is written.
    func writeWithoutResponse<R: KafkaRequest>(_ request: R) throws -> EventLoopFuture<Void> {
        let version = try self.version(for: R.apiKey)
        let written = channel.eventLoop.makePromise(of: Void.self)
        let (body, moreBody) = Self.encodedBody(request, version: version)
        Self.submit(OutboundRequest(apiKey: R.apiKey, apiVersion: version, body: body, moreBody: moreBody,
                                    promise: nil, timeout: requestTimeout),
                    on: channel, address: address.description, written: written)
        let address = self.address.description
        return written.futureResult.flatMapErrorThrowing { _ in throw ClientError.connectionClosed(address: address) }
    }

    /// Sends a request the broker does not answer (Produce with acks=0); returns once it is written.
    func sendWithoutResponse<R: KafkaRequest>(_ request: R, version: Int16) async throws {
        let written = channel.eventLoop.makePromise(of: Void.self)
        Self.submit(OutboundRequest(apiKey: R.apiKey, apiVersion: version,
                                    body: request.encoded(apiKey: R.apiKey, version: version),
                                    promise: nil, timeout: requestTimeout),
                    on: channel, address: address.description, written: written)
        do { try await written.futureResult.get() } catch {
            throw ClientError.connectionClosed(address: address.description)
        }
    }

    /// The body of `request`; for Produce, record batches of at least ``detachedRecordsBytes``
    /// stay in their own buffers (`moreBody`), written after `body` without a copy.
    private static func encodedBody<R: KafkaRequest>(_ request: R, version: Int16) -> (body: ByteBuffer, moreBody: [ByteBuffer]) {
        guard let produce = request as? ProduceRequest else { return (request.encoded(apiKey: R.apiKey, version: version), []) }
        var parts = produce.encodedParts(version: version, minimumDetachedBytes: detachedRecordsBytes)
        let first = parts.removeFirst()
        return (first, parts)
    }

    /// Produce record batches at least this large are written to the socket from the batch's own
    /// buffer; smaller ones cost less to copy than a separate buffer in the gathering write.
    static let detachedRecordsBytes = 4096

    /// Closes the TCP connection; requests in flight fail with ``ClientError/connectionClosed(address:)``.
    func close() async {
        try? await channel.close()
    }

    private static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("connectTimeout") { return "connect timed out" }
        if text.contains("unknown host") || text.contains("EAI_NONAME") || text.contains("NIOConnectionError") {
            return text.count > 160 ? String(text.prefix(160)) + "…" : text
        }
        return text
    }
}
