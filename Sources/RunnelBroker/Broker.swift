import GroupCoordinator
import LogStorage
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A single Runnel broker as a swift-service-lifecycle `Service`: recovers the logs under
/// `log.dirs`, then serves the Kafka protocol on `listeners` until graceful shutdown
/// (SIGTERM/SIGINT when run by a `ServiceGroup`), and closes every log on the way out.
///
/// Embeddable in-process: pass port 0 in `listeners` and read the bound port from `onListening`.
public struct Broker: Service {
    public let config: BrokerConfig
    let logger: Logger
    private let onListening: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - config: the validated broker configuration.
    ///   - logger: the root logger; subsystems add their own metadata.
    ///   - onListening: called with the bound port once the listener accepts connections.
    public init(config: BrokerConfig, logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.config = config
        self.logger = logger
        self.onListening = onListening
    }

    /// Runs until cancelled or asked to shut down gracefully.
    /// - Throws: ``ConfigError`` or a storage error when `log.dirs` cannot be used; a bind error when
    ///   the port is taken.
    public func run() async throws {
        let cluster = try ClusterSettings.parse(config)
        let controllerNames = Set(config.controllerListenerNames)
        let clientListeners = try config.listeners.filter { cluster == nil || !controllerNames.contains($0.name) }
        let advertised = try config.advertisedListeners
        // A controller-only node serves no clients: its controller listener is its only one.
        let listener: Listener
        var controllerListener: Listener?
        let controllerOnly = cluster.map { !$0.isBroker } ?? false
        if let cluster, !cluster.isBroker {
            guard let only = cluster.controllerListener else {
                throw ConfigError.invalidValue(key: "listeners", value: config.string("listeners") ?? "", reason: "no controller listener configured")
            }
            listener = only
        } else {
            guard let first = clientListeners.first else {
                throw ConfigError.invalidValue(key: "listeners", value: config.string("listeners") ?? "", reason: "no listener configured")
            }
            listener = first
            controllerListener = cluster?.controllerListener
        }
        let advertisedListener = advertised.first ?? listener
        // Every other client listener is served the same way (PLAINTEXT and SSL side by side...).
        let extraListeners = controllerOnly ? [] : Array(clientListeners.dropFirst())
        let metricsEndpoint = try config.metricsEndpoint
        // Every directory is checked and locked before any is opened (Kafka locks each of log.dirs).
        var locks: [LogDirectoryLock] = []
        defer { for lock in locks { lock.release() } }
        for directory in config.allLogDirectories {
            try StartupChecks.checkLogDirectory(directory, minFreeBytes: Int64(config.string("runnel.log.dirs.min.free.bytes") ?? "") ?? 0)
            locks.append(try LogDirectoryLock.acquire(directory: directory))
        }
        StartupChecks.warnAboutLimits(logger: logger)
        let levels = try LogLevels(config)
        let authorizer = try Authorizer.make(config: config)
        let connectionLimiter = try ConnectionLimiter(config: config)
        let servedListeners = [listener] + extraListeners + (controllerListener.map { [$0] } ?? [])
        let tlsContexts = try config.serverTLSContexts(for: servedListeners)
        let sasl = try SaslAuthentication(config: config, listeners: servedListeners)
        for warning in sasl.startupWarnings { logger.warning("\(warning)") }
        let networkLogger = levels.logger(.network, from: logger)
        let metrics = BrokerMetrics()
        let controller = try Controller(config: config, logger: levels.logger(.storage, from: logger), metrics: metrics, levels: levels)
        let groups = await makeGroupCoordinator(controller, logger: levels.logger(.groups, from: logger))
        if controller.cluster != nil {
            await controller.onOffsetsPartitionsOpened { partitions in
                await groups.beginLoading(partitions: partitions)
                await groups.load(partitions: partitions)
            }
            await controller.onOffsetsPartitionsLost { partitions in
                await groups.unload(partitions: partitions)
            }
        }
        var handlers = RequestHandlers(controller: controller, groups: groups, config: config, advertised: advertisedListener,
                                       nodeID: config.nodeID, clusterID: controller.clusterID, logger: networkLogger,
                                       authorizer: authorizer)
        handlers.advertisedListeners = advertised
        if let authorizer {
            authorizer.replace(await controller.acls)
            await controller.onAclsChanged { authorizer.replace($0) }
            logger.info("authorization enabled", metadata: ["acls": "\(authorizer.bindings.count)",
                                                            "super.users": "\(authorizer.superUsers.sorted().joined(separator: ";"))"])
        }
        handlers.quotas.replace(await controller.clientQuotas)
        let quotaManager = handlers.quotas
        await controller.onClientQuotasChanged { quotaManager.replace($0) }
        let scramCredentials = sasl.scramCredentials
        await controller.onScramCredentialsChanged { scramCredentials.replace($0) }
        let server = BrokerServer(listener: listener, maxFrameBytes: config.int("socket.request.max.bytes"),
                                  router: RequestRouter(handlers: handlers, metrics: metrics), logger: networkLogger, metrics: metrics,
                                  logLimiter: handlers.logLimiter, connectionLimiter: connectionLimiter,
                                  connectionsMaxIdle: IdleConnectionWatcher.timeout(milliseconds: config.int("connections.max.idle.ms")),
                                  requestBudget: RequestQueueBudget(config: config),
                                  fairness: SourceAddressFairness(config: config),
                                  maxInFlightPerConnection: config.int("runnel.max.in.flight.requests.per.connection"),
                                  socketSendBufferBytes: BrokerServer.socketBuffer(config.int("socket.send.buffer.bytes")),
                                  socketReceiveBufferBytes: BrokerServer.socketBuffer(config.int("socket.receive.buffer.bytes")),
                                  tlsContexts: tlsContexts, sasl: sasl)
        let channel: BrokerServer.ListeningChannel
        var controllerChannel: BrokerServer.ListeningChannel?
        var extraChannels: [(listener: Listener, channel: BrokerServer.ListeningChannel)] = []
        var binding = listener
        do {
            channel = try await server.bind(group: MultiThreadedEventLoopGroup.singleton)
            for extra in extraListeners {
                binding = extra
                extraChannels.append((extra, try await server.bind(listener: extra, group: MultiThreadedEventLoopGroup.singleton)))
            }
            if let controllerListener {
                binding = controllerListener
                controllerChannel = try await server.bind(listener: controllerListener, group: MultiThreadedEventLoopGroup.singleton)
            }
        } catch {
            for extra in extraChannels { try? await extra.channel.channel.close() }
            await controller.shutdown()
            throw BrokerStartupError.bindFailed(listener: "\(binding)", reason: "\(error)")
        }
        var metricsChannel: NIOAsyncChannel<MetricsServer.Connection, Never>?
        var metricsServer: MetricsServer?
        if let metricsEndpoint {
            let scrapeMetrics = metrics
            let requestBudget = server.requestBudget
            let fairness = server.fairness
            let server = MetricsServer(endpoint: metricsEndpoint, logger: levels.logger(.metrics, from: logger)) {
                scrapeMetrics.setStateGauges(await controller.stateGauges(groups: groups) + requestBudget.stateGauges + (fairness?.stateGauges ?? []))
                return scrapeMetrics.render()
            }
            do {
                metricsChannel = try await server.bind(group: MultiThreadedEventLoopGroup.singleton)
                metricsServer = server
            } catch {
                try? await channel.channel.close()
                try? await controllerChannel?.channel.close()
                for extra in extraChannels { try? await extra.channel.channel.close() }
                await controller.shutdown()
                throw BrokerStartupError.metricsBindFailed(endpoint: "\(metricsEndpoint)", reason: "\(error)")
            }
            logger.info("metrics listening", metadata: ["runnel.metrics.listener": "\(metricsEndpoint)"])
        }
        let port = channel.channel.localAddress?.port ?? listener.port
        if let controllerChannel, let controllerListener {
            let controllerPort = controllerChannel.channel.localAddress?.port ?? controllerListener.port
            logger.info("controller listening", metadata: ["listener": "\(controllerListener.name)://\(controllerListener.host):\(controllerPort)"])
        }
        if controllerOnly {
            // No client listener: this node serves the quorum only (its one listener is the
            // controller listener).
            logger.info("controller listening", metadata: ["listener": "\(listener.name)://\(listener.host):\(port)",
                                                           "process.roles": "controller", "log.dirs": "\(config.allLogDirectories.joined(separator: ","))"])
        } else {
            logger.info("broker listening", metadata: ["listener": "\(listener.name)://\(listener.host):\(port)",
                                                       "advertised": "\(advertisedListener)", "log.dirs": "\(config.logDirectories.joined(separator: ","))"])
            for extra in extraChannels {
                let extraPort = extra.channel.channel.localAddress?.port ?? extra.listener.port
                logger.info("broker listening", metadata: ["listener": "\(extra.listener.name)://\(extra.listener.host):\(extraPort)"])
            }
        }
        onListening(port)
        do {
            try await withThrowingDiscardingTaskGroup { group in
                if let quorum = controller.quorum {
                    // A controller-only node's one listener is its controller listener.
                    let quorumListener = controllerOnly ? channel : controllerChannel
                    group.addTask {
                        await withGracefulShutdownHandler {
                            await quorum.run { await controller.applyCommitted($0) }
                        } onGracefulShutdown: {
                            // Controlled shutdown first (fenced: clients stop being sent here),
                            // then leave the quorum, handing leadership over if held.
                            Task {
                                await controller.requestControlledShutdown(timeout: .seconds(2))
                                await quorum.shutdownGracefully()
                            }
                        }
                        // The controller listener stays open until the quorum has stopped, so the
                        // other voters hear the resignation and this node's last answers.
                        try? await quorumListener?.channel.close()
                    }
                    group.addTask { await cancelWhenGracefulShutdown { await controller.runBrokerLifecycle(listeners: advertised) } }
                    group.addTask { await cancelWhenGracefulShutdown { await controller.runControllerDuties() } }
                    group.addTask {
                        await controller.startReplication()
                        await cancelWhenGracefulShutdown { await controller.runISRMaintenance() }
                    }
                }
                if let controllerChannel, let controllerListener {
                    group.addTask { try await server.serve(controllerChannel, listener: controllerListener) }
                }
                group.addTask { await cancelWhenGracefulShutdown { await runMaintenance(controller) } }
                group.addTask { await cancelWhenGracefulShutdown { await controller.monitorLogDirectories() } }
                if let flushInterval = logFlushSchedulerInterval {
                    group.addTask { await cancelWhenGracefulShutdown { await runLogFlushScheduler(controller, interval: flushInterval) } }
                }
                group.addTask { await cancelWhenGracefulShutdown { await runGroupCoordinator(groups, controller) } }
                if let metricsServer, let metricsChannel {
                    group.addTask {
                        try await withGracefulShutdownHandler {
                            try await metricsServer.serve(metricsChannel)
                        } onGracefulShutdown: {
                            metricsChannel.channel.close(promise: nil)
                        }
                    }
                }
                if config.bool("log.cleaner.enable") {
                    group.addTask { await cancelWhenGracefulShutdown { await runLogCleaner(controller) } }
                }
                group.addTask { await cancelWhenGracefulShutdown { await runLogScrubber(controller, metrics: metrics) } }
                // The accept loop is not cancelled: closing the listener ends it after every
                // connection already accepted has been handed to a handler (each must be closed
                // through executeThenClose), then the handlers are cancelled.
                // A cluster broker holds client requests until it has caught up (ReadinessGate).
                let gate = controller.cluster?.isBroker == true ? controller.clientGate : nil
                for extra in extraChannels {
                    let extraChannel = extra.channel
                    let extraListener = extra.listener
                    group.addTask {
                        try await withGracefulShutdownHandler {
                            try await server.serve(extraChannel, gate: gate, listener: extraListener)
                        } onGracefulShutdown: {
                            Self.stopAccepting(extraChannel.channel)
                        }
                    }
                }
                try await withGracefulShutdownHandler {
                    try await server.serve(channel, gate: gate)
                } onGracefulShutdown: {
                    controller.clientGate.open()
                    // Held JoinGroup/SyncGroup requests would wait for group timers that stop now:
                    // answer them (NOT_COORDINATOR) so their connections can finish.
                    Task { await groups.shutdown() }
                    // A controller-only node's listener is the controller listener: it stays open
                    // until the quorum has stopped (closed by the quorum task above).
                    if controllerOnly { return }
                    Self.stopAccepting(channel.channel)
                }
            }
        } catch is CancellationError {
        } catch {
            logger.error("server stopped with an error", metadata: ["error": "\(error)"])
        }
        await groups.shutdown()
        await controller.shutdown()
        logger.info("broker stopped")
    }
}

