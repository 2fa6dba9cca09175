import KafkaProtocol
import Raft

/// The cluster part of the configuration: `process.roles`, `controller.quorum.voters`, the
/// controller listener and the quorum timeouts, validated together (Kafka's `KafkaConfig` KRaft
/// checks).
public struct ClusterSettings: Sendable, Equatable {
    /// A role of `process.roles`.
    public enum Role: String, Sendable, Hashable {
        case broker, controller
    }

    /// A voter of `controller.quorum.voters`: `id@host:port`.
    public struct Voter: Sendable, Equatable {
        public var id: Int32
        public var host: String
        public var port: Int
    }

    public var roles: Set<Role>
    public var voters: [Voter]
    /// The controller listener this node binds, when it is a controller.
    public var controllerListener: Listener?
    /// This node's SASL identity towards the controller listeners, when they use SASL.
    var controllerSasl: NodeSaslCredentials? = nil
    /// Milliseconds between two ticks of the Raft state machine.
    public static let tickMs = 50

    /// Parses the cluster keys of `config`; `nil` when `process.roles` is empty (one standalone node).
    /// - Throws: ``ConfigError`` naming the key and the fix.
    public static func parse(_ config: BrokerConfig) throws -> ClusterSettings? {
        let rolesText = config.string("process.roles") ?? ""
        var roles: Set<Role> = []
        for part in rolesText.split(separator: ",") {
            let name = String(part).trimmingWhitespace().lowercased()
            guard let role = Role(rawValue: name) else {
                throw ConfigError.invalidValue(key: "process.roles", value: rolesText, reason: "allowed roles: broker, controller")
            }
            roles.insert(role)
        }
        let votersText = config.string("controller.quorum.voters") ?? ""
        if roles.isEmpty {
            guard votersText.isEmpty else {
                throw ConfigError.invalidValue(key: "controller.quorum.voters", value: votersText,
                                               reason: "set process.roles (broker, controller or broker,controller) to run in a cluster")
            }
            return nil
        }
        var voters: [Voter] = []
        for entry in votersText.split(separator: ",") {
            let text = String(entry).trimmingWhitespace()
            guard let at = text.firstIndex(of: "@"), let id = Int32(text[..<at]), id >= 0,
                  let colon = text.lastIndex(of: ":"), colon > at, let port = Int(text[text.index(after: colon)...]),
                  (1...65535).contains(port)
            else {
                throw ConfigError.invalidValue(key: "controller.quorum.voters", value: votersText,
                                               reason: "expected id@host:port entries, e.g. 1@localhost:9093,2@localhost:9095")
            }
            var host = String(text[text.index(after: at)..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !voters.contains(where: { $0.id == id }) else {
                throw ConfigError.invalidValue(key: "controller.quorum.voters", value: votersText, reason: "voter \(id) is listed twice")
            }
            voters.append(Voter(id: id, host: host, port: port))
        }
        guard !voters.isEmpty else {
            throw ConfigError.invalidValue(key: "controller.quorum.voters", value: votersText,
                                           reason: "a cluster needs its voters, e.g. 1@localhost:9093")
        }
        let nodeID = Int32(config.int("node.id"))
        if !roles.contains(.controller), voters.contains(where: { $0.id == nodeID }) {
            throw ConfigError.invalidValue(key: "node.id", value: "\(nodeID)",
                                           reason: "a node with process.roles=broker must not have a voter's id (\(votersText)); give it an id of its own")
        }
        var controllerListener: Listener?
        if roles.contains(.controller) {
            guard voters.contains(where: { $0.id == nodeID }) else {
                throw ConfigError.invalidValue(key: "controller.quorum.voters", value: votersText,
                                               reason: "this node (node.id \(nodeID)) has the controller role but is not a voter")
            }
            let names = config.controllerListenerNames
            controllerListener = try config.listeners.first { names.contains($0.name) }
            guard let controllerListener else {
                throw ConfigError.invalidValue(key: "listeners", value: config.string("listeners") ?? "",
                                               reason: "a controller needs a listener named in controller.listener.names (\(names.joined(separator: ","))), e.g. CONTROLLER://localhost:9093")
            }
            if let me = voters.first(where: { $0.id == nodeID }), controllerListener.port != 0, me.port != controllerListener.port {
                throw ConfigError.invalidValue(key: "controller.quorum.voters", value: votersText,
                                               reason: "this node's entry \(me.id)@\(me.host):\(me.port) names port \(me.port), but its controller listener is \(controllerListener); the other voters could not reach it")
            }
        }
        if roles.contains(.broker) {
            guard try !config.advertisedListeners.isEmpty else {
                throw ConfigError.invalidValue(key: "listeners", value: config.string("listeners") ?? "",
                                               reason: "a broker needs a client listener that is not a controller listener, e.g. PLAINTEXT://localhost:9092")
            }
        }
        var settings = ClusterSettings(roles: roles, voters: voters, controllerListener: controllerListener)
        settings.controllerSasl = try NodeSaslCredentials.controller(config)
        return settings
    }

    /// `runnel.cluster.id` when set, else an id derived from the voters (FNV-1a of
    /// `controller.quorum.voters`, printed as a UUID), so nodes started from one set of config
    /// files agree without a formatting step.
    func clusterID(configured: String) -> String {
        if !configured.isEmpty { return configured }
        let text = voters.map { "\($0.id)@\($0.host):\($0.port)" }.joined(separator: ",")
        let halves = [UInt64(0xcbf2_9ce4_8422_2325), 0x8422_2325_cbf2_9ce4].map { seed -> UInt64 in
            var hash = seed
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return hash
        }
        return UUIDBytes(high: halves[0], low: halves[1]).description
    }

    public var isController: Bool { roles.contains(.controller) }
    public var isBroker: Bool { roles.contains(.broker) }

    /// The voter with `id`, if any.
    public func voter(_ id: Int32) -> Voter? { voters.first { $0.id == id } }

    /// Ticks for a duration in milliseconds, rounded up, at least 1.
    static func ticks(_ ms: Int) -> Int { max(1, (ms + tickMs - 1) / tickMs) }

    /// The Raft configuration for `nodeID`, with the quorum timeouts turned into ticks.
    func raftConfig(nodeID: Int32, config: BrokerConfig, seed: UInt64) -> RaftConfig {
        let fetchMaxWait = Self.ticks(500)
        let requestTimeout = max(Self.ticks(config.int("controller.quorum.request.timeout.ms")), fetchMaxWait + 1)
        return RaftConfig(nodeID: ReplicaID(nodeID), voters: Set(voters.map { ReplicaID($0.id) }), random: SeededRandom(seed: seed),
                          electionTimeoutTicks: Self.ticks(config.int("controller.quorum.election.timeout.ms")),
                          fetchTimeoutTicks: Self.ticks(config.int("controller.quorum.fetch.timeout.ms")),
                          electionBackoffMaxTicks: Self.ticks(config.int("controller.quorum.election.backoff.max.ms")),
                          requestTimeoutTicks: requestTimeout,
                          retryBackoffTicks: Self.ticks(config.int("controller.quorum.retry.backoff.ms")),
                          fetchMaxWaitTicks: fetchMaxWait, maxEntriesPerFetch: 500)
    }
}
