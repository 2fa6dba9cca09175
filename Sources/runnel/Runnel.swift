import ArgumentParser
import Foundation

/// The `runnel` command line.
@main
struct Runnel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runnel",
        abstract: "Runnel: a Kafka-compatible, replicated, append-only log broker.",
        subcommands: [BrokerCommand.self, ConfigReferenceCommand.self, LogCommand.self,
                      TopicCommand.self, ProduceCommand.self, ConsumeCommand.self, GroupCommand.self, AclCommand.self,
                      ClusterCommand.self, PerfCommand.self, UserCommand.self]
    )

    /// ArgumentParser's entry point, except that usage errors of `runnel log …` exit with status 2
    /// (its documented code for usage errors and unreadable files) instead of EX_USAGE (64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure, CommandLine.arguments.dropFirst().first == "log" {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}
