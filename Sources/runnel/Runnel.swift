import ArgumentParser

/// The `runnel` command line.
@main
struct Runnel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runnel",
        abstract: "Runnel: a Kafka-compatible, replicated, append-only log broker.",
        subcommands: [BrokerCommand.self, ConfigReferenceCommand.self]
    )
}