extension Broker {
    /// Stops accepting on a listening channel and closes it 100 ms later, giving connections
    /// already being set up on other event loops time to reach the accept loop: a child channel
    /// that arrives after the listener closed would be dropped without being closed (a NIO
    /// precondition).
    static func stopAccepting(_ listener: any Channel) {
        listener.setOption(.autoRead, value: false).whenComplete { _ in
            listener.eventLoop.scheduleTask(in: .milliseconds(100)) { listener.close(promise: nil) }
        }
    }

    /// The background duties of the log manager until cancelled: retention every
    /// `log.retention.check.interval.ms`, checkpoints (recovery points, log start offsets and high
    /// watermarks) every `log.flush.offset.checkpoint.interval.ms`,
    /// `log.flush.start.offset.checkpoint.interval.ms` or `replica.high.watermark.checkpoint.interval.ms`,
    /// whichever is shortest.
    func runMaintenance(_ controller: Controller) async {
        let retentionEvery = Int64(config.int("log.retention.check.interval.ms"))
        let checkpointEvery = Int64(min(config.int("log.flush.offset.checkpoint.interval.ms"),
                                        config.int("log.flush.start.offset.checkpoint.interval.ms"),
                                        config.int("replica.high.watermark.checkpoint.interval.ms")))
        let producerExpiryEvery = Int64(config.int("producer.id.expiration.check.interval.ms"))
        let producerExpirationMs = Int64(config.int("producer.id.expiration.ms"))
        let tick = max(50, min(retentionEvery, checkpointEvery > 0 ? checkpointEvery : retentionEvery, producerExpiryEvery))
        let clock = ContinuousClock()
        var nextRetention = clock.now + .milliseconds(retentionEvery)
        var nextProducerExpiry = clock.now + .milliseconds(producerExpiryEvery)
        var nextCheckpoint = clock.now + .milliseconds(checkpointEvery)
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(tick))
            if Task.isCancelled { return }
            if clock.now >= nextProducerExpiry {
                await controller.removeExpiredProducers(nowMs: Log.steadyWallClockMs(), expirationMs: producerExpirationMs)
                nextProducerExpiry = clock.now + .milliseconds(producerExpiryEvery)
            }
            if clock.now >= nextRetention {
                await controller.runRetention()
                nextRetention = clock.now + .milliseconds(retentionEvery)
            }
            if checkpointEvery > 0, clock.now >= nextCheckpoint {
                do {
                    try await controller.writeCheckpoints()
                } catch {
                    logger.error("writing offset checkpoints failed", metadata: ["error": "\(error)"])
                }
                nextCheckpoint = clock.now + .milliseconds(checkpointEvery)
            }
        }
    }
}

