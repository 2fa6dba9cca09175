import ArgumentParser

/// `runnel cluster …`: describe a cluster, or start a local one for development and tests.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Describe the cluster, or start a local one.",
        subcommands: [ClusterDescribeCommand.self, ClusterUpCommand.self]
    )
}
