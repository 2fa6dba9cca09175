import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `runnel cluster up --brokers N [--dir PATH] [--base-port P] [--override key=value ...]`: a local
/// cluster of N nodes in combined mode (broker and controller in one process, as in Kafka's KRaft
/// quick start), one process each, on loopback ports.
struct ClusterUpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a local cluster of brokers (combined broker and controller roles), one process each.",
        discussion: """
        Node i (1...N) listens for clients on localhost:<base-port + 2(i-1)> and for the other \
        controllers on the next port; its metrics are on localhost:<metrics-base-port + i - 1>. Each node's \
        configuration is written to <dir>/node-<i>.properties (start one again by hand with \
        `runnel broker --config <dir>/node-<i>.properties`), its data goes to <dir>/node-<i>/ and \
        its log to <dir>/node-<i>.log. Prints the bootstrap servers once every node accepts \
        connections; Ctrl-C (or SIGTERM) stops them all gracefully.
        """
    )

    @Option(name: .long, help: "Number of nodes (1-9); 3 tolerates the loss of one.")
    var brokers: Int = 3

    @Option(name: .long, help: "Directory for the nodes' configuration, data and logs.")
    var dir: String = "./data/cluster"

    @Option(name: .customLong("base-port"), help: "Client port of node 1; node i uses base-port + 2(i-1), and the next port for its controller listener.")
    var basePort: Int = 9092

    @Option(name: .customLong("metrics-base-port"), help: "Metrics port of node 1 (0 turns metrics off).")
    var metricsBasePort: Int = 9644

    @Option(name: .customLong("override"), help: "A configuration key for every node, as key=value (repeatable).")
    var overrides: [String] = []

    func validate() throws {
        guard (1...9).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 9 (got \(brokers)).") }
        guard (1...(65535 - 2 * brokers)).contains(basePort) else { throw ValidationError("--base-port \(basePort) leaves no room for \(brokers) nodes.") }
        for o in overrides where !o.contains("=") { throw ValidationError("--override '\(o)' is not key=value.") }
        let managed: Set<String> = ["node.id", "process.roles", "listeners", "controller.listener.names", "controller.quorum.voters",
                                    "log.dirs", "runnel.metrics.listener"]
        for o in overrides {
            let key = String(o.prefix { $0 != "=" }).trimmingCharacters(in: .whitespaces)
            if managed.contains(key) {
                throw ValidationError("--override \(key) is set by `cluster up` for each node; use --brokers, --base-port, --metrics-base-port or --dir instead.")
            }
        }
    }

    func run() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let directory = URL(fileURLWithPath: dir).standardizedFileURL.path
        let voters = (1...brokers).map { "\($0)@localhost:\(basePort + 2 * ($0 - 1) + 1)" }.joined(separator: ",")
        var processes: [(id: Int, process: Process)] = []
        var logStarts: [Int: UInt64] = [:]
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        for id in 1...brokers {
            let clientPort = basePort + 2 * (id - 1)
            var lines = [
                "# Written by `runnel cluster up`: node \(id) of \(brokers).",
                "node.id=\(id)",
                "process.roles=broker,controller",
                "listeners=PLAINTEXT://localhost:\(clientPort),CONTROLLER://localhost:\(clientPort + 1)",
                "controller.listener.names=CONTROLLER",
                "controller.quorum.voters=\(voters)",
                "log.dirs=\(directory)/node-\(id)",
                "runnel.metrics.listener=" + (metricsBasePort == 0 ? "" : "http://localhost:\(metricsBasePort + id - 1)/metrics"),
                // Replicated by default: three copies (or one per node when fewer). Topics that need
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
            Self.say("node \(id): pid \(process.processIdentifier), client localhost:\(clientPort), controller localhost:\(clientPort + 1), config \(configPath), log \(logPath)")
        }
        let bootstrap = (1...brokers).map { "localhost:\(basePort + 2 * ($0 - 1))" }.joined(separator: ",")
        let deadline = Date().addingTimeInterval(60)
        // The "broker listening" line is at info level; with a quieter runnel.log.level only the
        // port (and the node still running) can tell.
        let quiet = overrides.contains { line in
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return parts.count == 2 && parts[0] == "runnel.log.level" && ["warning", "error", "critical"].contains(parts[1])
        }
        for id in 1...brokers {
            // Ready: this node's own log says it listens (another process may hold the port), and
            // the port accepts connections.
            while !((quiet || Self.logSays("broker listening", path: "\(directory)/node-\(id).log", from: logStarts[id] ?? 0))
                    && Self.accepts(port: basePort + 2 * (id - 1))) {
                if let dead = processes.first(where: { !$0.process.isRunning }) {
                    Self.stop(processes)
                    Self.fail("node \(dead.id) exited with status \(dead.process.terminationStatus) during start-up:\n"
                              + Self.lastLines(of: "\(directory)/node-\(dead.id).log", count: 3))
                }
                guard Date() < deadline else {
                    Self.stop(processes)
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
        Self.stop(processes)
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

    /// Sends SIGTERM to every running node and waits for them (SIGKILL after 30 s).
    static func stop(_ processes: [(id: Int, process: Process)]) {
        for (_, p) in processes where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(30)
        for (id, p) in processes {
            while p.isRunning && Date() < deadline { usleep(50_000) }
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                say("node \(id) did not stop within 30 s: killed")
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
