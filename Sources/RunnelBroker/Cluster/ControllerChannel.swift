import KafkaProtocol
import Logging
import NIOCore

/// Requests from this node to the active controller (broker registration and heartbeats,
/// AllocateProducerIds, forwarded admin requests, KIP-590), sent to the controller listener named
/// for the quorum leader in `controller.quorum.voters`.
///
/// A send follows leadership: while no leader is known, or its connection fails, it waits and
/// tries again until its deadline.
actor ControllerChannel {
    /// The client id prefix of requests one node sends another (`runnel-broker-<node.id>`).
    static let clientIDPrefix = "runnel-broker-"

    /// Whether the request being handled came from another node: such a request reached this node
    /// because its sender took it for the active controller, so it is answered here (NOT_CONTROLLER
    /// if this node is not) and never forwarded again, which could bounce it between nodes whose
    /// views of the leader differ.
    @TaskLocal static var requestFromBroker = false

    private let quorum: QuorumDriver
    private let settings: ClusterSettings
    private let nodeID: Int32
    private let logger: Logger
    private var connection: (leader: Int32, connection: NodeConnection)?
    /// TLS to the controller listener, when it is SSL or SASL_SSL.
    private let tls: NodeTLS?

    init(quorum: QuorumDriver, settings: ClusterSettings, nodeID: Int32, logger: Logger, tls: NodeTLS? = nil) {
        self.tls = tls
        self.quorum = quorum
        self.settings = settings
        self.nodeID = nodeID
        self.logger = logger
    }

    /// Sends `request` to the active controller and returns its response.
    /// - Parameter timeout: the whole budget, retries included.
    /// - Throws: ``NodeConnectionError`` when no controller answered within `timeout`.
    func send<R: KafkaRequest>(_ request: R, version: Int16, timeout: Duration = .seconds(10)) async throws -> R.Response {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var lastError: any Error = NodeConnectionError.timedOut(api: R.apiKey, milliseconds: timeout.milliseconds)
        while clock.now < deadline {
            try Task.checkCancellation()
            if let leader = await quorum.leader, let voter = settings.voter(leader) {
                do {
                    let conn: NodeConnection
                    if let cached = connection, cached.leader == leader, cached.connection.isActive {
                        conn = cached.connection
                    } else {
                        connection?.connection.close()
                        conn = try await NodeConnection.connect(host: voter.host, port: voter.port, clientID: "\(Self.clientIDPrefix)\(nodeID)",
                                                                timeout: .seconds(2), tls: tls, sasl: settings.controllerSasl)
                        connection = (leader, conn)
                    }
                    let remaining = deadline - clock.now
                    return try await conn.send(request, version: version, timeout: .milliseconds(max(100, remaining.milliseconds)))
                } catch {
                    lastError = error
                    connection?.connection.close()
                    connection = nil
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw lastError
    }
}

extension Duration {
    /// The duration in whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
