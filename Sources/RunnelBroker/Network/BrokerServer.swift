import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// The TCP side of the broker: accepts connections on one listener and serves each in its own
/// structured task, one request at a time, so responses leave in request order (Kafka mutes a
/// connection while a request is in flight in the same way).
///
/// Reading is bounded (``RequestFlowHandler``): a connection has at most
/// `runnel.max.in.flight.requests.per.connection` requests read ahead and unanswered, the broker at
/// most `queued.max.requests` / `queued.max.request.bytes` (``RequestQueueBudget``), one client
/// address at most its fair share of them (``SourceAddressFairness``), and a client that does not
/// read its responses is not read from either. A quota throttle mutes the connection
/// for the throttle time (KIP-219).
///
/// A connection that would pass `max.connections` or `max.connections.per.ip` is closed before
/// any of its requests is handled (``ConnectionLimiter``); one that sends no request for
/// `connections.max.idle.ms` is closed by the broker (``IdleConnectionWatcher``).
///
/// SSL and SASL_SSL listeners run TLS below the framing (``TLSHandshakeObserver``); a failed
/// handshake closes only that connection, with one rate-limited warning naming the peer.
struct BrokerServer {
    let listener: Listener
    let maxFrameBytes: Int
    let router: RequestRouter
    let logger: Logger
    var metrics: BrokerMetrics? = nil
    /// Bounds the warnings a client that keeps sending bad requests can cause.
    var logLimiter = LogRateLimiter()
    /// Counts connections against `max.connections` and `max.connections.per.ip`.
    var connectionLimiter = ConnectionLimiter()
    /// `connections.max.idle.ms`; nil never closes an idle connection.
    var connectionsMaxIdle: Duration? = nil
    /// `queued.max.requests` and `queued.max.request.bytes`, shared by every connection.
    var requestBudget = RequestQueueBudget()
    /// Per-source-address shares of `queued.max.requests` (`runnel.max.requests.in.progress.per.ip`);
    /// nil counts nothing per address.
    var fairness: SourceAddressFairness? = nil
    /// `runnel.max.in.flight.requests.per.connection`.
    var maxInFlightPerConnection = 5
    /// `socket.send.buffer.bytes` and `socket.receive.buffer.bytes`; nil keeps the OS default.
    var socketSendBufferBytes: Int? = nil
    var socketReceiveBufferBytes: Int? = nil
    /// Server TLS contexts of the SSL and SASL_SSL listeners, by listener name.
    var tlsContexts: [String: NIOSSLContext] = [:]
    /// SASL on SASL_PLAINTEXT and SASL_SSL listeners; nil when no listener uses SASL.
    var sasl: SaslAuthentication? = nil

    /// A `socket.*.buffer.bytes` value as a socket option: nil (the OS default) for -1, as Kafka.
    static func socketBuffer(_ bytes: Int) -> Int? {
        bytes < 0 ? nil : bytes
    }

    /// An accepted connection and the handle its task uses to report answered requests.
    struct Connection: Sendable {
        let channel: NIOAsyncChannel<ByteBuffer, KafkaWriter.Part>
        let flow: ConnectionFlow
        /// Whether responses may send record sets from their files (``ResponsePartWriter``): no TLS.
        let sendsFiles: Bool
        /// The name of the listener that accepted it.
        let listenerName: String
        /// On a TLS listener, the handshake's outcome: the principal, or why it failed.
        let handshake: EventLoopFuture<KafkaPrincipal>?
    }

    /// The listening channel ``bind(group:)`` returns.
    typealias ListeningChannel = NIOAsyncChannel<Connection, Never>

    /// Binds the listener (port 0 picks a free port; read it from the channel's local address).
    func bind(group: any EventLoopGroup) async throws -> ListeningChannel {
        try await bind(listener: listener, group: group)
    }