/// Start-up failures that name their fix.
public enum BrokerStartupError: Error, CustomStringConvertible {
    case bindFailed(listener: String, reason: String)
    case metricsBindFailed(endpoint: String, reason: String)
    case logDirNotWritable(path: String, reason: String)
    case logDirFull(path: String, freeBytes: Int64, neededBytes: Int64)
    case logDirLocked(path: String, holder: String)

    public var description: String {
        switch self {
        case .bindFailed(let listener, let reason):
            return "cannot listen on \(listener): \(reason). Is another broker running on that port? Change 'listeners' (e.g. --override listeners=PLAINTEXT://localhost:9093)."
        case .metricsBindFailed(let endpoint, let reason):
            return "cannot serve metrics on \(endpoint): \(reason). Is another broker running on that port? Change 'runnel.metrics.listener' (e.g. --override runnel.metrics.listener=http://localhost:9645/metrics) or set it empty to turn metrics off."
        case .logDirNotWritable(let path, let reason):
            return "log.dirs \(path) is not a writable directory: \(reason). Fix its permissions or choose another directory (--override log.dirs=PATH)."
        case .logDirFull(let path, let free, let needed):
            return "log.dirs \(path) has \(free) bytes free, below runnel.log.dirs.min.free.bytes (\(needed)). Free some space, move log.dirs to a larger volume, or lower runnel.log.dirs.min.free.bytes."
        case .logDirLocked(let path, let holder):
            return "log.dirs \(path) is locked by another running broker\(holder.isEmpty ? "" : " (pid \(holder))"). Stop that broker or give this one its own log.dirs (--override log.dirs=PATH)."
        }
    }
}
