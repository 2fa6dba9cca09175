import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `runnel cluster up --brokers N [--controllers M] [--dir PATH] [--base-port P] [--override key=value ...]`:
/// a local cluster on loopback ports, one process per node: N nodes in combined mode (broker and
/// controller in one process, as in Kafka's KRaft quick start), or with `--controllers M` a
/// separate quorum of M controller-only nodes plus N broker-only nodes.
struct ClusterUpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a local cluster, one process per node: combined broker and controller nodes, or separate controllers and brokers.",
        discussion: """
        Node i listens for clients on localhost:<base-port + 2(i-1)> and for the other controllers \
        on the next port; its metrics are on localhost:<metrics-base-port + i - 1>. By default \
        (--controllers 0) nodes 1...N are combined nodes (process.roles=broker,controller) using \
        both ports. With --controllers M, nodes 1...M are controller-only nodes \
        (process.roles=controller, only the controller port; they are the voters) and nodes \
        M+1...M+N are broker-only nodes (process.roles=broker, only the client port), so the \
        first broker's client port is base-port + 2M; clients cannot reach controller-only nodes, \
        as in KRaft. Each node's \
        configuration is written to <dir>/node-<i>.properties (start one again by hand with \
        `runnel broker --config <dir>/node-<i>.properties`), its data goes to <dir>/node-<i>/ and \
        its log to <dir>/node-<i>.log. Prints the bootstrap servers (the brokers) once every node \
        accepts connections; Ctrl-C (or SIGTERM) stops them all gracefully.
        """
    )

    @Option(name: .long, help: "Number of brokers (1-9): combined nodes, or broker-only nodes with --controllers; 3 tolerates the loss of one.")
    var brokers: Int = 3

    @Option(name: .long, help: "Number of controller-only nodes (0-9) forming the metadata quorum; 0 (default) runs every node in combined mode.")
    var controllers: Int = 0

    @Option(name: .long, help: "Directory for the nodes' configuration, data and logs.")
    var dir: String = "./data/cluster"

    @Option(name: .customLong("base-port"), help: "Client port of node 1; node i uses base-port + 2(i-1) for clients, and the next port for its controller listener.")
    var basePort: Int = 9092

    @Option(name: .customLong("metrics-base-port"), help: "Metrics port of node 1; node i uses metrics-base-port + i - 1 (0 turns metrics off).")
    var metricsBasePort: Int = 9644

    @Option(name: .customLong("override"), help: "A configuration key for every node, as key=value (repeatable).")
    var overrides: [String] = []

    /// Every node: combined nodes 1...brokers, or controllers 1...controllers then brokers.
    var nodeCount: Int { controllers + brokers }

    func validate() throws {
        guard (1...9).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 9 (got \(brokers)).") }
        guard (0...9).contains(controllers) else { throw ValidationError("--controllers must be between 0 and 9 (got \(controllers)).") }
        guard (1...(65535 - 2 * nodeCount)).contains(basePort) else { throw ValidationError("--base-port \(basePort) leaves no room for \(nodeCount) nodes.") }
        guard metricsBasePort == 0 || (1...(65536 - nodeCount)).contains(metricsBasePort) else {
            throw ValidationError("--metrics-base-port \(metricsBasePort) leaves no room for \(nodeCount) nodes.")
        }
        for o in overrides where !o.contains("=") { throw ValidationError("--override '\(o)' is not key=value.") }
        let managed: Set<String> = ["node.id", "process.roles", "listeners", "controller.listener.names", "controller.quorum.voters",
                                    "log.dirs", "runnel.metrics.listener"]
        for o in overrides {
            let key = String(o.prefix { $0 != "=" }).trimmingCharacters(in: .whitespaces)
            if managed.contains(key) {
                throw ValidationError("--override \(key) is set by `cluster up` for each node; use --brokers, --controllers, --base-port, --metrics-base-port or --dir instead.")
            }
        }
    }

    /// A node's part in the cluster.
    enum Role {
        case combined, controller, broker

        var processRoles: String {
            switch self {
            case .combined: return "broker,controller"
            case .controller: return "controller"
            case .broker: return "broker"
            }
        }
        var servesClients: Bool { self != .controller }
        var votes: Bool { self != .broker }
    }

    func role(of id: Int) -> Role {
        controllers == 0 ? .combined : (id <= controllers ? .controller : .broker)
    }

    func clientPort(_ id: Int) -> Int { basePort + 2 * (id - 1) }
    func controllerPort(_ id: Int) -> Int { clientPort(id) + 1 }

    func run() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let directory = URL(fileURLWithPath: dir).standardizedFileURL.path
        let ids = Array(1...nodeCount)
        let brokerIDs = ids.filter { role(of: $0).servesClients }
        let controllerOnly = Set(ids.filter { !role(of: $0).servesClients })
        let voters = ids.filter { role(of: $0).votes }.map { "\($0)@localhost:\(controllerPort($0))" }.joined(separator: ",")
        var processes: [(id: Int, process: Process)] = []
        var logStarts: [Int: UInt64] = [:]
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        for id in ids {
            let role = role(of: id)
            let listeners: String
            switch role {
            case .combined: listeners = "PLAINTEXT://localhost:\(clientPort(id)),CONTROLLER://localhost:\(controllerPort(id))"
            case .controller: listeners = "CONTROLLER://localhost:\(controllerPort(id))"
            case .broker: listeners = "PLAINTEXT://localhost:\(clientPort(id))"
            }
            let what: String
            switch role {
            case .combined: what = "node \(id) of \(nodeCount)"
            case .controller: what = "controller-only node \(id) of \(nodeCount) (controllers 1-\(controllers))"
            case .broker: what = "broker-only node \(id) of \(nodeCount) (brokers \(controllers + 1)-\(nodeCount))"
            }
            var lines = [
                "# Written by `runnel cluster up`: \(what).",
                "node.id=\(id)",
                "process.roles=\(role.processRoles)",
                "listeners=\(listeners)",
                "controller.listener.names=CONTROLLER",
                "controller.quorum.voters=\(voters)",
                "log.dirs=\(directory)/node-\(id)",
                "runnel.metrics.listener=" + (metricsBasePort == 0 ? "" : "http://localhost:\(metricsBasePort + id - 1)/metrics"),
                // Replicated by default: three copies (or one per broker when fewer). Topics that need
                // acks=all to survive a failure set min.insync.replicas=2 (docs/operations.md).
                "default.replication.factor=\(min(3, brokers))",
                "offsets.topic.replication.factor=\(min(3, brokers))",
                "group.initial.rebalance.delay.ms=0",
            ]
            lines += overrides
            let configPath = "\(directory)/node-\(id).properties"
            try (lines.joined(separator: "\n") + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
            let logPath = "\(directory)/node-\(id).log"
            if !fm.fileExists(atPath: logPath) { _ = fm.createFile(atPath: logPath, contents: nil) }
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            logStarts[id] = log.seekToEndOfFile()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["broker", "--config", configPath]
            process.standardOutput = log
            process.standardError = log
            try process.run()
            processes.append((id, process))
            let ports: String
            switch role {
            case .combined: ports = "client localhost:\(clientPort(id)), controller localhost:\(controllerPort(id))"
            case .controller: ports = "controller localhost:\(controllerPort(id)) (controller only)"
            case .broker: ports = "client localhost:\(clientPort(id)) (broker only)"
            }
            Self.say("node \(id): pid \(process.processIdentifier), \(ports), config \(configPath), log \(logPath)")
        }
        let bootstrap = brokerIDs.map { "localhost:\(clientPort($0))" }.joined(separator: ",")
        let deadline = Date().addingTimeInterval(60)
        // The "broker listening" and "controller listening" lines are at info level; with a
        // quieter runnel.log.level only the port (and the node still running) can tell.
        let quiet = overrides.contains { line in
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return parts.count == 2 && parts[0] == "runnel.log.level" && ["warning", "error", "critical"].contains(parts[1])
        }
        for id in ids {
            // Ready: this node's own log says it listens (another process may hold the port), and
            // the port accepts connections: the client port of a broker, the controller port of a
            // controller-only node.
            let isController = role(of: id) == .controller
            let line = isController ? "controller listening" : "broker listening"
            let port = isController ? controllerPort(id) : clientPort(id)
            while !((quiet || Self.logSays(line, path: "\(directory)/node-\(id).log", from: logStarts[id] ?? 0))
                    && Self.accepts(port: port)) {
                if let dead = processes.first(where: { !$0.process.isRunning }) {
                    Self.stop(processes, last: controllerOnly)
                    Self.fail("node \(dead.id) exited with status \(dead.process.terminationStatus) during start-up:\n"
                              + Self.lastLines(of: "\(directory)/node-\(dead.id).log", count: 3))
                }
                guard Date() < deadline else {
                    Self.stop(processes, last: controllerOnly)
                    Self.fail("node \(id) did not start listening within 60 s; see \(directory)/node-\(id).log")
                }
                usleep(50_000)
            }
        }
        Self.say("bootstrap servers: \(bootstrap)")
        // Wait for Ctrl-C or SIGTERM, reporting any node that exits meanwhile; then stop the rest.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        var reported: Set<Int> = []
        var timeout = timespec(tv_sec: 0, tv_nsec: 200_000_000)
        while sigtimedwait(&signals, nil, &timeout) < 0 {
            for (id, p) in processes where !p.isRunning && !reported.contains(id) {
                reported.insert(id)
                let how = p.terminationReason == .uncaughtSignal ? "was killed by signal \(p.terminationStatus)"
                                                                 : "exited with status \(p.terminationStatus)"
                Self.say("node \(id) \(how); see \(directory)/node-\(id).log")
            }
        }
        let running = processes.filter { $0.process.isRunning }.count
        Self.say("stopping \(running) running node\(running == 1 ? "" : "s")")
        Self.stop(processes, last: controllerOnly)
    }

    /// Prints `message` to standard error and exits with status 1 (a run-time failure, not a usage error).
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("runnel cluster up: \(message)\n".utf8))
        Glibc.exit(1)
    }

    /// Whether the log at `path` holds `text` after byte `offset`.
    static func logSays(_ text: String, path: String, from offset: UInt64) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        handle.seek(toFileOffset: offset)
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self).contains(text)
    }

    /// The last `count` lines of a log, indented, for an error message.
    static func lastLines(of path: String, count: Int) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(count).map { "  \($0)" }.joined(separator: "\n")
    }

    /// Sends SIGTERM to every running node and waits for them (SIGKILL after 30 s). Nodes in
    /// `last` (controller-only nodes) are stopped after the others, so the brokers' controlled
    /// shutdowns still find an active controller.
    static func stop(_ processes: [(id: Int, process: Process)], last: Set<Int> = []) {
        for group in [processes.filter { !last.contains($0.id) }, processes.filter { last.contains($0.id) }] where !group.isEmpty {
            for (_, p) in group where p.isRunning { kill(p.processIdentifier, SIGTERM) }
            let deadline = Date().addingTimeInterval(30)
            for (id, p) in group {
                while p.isRunning && Date() < deadline { usleep(50_000) }
                if p.isRunning {
                    kill(p.processIdentifier, SIGKILL)
                    say("node \(id) did not stop within 30 s: killed")
                }
            }
        }
    }

    /// Whether something accepts TCP connections on localhost:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Writes a line to standard output at once (no buffering, so scripts reading a pipe see it).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