    /// Binds another listener served the same way (a cluster node's controller listener).
    func bind(listener: Listener, group: any EventLoopGroup) async throws -> ListeningChannel {
        let maxFrameBytes = self.maxFrameBytes
        let maxInFlight = maxInFlightPerConnection
        let budget = requestBudget
        let fairness = self.fairness
        let sentFromFiles = metrics?.fetchSendfileBytes
        let host = listener.host.isEmpty ? "0.0.0.0" : listener.host
        let listenerName = listener.name
        let tlsContext = listener.usesTLS ? tlsContexts[listener.name] : nil
        precondition(!listener.usesTLS || tlsContext != nil, "listener \(listener.name) uses TLS but the broker built no TLS context for it")
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
        if let socketSendBufferBytes {
            bootstrap = bootstrap.childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(clamping: socketSendBufferBytes))
        }
        if let socketReceiveBufferBytes {
            // Set on the listening socket too, so accepted ones start with it (window scaling).
            bootstrap = bootstrap.serverChannelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(clamping: socketReceiveBufferBytes))
                .childChannelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(clamping: socketReceiveBufferBytes))
        }
        return try await bootstrap
            .bind(host: host, port: listener.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handshake = try tlsContext.map { try TLSHandshakeObserver.install(on: channel, context: $0) }
                    let flow = RequestFlowHandler(maxFrameBytes: maxFrameBytes, maxInFlight: maxInFlight, budget: budget,
                                                  address: channel.remoteAddress?.ipAddress ?? "unknown", fairness: fairness)
                    try channel.pipeline.syncOperations.addHandler(flow)
                    try channel.pipeline.syncOperations.addHandler(ResponsePartWriter(sendsFiles: tlsContext == nil, sentFromFiles: sentFromFiles))
                    return Connection(channel: try NIOAsyncChannel<ByteBuffer, KafkaWriter.Part>(wrappingChannelSynchronously: channel),
                                      flow: ConnectionFlow(flow, eventLoop: channel.eventLoop), sendsFiles: tlsContext == nil,
                                      listenerName: listenerName, handshake: handshake)
                }
            }
    }

    /// Serves connections until the server channel closes, then cancels the connection handlers
    /// (ending each connection after its in-flight request) and returns when all are closed.
    /// - Parameters:
    ///   - gate: when set, each connection's requests are read only once it opens (a cluster
    ///     broker that has not caught up with the metadata log yet).
    ///   - listener: the listener `server` was bound for (``listener`` unless given).
    func serve(_ server: ListeningChannel, gate: ReadinessGate? = nil, listener: Listener? = nil) async throws {
        let listener = listener ?? self.listener
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                // The caller stops this loop by closing the listener, not by cancelling: a
                // cancelled iteration would drop connections already accepted, unclosed.
                for try await connection in inbound {
                    group.addTask { await handle(connection, gate: gate, listener: listener) }
                }
            }
            group.cancelAll()
        }
    }

    private func handle(_ accepted: Connection, gate: ReadinessGate?, listener: Listener) async {
        let connection = accepted.channel
        let flow = accepted.flow
        metrics?.connectionsAccepted.increment()
        metrics?.connectionsOpen.increment()
        defer { metrics?.connectionsOpen.decrement() }
        let peer = connection.channel.remoteAddress.map { "\($0)" } ?? "unknown"
        var connectionLogger = logger
        connectionLogger[metadataKey: "peer"] = "\(peer)"
        let ip = connection.channel.remoteAddress?.ipAddress ?? "unknown"
        if let refusal = connectionLimiter.admit(ip: ip) {
            await refuse(accepted, refusal, ip: ip, logger: connectionLogger)
            return
        }
        defer { connectionLimiter.release(ip: ip) }
        var context = RequestContext(peer: peer, clientHost: "/\(ip)", logger: connectionLogger)
        context.listenerName = accepted.listenerName
        context.sendsFiles = accepted.sendsFiles
        context.onParked = { parked in parked ? flow.parked() : flow.unparked() }
        // On SASL_SSL, SASL runs over the TLS session and its principal replaces the certificate's.
        var authenticator = sasl?.authenticator(for: listener)
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await withThrowingDiscardingTaskGroup { group in
                    // Stops the idle watcher however the connection ends.
                    defer { group.cancelAll() }
                    let idle = connectionsMaxIdle.map { IdleConnectionWatcher(timeout: $0) }
                    if let idle {
                        let idleLogger = connectionLogger
                        group.addTask {
                            if await idle.watch(connection.channel) {
                                idleLogger.debug("closing connection idle for connections.max.idle.ms (\(idle.timeout))")
                            }
                        }
                    }
                    if let handshake = accepted.handshake {
                        // Inside the group: the idle watcher also closes a peer that never completes it.
                        guard let principal = await tlsPrincipal(handshake, ip: ip, logger: connectionLogger) else { return }
                        context.principal = principal
                    }
                    if let gate, !gate.isOpen { await gate.wait() }
                    for try await frame in inbound {
                        idle?.requestStarted()
                        defer { idle?.requestFinished() }
                        if authenticator != nil, authenticator!.principal == nil {
                            let action = authenticator!.handle(frame: frame)
                            if let principal = authenticator!.principal { context.principal = principal }
                            guard try await perform(action, outbound: outbound, flow: flow, ip: ip, logger: connectionLogger) else { return }
                            if case .route = action {} else { continue }
                        }
                        let outcome = await router.handle(frame: frame, context: context)
                        // Answered (or dropped with the connection) from here on, whatever follows.
                        // One hop per request: while the response waits for a client that does not
                        // read, the request is parked out of queued.max.requests anyway.
                        defer { flow.finished() }
                        switch outcome {
                        case .respond(let bytes):
                            try await outbound.write(contentsOf: bytes.parts)
                        case .respondThrottled(let bytes, let throttle):
                            metrics?.requestsThrottled.increment()
                            metrics?.throttleMilliseconds.increment(by: Int(throttle.time / .milliseconds(1)))
                            try await respond(bytes, throttle: throttle, outbound: outbound, flow: flow)
                        case .noResponse:
                            break
                        case .close(let reason):
                            metrics?.connectionsClosedByBroker.increment()
                            logLimiter.log(connectionLogger, .warning, key: "close /\(ip)", "closing connection: \(reason)")
                            return
                        }
                        // Requests read ahead are there without waiting, so this task would run
                        // through them all before any other connection's task got a turn: yield
                        // after each one (round-robin between connections, as Kafka's processors go).
                        await Task.yield()
                    }
                }
            }
        } catch let error as FrameError {
            metrics?.connectionsClosedByBroker.increment()
            logLimiter.log(connectionLogger, .warning, key: "close /\(ip)", "closing connection: \(error)")
        } catch let error as ChannelError where error == .ioOnClosedChannel || error == .outputClosed {
            connectionLogger.debug("connection closed by peer")
        } catch NIOSSLError.uncleanShutdown {
            // A TLS client that closed its socket without close_notify, as many do.
            connectionLogger.debug("connection closed by peer without TLS close_notify")
        } catch {
            // A reset by the peer is common and a client can cause it at will: rate-limited.
            logLimiter.log(connectionLogger, .info, key: "ended /\(ip)", "connection ended: \(error)")
        }
    }

    /// Waits for a TLS connection's handshake. A failure is logged once per address and rate
    /// limit (the peer and BoringSSL's reason) and returns nil: the caller closes the connection.
    private func tlsPrincipal(_ handshake: EventLoopFuture<KafkaPrincipal>, ip: String, logger: Logger) async -> KafkaPrincipal? {
        do {
            let principal = try await handshake.get()
            logger.debug("TLS handshake complete", metadata: ["principal": "\(principal)"])
            return principal
        } catch TLSHandshakeObserver.Failure.closedBeforeHandshake {
            logger.debug("connection closed before the TLS handshake completed")
        } catch {
            metrics?.tlsHandshakeFailures.increment()
            logLimiter.log(logger, .warning, key: "tls /\(ip)", "TLS handshake with /\(ip) failed, closing the connection: \(error)")
        }
        return nil
    }

    /// Carries out a ``SaslAuthenticator`` action for a frame that does not go to the router.
    /// - Returns: false when the connection must close.
    private func perform(_ action: SaslAuthenticator.Action, outbound: NIOAsyncChannelOutboundWriter<KafkaWriter.Part>,
                         flow: ConnectionFlow, ip: String, logger: Logger) async throws -> Bool {
        switch action {
        case .route:
            return true
        case .respond(let bytes):
            try await outbound.write(.bytes(bytes))
            flow.finished()
            return true
        case .respondAndClose(let bytes, let reason):
            try await outbound.write(.bytes(bytes))
            flow.finished()
            metrics?.connectionsClosedByBroker.increment()
            logLimiter.log(logger, .warning, key: "sasl /\(ip)", "closing connection: \(reason)")
            return false
        case .failAuthentication(let bytes, let reason):
            // Slows a password guesser down; only this connection's task waits, parked: the wait
            // is not work, so it does not count in the address's fair share meanwhile.
            logLimiter.log(logger, .warning, key: "sasl /\(ip)", "\(reason)")
            if let delay = sasl?.failedAuthenticationDelay, delay > .zero {
                flow.parked()
                defer { flow.unparked() }
                try await Task.sleep(for: delay)
            }
            if let bytes { try await outbound.write(.bytes(bytes)) }
            flow.finished()
            metrics?.connectionsClosedByBroker.increment()
            return false
        case .close(let reason):
            flow.finished()
            metrics?.connectionsClosedByBroker.increment()
            logLimiter.log(logger, .warning, key: "sasl /\(ip)", "closing connection: \(reason)")
            return false
        }
    }

    /// Sends a response of a client over its quota and holds the connection for the throttle time:
    /// after the response when the client backs off by itself (KIP-219), before it for older
    /// request versions, which expect the broker to delay the response.
    private func respond(_ bytes: ResponseBytes, throttle: QuotaThrottle, outbound: NIOAsyncChannelOutboundWriter<KafkaWriter.Part>,
                         flow: ConnectionFlow) async throws {
        flow.mute(for: throttle.time)
        if throttle.clientBacksOff {
            try await outbound.write(contentsOf: bytes.parts)
            try await Task.sleep(for: throttle.time)
        } else {
            try await Task.sleep(for: throttle.time)
            try await outbound.write(contentsOf: bytes.parts)
        }
    }

    /// Closes a connection over a connection limit without reading from it, with one
    /// rate-limited line naming the limit and the client (per address for the per-IP limit,
    /// once for the broker-wide one, so a crowd of clients cannot flood the log either).
    private func refuse(_ connection: Connection, _ refusal: ConnectionLimiter.Refusal,
                        ip: String, logger: Logger) async {
        let key: String
        switch refusal {
        case .maxConnectionsPerIP: key = "refuse /\(ip)"
        case .maxConnections: key = "refuse max.connections"
        }
        logLimiter.log(logger, .warning, key: key, "closing connection from /\(ip): \(refusal)")
        // Nothing is read: the body returns at once and executeThenClose closes the channel.
        try? await connection.channel.executeThenClose { _, _ in }
    }
}
