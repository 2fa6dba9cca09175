import NIOCore

/// The consumer protocol's JoinGroup metadata and SyncGroup assignment (Kafka
/// `ConsumerProtocolSubscription.json` / `ConsumerProtocolAssignment.json`), which Java, librdkafka
/// and this client all read, so members of different clients can share a group.
///
/// Both are non-flexible: int16 version, int16-length strings, int32-count arrays, int32-length
/// nullable bytes. Newer versions only append fields, so a reader takes the fields it knows and
/// ignores the rest.
enum ConsumerProtocol {
    /// `protocol_type` of consumer groups in JoinGroup.
    static let protocolType = "consumer"

    struct Subscription: Equatable, Sendable {
        var topics: [String]
        var userData: ByteBuffer?
        /// Partitions the member owns now (v1+, used by cooperative assignors, KIP-429).
        var ownedPartitions: [TopicPartition] = []
        /// The generation of `ownedPartitions` (v2+), -1 when unknown.
        var generationID: Int32 = -1
    }

    struct Assignment: Equatable, Sendable {
        var partitions: [TopicPartition]
        var userData: ByteBuffer?
    }

    /// Encodes a subscription in version 1 (topics, user data, owned partitions).
    static func encode(_ subscription: Subscription) -> ByteBuffer {
        var out = ByteBuffer()
        out.writeInteger(Int16(1), endianness: .big)
        writeArray(subscription.topics, to: &out) { writeString($0, to: &$1) }
        writeBytes(subscription.userData, to: &out)
        writeTopicPartitions(subscription.ownedPartitions, to: &out)
        return out
    }

    /// - Throws: ``ClientError/malformedResponse(api:reason:)`` for truncated input.
    static func decodeSubscription(_ bytes: ByteBuffer) throws -> Subscription {
        var input = bytes
        let version = try read(Int16.self, from: &input)
        let topics = try readArray(from: &input) { try readString(from: &$0) }
        var subscription = Subscription(topics: topics, userData: try readBytes(from: &input))
        if version >= 1, input.readableBytes > 0 { subscription.ownedPartitions = try readTopicPartitions(from: &input) }
        if version >= 2, input.readableBytes >= 4 { subscription.generationID = try read(Int32.self, from: &input) }
        return subscription
    }

    /// Encodes an assignment in version 0 (partitions, user data), which every reader accepts.
    static func encode(_ assignment: Assignment) -> ByteBuffer {
        var out = ByteBuffer()
        out.writeInteger(Int16(0), endianness: .big)
        writeTopicPartitions(assignment.partitions, to: &out)
        writeBytes(assignment.userData, to: &out)
        return out
    }

    /// An empty buffer (what a coordinator sends a member it gave nothing) is an empty assignment.
    static func decodeAssignment(_ bytes: ByteBuffer) throws -> Assignment {
        var input = bytes
        guard input.readableBytes > 0 else { return Assignment(partitions: [], userData: nil) }
        _ = try read(Int16.self, from: &input)
        let partitions = try readTopicPartitions(from: &input)
        let userData = input.readableBytes >= 4 ? try readBytes(from: &input) : nil
        return Assignment(partitions: partitions, userData: userData)
    }

    // MARK: primitives

    private static func writeString(_ string: String, to out: inout ByteBuffer) {
        out.writeInteger(Int16(string.utf8.count), endianness: .big)
        out.writeString(string)
    }

    private static func writeBytes(_ bytes: ByteBuffer?, to out: inout ByteBuffer) {
        guard var bytes else { out.writeInteger(Int32(-1), endianness: .big); return }
        out.writeInteger(Int32(bytes.readableBytes), endianness: .big)
        out.writeBuffer(&bytes)
    }

    private static func writeArray<T>(_ items: [T], to out: inout ByteBuffer, _ write: (T, inout ByteBuffer) -> Void) {
        out.writeInteger(Int32(items.count), endianness: .big)
        for item in items { write(item, &out) }
    }

    private static func writeTopicPartitions(_ partitions: [TopicPartition], to out: inout ByteBuffer) {
        let byTopic = Dictionary(grouping: partitions, by: \.topic)
        writeArray(byTopic.keys.sorted(), to: &out) { topic, out in
            writeString(topic, to: &out)
            writeArray(byTopic[topic]!.map(\.partition).sorted(), to: &out) { $1.writeInteger($0, endianness: .big) }
        }
    }

    private static func read<T: FixedWidthInteger>(_ type: T.Type, from input: inout ByteBuffer) throws -> T {
        guard let value = input.readInteger(endianness: .big, as: T.self) else { throw truncated }
        return value
    }

    private static func readString(from input: inout ByteBuffer) throws -> String {
        let length = try read(Int16.self, from: &input)
        guard length >= 0, let string = input.readString(length: Int(length)) else { throw truncated }
        return string
    }

    private static func readBytes(from input: inout ByteBuffer) throws -> ByteBuffer? {
        let length = try read(Int32.self, from: &input)
        if length < 0 { return nil }
        guard let bytes = input.readSlice(length: Int(length)) else { throw truncated }
        return bytes
    }

    private static func readArray<T>(from input: inout ByteBuffer, _ element: (inout ByteBuffer) throws -> T) throws -> [T] {
        let count = try read(Int32.self, from: &input)
        guard count >= 0, Int(count) <= input.readableBytes else { return [] }
        return try (0..<count).map { _ in try element(&input) }
    }

    private static func readTopicPartitions(from input: inout ByteBuffer) throws -> [TopicPartition] {
        try readArray(from: &input) { input -> [TopicPartition] in
            let topic = try readString(from: &input)
            return try readArray(from: &input) { TopicPartition(topic: topic, partition: try read(Int32.self, from: &$0)) }
        }.flatMap { $0 }
    }

    private static var truncated: ClientError {
        .malformedResponse(api: "consumer protocol", reason: "truncated subscription or assignment")
    }
}
