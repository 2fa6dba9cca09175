import ArgumentParser
import Foundation
import Logging
import RunnelBroker
import RunnelClient

/// Connection options every client subcommand takes.
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("bootstrap-server"),
            help: "Brokers to connect to, host:port[,host:port...] (default: $RUNNEL_BOOTSTRAP_SERVERS, else localhost:9092).")
    var bootstrapServer: String?

    @Option(name: .customShort("X"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("A client property as name=value (Kafka property names, e.g. -X request.timeout.ms=5000).",
                               valueName: "name=value"))
    var properties: [String] = []

    @Option(name: .customLong("command-config"),
            help: ArgumentHelp("A properties file of client settings, as Kafka's tools take it (e.g. security.protocol=SSL, ssl.ca.location=ca.pem); -X wins over it.",
                               valueName: "file"))
    var commandConfig: String?

    /// The bootstrap list from the flag, the environment or the default.
    var bootstrap: String {
        bootstrapServer ?? ProcessInfo.processInfo.environment["RUNNEL_BOOTSTRAP_SERVERS"] ?? "localhost:9092"
    }

    /// `--command-config` properties, then `-X` ones, plus `bootstrap.servers`, with `extra`
    /// (flags) taking precedence.
    func propertyMap(_ extra: [String: String] = [:]) throws -> [String: String] {
        var map: [String: String] = [:]
        if let commandConfig {
            guard let data = FileManager.default.contents(atPath: commandConfig) else {
                throw CLIError("cannot read --command-config \(commandConfig): no such file or not readable")
            }
            do {
                for (key, value) in try BrokerConfig.parseProperties(String(decoding: data, as: UTF8.self), path: commandConfig) {
                    map[key] = value
                }
            } catch {
                throw CLIError("\(error)")
            }
        }
        for entry in properties {
            guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
                throw ValidationError("-X expects name=value, got '\(entry)'")
            }
            map[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        map["bootstrap.servers"] = map["bootstrap.servers"] ?? bootstrap
        if bootstrapServer != nil { map["bootstrap.servers"] = bootstrap }
        for (key, value) in extra { map[key] = value }
        return map
    }

    func clientConfiguration() throws -> ClientConfiguration {
        var config = try ClientConfiguration(properties: propertyMap())
        // A terminal user wants a fast answer when nothing listens.
        if !properties.contains(where: { $0.hasPrefix("request.timeout.ms=") }) { config.requestTimeout = .seconds(15) }
        return config
    }
}

/// Runs a client subcommand body, turning client errors into one `error: …` line on stderr and
/// exit status 1 (ArgumentParser handles usage errors with status 64).
func runClient(_ body: () async throws -> Void) async throws {
    LoggingSystem.bootstrapOnce()
    do {
        try await body()
    } catch let error as ClientError {
        printError("error: \(error)")
        throw ExitCode(1)
    } catch let error as CLIError {
        printError("error: \(error.message)")
        throw ExitCode(1)
    }
}

/// A failure a subcommand reports itself, with the fix in the message.
struct CLIError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Buffered stdout for record output (print() flushes too often for a million lines).
final class OutputBuffer {
    private var data = Data()

    func write(_ text: String) {
        data.append(contentsOf: text.utf8)
        if data.count >= 64 * 1024 { flush() }
    }

    func write(_ bytes: Data) {
        data.append(bytes)
        if data.count >= 64 * 1024 { flush() }
    }

    func flush() {
        guard !data.isEmpty else { return }
        FileHandle.standardOutput.write(data)
        data.removeAll(keepingCapacity: true)
    }
}

extension LoggingSystem {
    /// Client subcommands log warnings and worse to stderr; `RUNNEL_LOG_LEVEL` lowers the bar.
    static func bootstrapOnce() {
        let level = ProcessInfo.processInfo.environment["RUNNEL_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Parses `k=v` pairs from repeated options.
func parsePairs(_ entries: [String], option: String) throws -> [(String, String)] {
    try entries.map { entry in
        guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
            throw ValidationError("\(option) expects key=value, got '\(entry)'")
        }
        return (String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
    }
}
