import ArgumentParser

/// `runnel cluster …`: local clusters for development and tests.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Start a local cluster.",
        subcommands: [ClusterUpCommand.self]
    )
}
