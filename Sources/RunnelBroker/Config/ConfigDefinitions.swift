/// Every broker and topic key Runnel understands, with Kafka's names and defaults
/// (Kafka `KafkaConfig`, `ServerLogConfigs`, `TopicConfig`).
public enum ConfigDefinitions {
    public static let broker: [ConfigDefinition] = [
        ConfigDefinition("node.id", .broker, .int, default: "1", .atLeast(0),
                         doc: "The id of this broker. Stored in meta.properties on first start; later starts must match."),
        ConfigDefinition("listeners", .broker, .list, default: "PLAINTEXT://localhost:9092", .nonEmptyList,
                         doc: "Comma-separated listener URIs the broker binds, as PROTOCOL://host:port. An empty host binds all interfaces. Only PLAINTEXT is supported."),
        ConfigDefinition("advertised.listeners", .broker, .list, default: nil,
                         doc: "Listener URIs clients are told to connect to in Metadata responses. Defaults to listeners."),
        ConfigDefinition("log.dirs", .broker, .list, default: "./data", .nonEmptyList,
                         doc: "Directory holding the partition logs and the metadata log. One directory for now (JBOD is not supported yet)."),
        ConfigDefinition("num.partitions", .broker, .int, default: "1", .atLeast(1),
                         doc: "Partitions of an auto-created topic, and of CreateTopics with num_partitions -1."),
        ConfigDefinition("default.replication.factor", .broker, .short, default: "1", .atLeast(1),
                         doc: "Replication factor of auto-created topics and CreateTopics with replication_factor -1."),
        ConfigDefinition("auto.create.topics.enable", .broker, .boolean, default: "true",
                         doc: "Create a topic when a Metadata request that allows it names an unknown topic."),
        ConfigDefinition("socket.request.max.bytes", .broker, .int, default: "104857600", .atLeast(1),
                         doc: "Largest request frame, in bytes. A larger size prefix closes the connection."),
        ConfigDefinition("message.max.bytes", .broker, .int, default: "1048588", .atLeast(0),
                         doc: "Largest record batch a produce may append, in bytes (topic override max.message.bytes)."),
        ConfigDefinition("log.segment.bytes", .broker, .int, default: "1073741824", .atLeast(14),
                         doc: "Size in bytes at which the active segment rolls (topic override segment.bytes)."),
        ConfigDefinition("log.index.interval.bytes", .broker, .int, default: "4096", .atLeast(0),
                         doc: "Bytes of appended data between two offset index entries (topic override index.interval.bytes)."),
        ConfigDefinition("log.message.timestamp.type", .broker, .string, default: "CreateTime", .oneOf(["CreateTime", "LogAppendTime"]),
                         doc: "Whether record timestamps are the producer's (CreateTime) or the broker's append time (topic override message.timestamp.type)."),
        ConfigDefinition("runnel.log.level", .broker, .string, default: "info",
                         .oneOf(["trace", "debug", "info", "notice", "warning", "error", "critical"]),
                         doc: "Runnel extension: the lowest level of log lines written to stderr."),
    ]

    public static let topic: [ConfigDefinition] = [
        ConfigDefinition("segment.bytes", .topic, .int, default: "1073741824", .atLeast(14), brokerKey: "log.segment.bytes",
                         doc: "Size in bytes at which this topic's active segments roll."),
        ConfigDefinition("index.interval.bytes", .topic, .int, default: "4096", .atLeast(0), brokerKey: "log.index.interval.bytes",
                         doc: "Bytes of appended data between two offset index entries."),
        ConfigDefinition("max.message.bytes", .topic, .int, default: "1048588", .atLeast(0), brokerKey: "message.max.bytes",
                         doc: "Largest record batch this topic accepts, in bytes."),
        ConfigDefinition("message.timestamp.type", .topic, .string, default: "CreateTime", .oneOf(["CreateTime", "LogAppendTime"]),
                         brokerKey: "log.message.timestamp.type",
                         doc: "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's clock."),
    ]

    static let brokerByName: [String: ConfigDefinition] = Dictionary(uniqueKeysWithValues: broker.map { ($0.name, $0) })
    static let topicByName: [String: ConfigDefinition] = Dictionary(uniqueKeysWithValues: topic.map { ($0.name, $0) })

    /// The definition of a broker key, or `nil`.
    public static func brokerKey(_ name: String) -> ConfigDefinition? { brokerByName[name] }
    /// The definition of a topic key, or `nil`.
    public static func topicKey(_ name: String) -> ConfigDefinition? { topicByName[name] }
}
