import Logging
import NIOCore
import NIOPosix

/// The TCP side of the broker: accepts connections on one listener and serves each in its own
/// structured task, one request at a time, so responses leave in request order (Kafka mutes a
/// connection while a request is in flight in the same way).
struct BrokerServer {
    let listener: Listener
    let maxFrameBytes: Int
    let router: RequestRouter
    let logger: Logger
    var metrics: BrokerMetrics? = nil
    /// Bounds the warnings a client that keeps sending bad requests can cause.
    var logLimiter = LogRateLimiter()

    /// Binds the listener; `onBound` receives the bound port (useful with port 0).
    func bind(group: any EventLoopGroup) async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        let maxFrameBytes = self.maxFrameBytes
        let host = listener.host.isEmpty ? "0.0.0.0" : listener.host
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .bind(host: host, port: listener.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrameBytes)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Serves connections until the server channel closes or the task is cancelled.
    /// Serves connections until the server channel closes, then cancels the connection handlers
    /// (ending each connection after its in-flight request) and returns when all are closed.
    func serve(_ server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                // The caller stops this loop by closing the listener, not by cancelling: a
                // cancelled iteration would drop connections already accepted, unclosed.
                for try await connection in inbound {
                    group.addTask { await handle(connection) }
                }
            }
            group.cancelAll()
        }
    }

    private func handle(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        metrics?.connectionsAccepted.increment()
        metrics?.connectionsOpen.increment()
        defer { metrics?.connectionsOpen.decrement() }
        let peer = connection.channel.remoteAddress.map { "\($0)" } ?? "unknown"
        var connectionLogger = logger
        connectionLogger[metadataKey: "peer"] = "\(peer)"
        let host = connection.channel.remoteAddress?.ipAddress.map { "/\($0)" } ?? "/unknown"
        let context = RequestContext(peer: peer, clientHost: host, logger: connectionLogger)
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await frame in inbound {
                    switch await router.handle(frame: frame, context: context) {
                    case .respond(let bytes):
                        try await outbound.write(bytes)
                    case .noResponse:
                        continue
                    case .close(let reason):
                        metrics?.connectionsClosedByBroker.increment()
                        logLimiter.log(connectionLogger, .warning, key: "close \(host)", "closing connection: \(reason)")
                        return
                    }
                }
            }
        } catch let error as FrameError {
            metrics?.connectionsClosedByBroker.increment()
            logLimiter.log(connectionLogger, .warning, key: "close \(host)", "closing connection: \(error)")
        } catch let error as ChannelError where error == .ioOnClosedChannel || error == .outputClosed {
            connectionLogger.debug("connection closed by peer")
        } catch {
            connectionLogger.info("connection ended: \(error)")
        }
    }
}
