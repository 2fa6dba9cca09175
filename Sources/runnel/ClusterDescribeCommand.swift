import ArgumentParser
import RunnelClient

/// `runnel cluster describe`: cluster id, controller and brokers (DescribeCluster).
struct ClusterDescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show the cluster id, the controller and every broker."
    )

    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient {
            let admin = Admin(configuration: try client.clientConfiguration())
            let cluster = try await admin.describeCluster()
            await admin.close()
            print("Cluster ID: \(cluster.clusterID ?? "-")")
            print("Controller: \(cluster.controllerID)")
            print("Brokers:")
            for broker in cluster.brokers {
                print("  \(broker.id)\t\(broker.address)\track: \(broker.rack ?? "-")")
            }
        }
    }
}
