import NIOCore

// Shared pieces of the KRaft quorum RPCs (Kafka 3.9 message schemas, KIP-595 and KIP-853).

/// The all-zero directory id (`Uuid.ZERO_UUID`), the schema default of every `uuid` field here.
public let zeroDirectoryID = UUIDBytes(high: 0, low: 0)

/// One topic entry of a quorum RPC: a topic name and its per-partition entries (`TopicData` /
/// `TopicSnapshot` in the schemas, whose fields are the same: a name, partitions, a tag buffer).
public struct QuorumTopic<Partition: Equatable & Sendable>: Equatable, Sendable {
    public var topicName: String
    public var partitions: [Partition]
    public var taggedFields = TaggedFields()

    public init(topicName: String, partitions: [Partition]) {
        self.topicName = topicName
        self.partitions = partitions
    }
}

/// `NodeEndpoint` (KIP-853): a node id and its address; the responses carry these as tagged field 0
/// (version 1+, or 2+ in DescribeQuorum's untagged `Nodes`).
public struct QuorumNodeEndpoint: Equatable, Sendable {
    public var nodeID: Int32
    public var host: String
    public var port: UInt16
    public var taggedFields = TaggedFields()

    public init(nodeID: Int32, host: String, port: UInt16) {
        self.nodeID = nodeID
        self.host = host
        self.port = port
    }
}

/// `LeaderEndpoint` / `Listener` (KIP-853): a listener name and its address.
public struct QuorumListener: Equatable, Sendable {
    public var name: String
    public var host: String
    public var port: UInt16
    public var taggedFields = TaggedFields()

    public init(name: String, host: String, port: UInt16) {
        self.name = name
        self.host = host
        self.port = port
    }
}

extension KafkaReader {
    /// A `uint16` field (big-endian, unsigned).
    mutating func readUInt16(_ field: String) throws -> UInt16 {
        UInt16(bitPattern: try readInt16(field))
    }

    mutating func readTopics<P>(_ partition: (inout KafkaReader) throws -> P) throws -> [QuorumTopic<P>] {
        try readArray("topics") { r in
            let name = try r.readString("topic_name")
            var t = QuorumTopic(topicName: name, partitions: try r.readArray("partitions", partition))
            t.taggedFields = try r.readTaggedFields()
            return t
        }
    }

    mutating func readNodeEndpoint() throws -> QuorumNodeEndpoint {
        var e = QuorumNodeEndpoint(nodeID: try readInt32("node_id"), host: try readString("host"), port: try readUInt16("port"))
        e.taggedFields = try readTaggedFields()
        return e
    }

    mutating func readListener() throws -> QuorumListener {
        var l = QuorumListener(name: try readString("name"), host: try readString("host"), port: try readUInt16("port"))
        l.taggedFields = try readTaggedFields()
        return l
    }
}

extension KafkaWriter {
    /// A `uint16` field.
    mutating func writeUInt16(_ v: UInt16) { writeInt16(Int16(bitPattern: v)) }

    mutating func writeTopics<P>(_ topics: [QuorumTopic<P>], _ partition: (inout KafkaWriter, P) -> Void) {
        writeArray(topics) { w, t in
            w.writeString(t.topicName)
            w.writeArray(t.partitions, partition)
            w.writeTaggedFields(t.taggedFields)
        }
    }

    mutating func writeNodeEndpoint(_ e: QuorumNodeEndpoint) {
        writeInt32(e.nodeID); writeString(e.host); writeUInt16(e.port)
        writeTaggedFields(e.taggedFields)
    }

    mutating func writeListener(_ l: QuorumListener) {
        writeString(l.name); writeString(l.host); writeUInt16(l.port)
        writeTaggedFields(l.taggedFields)
    }
}

extension TaggedFields {
    /// Takes the tagged `NodeEndpoints` array (tag 0 in the quorum responses) out of the raw fields.
    mutating func takeNodeEndpoints() throws -> [QuorumNodeEndpoint] {
        guard let raw = remove(0) else { return [] }
        return try KafkaReader.decodeTaggedValue(raw, field: "node_endpoints") { r in
            try r.readArray("node_endpoints") { try $0.readNodeEndpoint() }
        }
    }

    /// A copy carrying `endpoints` as tag 0 when non-empty (the schema default is empty, which Kafka omits).
    func withNodeEndpoints(_ endpoints: [QuorumNodeEndpoint]) -> TaggedFields {
        guard !endpoints.isEmpty else { return self }
        return setting(0) { w in w.writeArray(endpoints) { $0.writeNodeEndpoint($1) } }
    }
}
