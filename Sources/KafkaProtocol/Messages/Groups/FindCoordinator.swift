/// FindCoordinator request (key 10), versions 0-4, flexible from 3.
///
/// Two shapes share this type:
/// - v0-3 ask for one coordinator: `key` (plus `keyType` from v1); `coordinatorKeys` is not on the wire.
/// - v4 (KIP-699) asks for several at once: `keyType` and `coordinatorKeys`; `key` is not on the wire.
///
/// A broker can normalise with ``keys(version:)``.
public struct FindCoordinatorRequest: KafkaRequest, Equatable {
    public typealias Response = FindCoordinatorResponse
    public static let apiKey = ApiKey.findCoordinator

    /// ``keyType`` for a consumer group (the key is the group ID).
    public static let groupKeyType: Int8 = 0
    /// ``keyType`` for a transactional producer (the key is the transactional ID).
    public static let transactionKeyType: Int8 = 1

    /// The coordinator key, v0-3 only (a group ID for `keyType` 0).
    public var key: String
    /// The coordinator key type (v1+): 0 = group, 1 = transaction; v0 always means group.
    public var keyType: Int8
    /// The coordinator keys, v4+ only (KIP-699 batching).
    public var coordinatorKeys: [String]
    public var taggedFields = TaggedFields()

    public init(key: String = "", keyType: Int8 = 0, coordinatorKeys: [String] = []) {
        self.key = key
        self.keyType = keyType
        self.coordinatorKeys = coordinatorKeys
    }

    /// The keys asked for in `version`: `[key]` before v4, `coordinatorKeys` from v4.
    public func keys(version: Int16) -> [String] {
        version >= 4 ? coordinatorKeys : [key]
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        key = version <= 3 ? try reader.readString("key") : ""
        keyType = version >= 1 ? try reader.readInt8("key_type") : 0
        coordinatorKeys = version >= 4 ? try reader.readArray("coordinator_keys") { try $0.readString("coordinator_keys") } : []
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version <= 3 { writer.writeString(key) }
        if version >= 1 { writer.writeInt8(keyType) }
        if version >= 4 { writer.writeArray(coordinatorKeys) { $0.writeString($1) } }
        writer.writeTaggedFields(taggedFields)
    }
}

/// FindCoordinator response (key 10), versions 0-4, flexible from 3.
///
/// v0-3 carry one result in the top-level `errorCode` / `errorMessage` / `nodeID` / `host` / `port`;
/// v4 (KIP-699) carries one ``Coordinator`` per requested key in `coordinators` and none of the
/// top-level result fields. Note the order differs: the top-level error comes first, a
/// ``Coordinator``'s error comes after its port. When there is no coordinator Kafka sends node
/// -1, host "" and port -1.
public struct FindCoordinatorResponse: KafkaMessage, Equatable {
    /// The result for one key (v4+).
    public struct Coordinator: Equatable, Sendable {
        /// The coordinator key this result is for.
        public var key: String
        /// The coordinator's broker ID, -1 on error.
        public var nodeID: Int32
        public var host: String
        public var port: Int32
        public var errorCode: ErrorCode
        /// The error message, `nil` when there is no error.
        public var errorMessage: String?
        public var taggedFields = TaggedFields()

        public init(key: String, nodeID: Int32, host: String, port: Int32,
                    errorCode: ErrorCode = .none, errorMessage: String? = nil) {
            self.key = key
            self.nodeID = nodeID
            self.host = host
            self.port = port
            self.errorCode = errorCode
            self.errorMessage = errorMessage
        }
    }

    /// Milliseconds the request was throttled (v1+).
    public var throttleTimeMs: Int32
    /// The error code (v0-3).
    public var errorCode: ErrorCode
    /// The error message (v1-3), `nil` when there is no error.
    public var errorMessage: String?
    /// The coordinator's broker ID (v0-3), -1 on error.
    public var nodeID: Int32
    /// The coordinator's host (v0-3).
    public var host: String
    /// The coordinator's port (v0-3).
    public var port: Int32
    /// One result per requested key (v4+).
    public var coordinators: [Coordinator]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, errorMessage: String? = nil,
                nodeID: Int32 = 0, host: String = "", port: Int32 = 0, coordinators: [Coordinator] = []) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.nodeID = nodeID
        self.host = host
        self.port = port
        self.coordinators = coordinators
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = version >= 1 ? try reader.readInt32("throttle_time_ms") : 0
        if version <= 3 {
            errorCode = ErrorCode(try reader.readInt16("error_code"))
            errorMessage = version >= 1 ? try reader.readNullableString("error_message") : nil
            nodeID = try reader.readInt32("node_id")
            host = try reader.readString("host")
            port = try reader.readInt32("port")
            coordinators = []
        } else {
            errorCode = .none
            errorMessage = nil
            nodeID = 0
            host = ""
            port = 0
            coordinators = try reader.readArray("coordinators") { r in
                var c = Coordinator(key: try r.readString("key"), nodeID: try r.readInt32("node_id"),
                                    host: try r.readString("host"), port: try r.readInt32("port"),
                                    errorCode: ErrorCode(try r.readInt16("error_code")),
                                    errorMessage: try r.readNullableString("error_message"))
                c.taggedFields = try r.readTaggedFields()
                return c
            }
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 1 { writer.writeInt32(throttleTimeMs) }
        if version <= 3 {
            writer.writeInt16(errorCode.rawValue)
            if version >= 1 { writer.writeNullableString(errorMessage) }
            writer.writeInt32(nodeID)
            writer.writeString(host)
            writer.writeInt32(port)
        } else {
            writer.writeArray(coordinators) { w, c in
                w.writeString(c.key)
                w.writeInt32(c.nodeID)
                w.writeString(c.host)
                w.writeInt32(c.port)
                w.writeInt16(c.errorCode.rawValue)
                w.writeNullableString(c.errorMessage)
                w.writeTaggedFields(c.taggedFields)
            }
        }
        writer.writeTaggedFields(taggedFields)
    }
}
