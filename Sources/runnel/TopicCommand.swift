import ArgumentParser
import RunnelClient

/// `runnel topic create|list|describe|alter|delete`, like `kafka-topics.sh`, and
/// `runnel topic delete-records`, like `kafka-delete-records.sh`.
struct TopicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topic",
        abstract: "Create, list, describe, alter and delete topics, and delete records from them.",
        subcommands: [Create.self, List.self, Describe.self, Alter.self, Delete.self, DeleteRecords.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Topic name.") var name: String
        @Option(name: .long, help: "Partition count (default: the broker's num.partitions).") var partitions: Int32 = -1
        @Option(name: .customLong("replication-factor"), help: "Replicas per partition (default: the broker's).")
        var replicationFactor: Int16 = -1
        @Option(name: .long, help: "A topic config as key=value; repeatable.") var config: [String] = []
        @Flag(name: .customLong("if-not-exists"), help: "Succeed when the topic already exists.") var ifNotExists = false

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                let configs = Dictionary(try parsePairs(config, option: "--config"), uniquingKeysWith: { $1 })
                do {
                    try await admin.createTopics([NewTopic(name: name, partitions: partitions,
                                                           replicationFactor: replicationFactor, configs: configs)])
                } catch ClientError.broker(code: .topicAlreadyExists, _, _) where ifNotExists {
                    print("Topic \(name) already exists.")
                    return
                } catch ClientError.broker(code: .topicAlreadyExists, _, _) {
                    throw CLIError("topic '\(name)' already exists; use --if-not-exists to accept that")
                }
                await admin.close()
                print("Created topic \(name).")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topic names, one per line.")
        @OptionGroup var client: ClientOptions
        @Flag(name: .customLong("internal"), help: "Include internal topics (__consumer_offsets).") var includeInternal = false

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                for name in try await admin.listTopics(includeInternal: includeInternal) { print(name) }
                await admin.close()
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show partitions, leaders, replicas and non-default configs.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Topic names (default: every topic).") var names: [String] = []
        @Flag(name: .customLong("under-replicated-partitions"),
              help: "Only partitions whose ISR is smaller than their replica list (kafka-topics.sh's flag).")
        var underReplicated = false
        @Flag(name: .customLong("unavailable-partitions"), help: "Only partitions without a live leader.")
        var unavailable = false
        @Flag(name: .customLong("replica-lag"),
              help: "Also ask every broker for its replicas' offset lag (DescribeLogDirs) and show it as Lag: broker=offsets.")
        var replicaLag = false

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                let topics = names.isEmpty ? try await admin.listTopics() : names
                let filtered = underReplicated || unavailable
                let described = try await admin.describeTopics(topics)
                var lags: [TopicPartition: [Int32: Int64]] = [:]
                if replicaLag {
                    let brokers = Set(described.flatMap { topic in
                        topic.partitions.flatMap { p in p.replicas.filter { !p.offlineReplicas.contains($0) } }
                    })
                    for broker in brokers.sorted() {
                        for replica in try await admin.describeLogDirs(broker: broker, topics: described.map(\.name)) {
                            lags[replica.topicPartition, default: [:]][broker] = replica.offsetLag
                        }
                    }
                }
                func line(_ topic: String?, _ name: String, _ p: PartitionMetadata) -> String {
                    var text = Self.partitionLine(topic: topic, p)
                    if replicaLag {
                        let lag = lags[TopicPartition(topic: name, partition: p.partition)] ?? [:]
                        text += "\tLag: " + p.replicas.map { "\($0)=\(lag[$0].map(String.init) ?? "?")" }.joined(separator: ",")
                    }
                    return text
                }
                for topic in described {
                    if filtered {
                        // As kafka-topics.sh: only the matching partitions, without the topic line.
                        for p in topic.partitions where (underReplicated && p.inSyncReplicas.count < p.replicas.count)
                            || (unavailable && p.leader < 0) {
                            print(line(topic.name, topic.name, p))
                        }
                        continue
                    }
                    let configs = try await admin.describeConfigs(.topic(topic.name))
                        .filter { !$0.isDefault && $0.source == "DYNAMIC_TOPIC_CONFIG" }
                        .map { "\($0.name)=\($0.value ?? "")" }.joined(separator: ",")
                    let replication = topic.partitions.first?.replicas.count ?? 0
                    print("Topic: \(topic.name)\tPartitions: \(topic.partitionCount)\tReplicationFactor: \(replication)\tConfigs: \(configs)")
                    for p in topic.partitions { print(line(nil, topic.name, p)) }
                }
                await admin.close()
            }
        }

        /// One partition as kafka-topics.sh prints it; replicas on fenced brokers follow as `Offline:`.
        static func partitionLine(topic: String?, _ p: PartitionMetadata) -> String {
            let list = { (ids: [Int32]) in ids.map(String.init).joined(separator: ",") }
            var line = "\t\(topic.map { "Topic: \($0)\t" } ?? "")Partition: \(p.partition)\tLeader: \(p.leader)\tReplicas: \(list(p.replicas))\tIsr: \(list(p.inSyncReplicas))"
            if !p.offlineReplicas.isEmpty { line += "\tOffline: \(list(p.offlineReplicas))" }
            return line
        }
    }

    struct Alter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add partitions or change topic configs.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Topic name.") var name: String
        @Option(name: .long, help: "New total partition count (can only grow).") var partitions: Int32?
        @Option(name: .long, help: "Set a topic config, key=value; repeatable.") var config: [String] = []
        @Option(name: .customLong("delete-config"), help: "Reset a topic config to its default; repeatable.")
        var deleteConfig: [String] = []

        func validate() throws {
            if partitions == nil && config.isEmpty && deleteConfig.isEmpty {
                throw ValidationError("nothing to change: give --partitions, --config or --delete-config")
            }
        }

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                if let partitions {
                    try await admin.createPartitions(topic: name, totalCount: partitions)
                    print("Topic \(name) now has \(partitions) partitions.")
                }
                let changes = try parsePairs(config, option: "--config").map { ConfigChange.set($0.0, $0.1) }
                    + deleteConfig.map { ConfigChange.delete($0) }
                if !changes.isEmpty {
                    try await admin.alterConfigs(.topic(name), changes: changes)
                    print("Updated \(changes.count) config(s) of topic \(name).")
                }
                await admin.close()
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete topics.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Topic names.") var names: [String]

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                try await admin.deleteTopics(names)
                for name in names { print("Deleted topic \(name).") }
                await admin.close()
            }
        }
    }

    struct DeleteRecords: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-records",
            abstract: "Delete the records before an offset (move the log start offset forward).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Topic name.") var name: String
        @Option(name: .long, help: "Only this partition; repeatable (default: every partition).") var partition: [Int32] = []
        @Option(name: .long, help: "Delete every record before this offset.") var before: Int64?
        @Flag(name: .long, help: "Delete every record up to the high watermark.") var all = false

        func validate() throws {
            guard (before != nil) != all else { throw ValidationError("give exactly one of --before, --all") }
            if let before, before < 0 { throw ValidationError("--before must be an offset of 0 or more") }
        }

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                let partitions = partition.isEmpty
                    ? try await admin.partitions(of: name)
                    : partition.map { TopicPartition(topic: name, partition: $0) }
                let target: Admin.RecordsToDelete = before.map { .before($0) } ?? .all
                let result: [TopicPartition: Int64]
                do {
                    result = try await admin.deleteRecords(Dictionary(uniqueKeysWithValues: partitions.map { ($0, target) }))
                } catch ClientError.broker(code: .offsetOutOfRange, _, let context) {
                    throw CLIError("\(context): the offset is past the partition's high watermark (the offset after its last record)")
                }
                await admin.close()
                for tp in result.keys.sorted(by: { $0.partition < $1.partition }) {
                    print("Partition \(tp.topic)-\(tp.partition): log start offset \(result[tp]!).")
                }
            }
        }
    }
}
