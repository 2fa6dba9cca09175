import ArgumentParser

/// `runnel cluster …`: commands about the whole cluster.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Inspect the cluster.",
        subcommands: [ClusterDescribeCommand.self]
    )
}
