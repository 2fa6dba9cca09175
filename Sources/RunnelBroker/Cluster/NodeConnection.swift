import KafkaProtocol
import NIOCore
import NIOPosix

/// Why an inter-node request failed.
enum NodeConnectionError: Error, CustomStringConvertible {
    case connectFailed(host: String, port: Int, reason: String)
    case closed
    case timedOut(api: ApiKey, milliseconds: Int64)

    var description: String {
        switch self {
        case .connectFailed(let host, let port, let reason): return "cannot connect to \(host):\(port): \(reason)"
        case .closed: return "the connection closed before the response arrived"
        case .timedOut(let api, let ms): return "no \(api) response within \(ms) ms"
        }
    }
}

/// One client connection from this node to another node's listener, for the Kafka requests nodes
/// send each other (quorum RPCs, broker registration and heartbeats, forwarded admin requests).
///
/// Requests are pipelined; responses are matched to them by correlation id. A request that gets no
/// response within its timeout fails with ``NodeConnectionError/timedOut(api:milliseconds:)`` and
/// closes the connection (a late answer could not be told apart from the next one otherwise); the
/// owner then opens a new one.
final class NodeConnection: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<ResponseMatcher>
    let clientID: String

    private init(channel: any Channel, handler: NIOLoopBound<ResponseMatcher>, clientID: String) {
        self.channel = channel
        self.handler = handler
        self.clientID = clientID
    }

    /// Connects to `host:port`, over TLS when `tls` is given (the peer's listener is SSL or
    /// SASL_SSL), then authenticates with `sasl` when the listener there uses SASL: TCP, then TLS,
    /// then SASL, then Kafka requests.
    /// - Throws: ``NodeConnectionError/connectFailed(host:port:reason:)``; ``NodeSaslError`` when
    ///   the other node refuses the credentials.
    static func connect(host: String, port: Int, clientID: String, timeout: TimeAmount, tls: NodeTLS? = nil,
                        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                        sasl: NodeSaslCredentials? = nil) async throws -> NodeConnection {
        let connection = try await open(host: host, port: port, clientID: clientID, timeout: timeout, tls: tls, group: group)
        guard let sasl else { return connection }
        do {
            try await sasl.authenticate(connection, timeout: timeout)
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    private static func open(host: String, port: Int, clientID: String, timeout: TimeAmount, tls: NodeTLS?,
                             group: any EventLoopGroup) async throws -> NodeConnection {
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try tls?.addHandler(to: channel, host: host)
                        try channel.pipeline.syncOperations.addHandler(FrameSplitter(maxFrameBytes: Int(Int32.max)))
                        try channel.pipeline.syncOperations.addHandler(ResponseMatcher())
                    }
                }
                .connect(host: host, port: port).get()
            let handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: ResponseMatcher.self), eventLoop: channel.eventLoop)
            }.get()
            return NodeConnection(channel: channel, handler: handler, clientID: clientID)
        } catch {
            throw NodeConnectionError.connectFailed(host: host, port: port, reason: "\(error)")
        }
    }

    var isActive: Bool { channel.isActive }

    /// Sends `request` in `version` and waits for its response.
    /// - Throws: ``NodeConnectionError`` when the connection fails or times out; ``ProtocolError``
    ///   when the response cannot be decoded.
    func send<R: KafkaRequest>(_ request: R, version: Int16, timeout: TimeAmount) async throws -> R.Response {
        let apiKey = R.apiKey
        let body = request.encoded(apiKey: apiKey, version: version)
        let loop = channel.eventLoop
        let handler = self.handler
        let clientID = self.clientID
        let channel = self.channel
        let future: EventLoopFuture<ByteBuffer> = loop.flatSubmit {
            let promise = loop.makePromise(of: ByteBuffer.self)
            let correlationID = handler.value.register(promise)
            var frame = channel.allocator.buffer(capacity: body.readableBytes + 64)
            frame.writeInteger(Int32(0))
            RequestHeader(apiKey: apiKey, apiVersion: version, correlationID: correlationID, clientID: clientID).encode(to: &frame)
            var copy = body
            frame.writeBuffer(&copy)
            frame.setInteger(Int32(frame.readableBytes - 4), at: frame.readerIndex)
            channel.writeAndFlush(frame, promise: nil)
            let timer = loop.scheduleTask(in: timeout) {
                promise.fail(NodeConnectionError.timedOut(api: apiKey, milliseconds: timeout.nanoseconds / 1_000_000))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            return promise.futureResult
        }
        var response = try await future.get()
        _ = try ResponseHeader.decode(from: &response, version: apiKey.responseHeaderVersion(version))
        return try R.Response.decode(response, apiKey: apiKey, version: version)
    }

    func close() { channel.close(promise: nil) }
}

/// Matches response frames to waiting requests by correlation id; fails them all when the channel
/// closes. Lives on the channel's event loop.
final class ResponseMatcher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var nextCorrelationID: Int32 = 1
    private var waiting: [Int32: EventLoopPromise<ByteBuffer>] = [:]
    private var closed = false

    func register(_ promise: EventLoopPromise<ByteBuffer>) -> Int32 {
        let id = nextCorrelationID
        nextCorrelationID = nextCorrelationID == Int32.max ? 1 : nextCorrelationID + 1
        if closed { promise.fail(NodeConnectionError.closed) } else { waiting[id] = promise }
        return id
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let id = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int32.self),
              let promise = waiting.removeValue(forKey: id)
        else { return }
        promise.succeed(frame)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        let all = waiting
        waiting.removeAll()
        for promise in all.values { promise.fail(NodeConnectionError.closed) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
