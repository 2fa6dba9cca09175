/// DescribeCluster request (key 60), versions 0-1, flexible from 0 (KIP-700): the brokers, the
/// controller and the cluster id, as admin clients list them.
public struct DescribeClusterRequest: KafkaRequest, Equatable {
    public typealias Response = DescribeClusterResponse
    public static let apiKey = ApiKey.describeCluster

    public var includeClusterAuthorizedOperations: Bool
    /// v1+: 1 = brokers, 2 = controllers.
    public var endpointType: Int8 = 1
    public var taggedFields = TaggedFields()

    public init(includeClusterAuthorizedOperations: Bool = false, endpointType: Int8 = 1) {
        self.includeClusterAuthorizedOperations = includeClusterAuthorizedOperations
        self.endpointType = endpointType
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        includeClusterAuthorizedOperations = try reader.readBool("include_cluster_authorized_operations")
        if version >= 1 { endpointType = try reader.readInt8("endpoint_type") }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeBool(includeClusterAuthorizedOperations)
        if version >= 1 { writer.writeInt8(endpointType) }
        writer.writeTaggedFields(taggedFields)
    }
}

/// DescribeCluster response (key 60), versions 0-1, flexible from 0.
public struct DescribeClusterResponse: KafkaMessage, Equatable {
    public struct Broker: Equatable, Sendable {
        public var brokerID: Int32
        public var host: String
        public var port: Int32
        public var rack: String?
        public var taggedFields = TaggedFields()

        public init(brokerID: Int32, host: String, port: Int32, rack: String? = nil) {
            self.brokerID = brokerID
            self.host = host
            self.port = port
            self.rack = rack
        }
    }

    /// Milliseconds the request was throttled.
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    public var errorMessage: String?
    /// v1+: the endpoint type described (1 = brokers).
    public var endpointType: Int8 = 1
    public var clusterID: String
    public var controllerID: Int32
    public var brokers: [Broker]
    /// Bit field of authorized operations; `Int32.min` when not requested.
    public var clusterAuthorizedOperations: Int32
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, errorMessage: String? = nil, endpointType: Int8 = 1,
                clusterID: String, controllerID: Int32, brokers: [Broker], clusterAuthorizedOperations: Int32 = Int32.min) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.endpointType = endpointType
        self.clusterID = clusterID
        self.controllerID = controllerID
        self.brokers = brokers
        self.clusterAuthorizedOperations = clusterAuthorizedOperations
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        errorMessage = try reader.readNullableString("error_message")
        if version >= 1 { endpointType = try reader.readInt8("endpoint_type") }
        clusterID = try reader.readString("cluster_id")
        controllerID = try reader.readInt32("controller_id")
        brokers = try reader.readArray("brokers") { r in
            var b = Broker(brokerID: try r.readInt32("broker_id"), host: try r.readString("host"), port: try r.readInt32("port"),
                           rack: try r.readNullableString("rack"))
            b.taggedFields = try r.readTaggedFields()
            return b
        }
        clusterAuthorizedOperations = try reader.readInt32("cluster_authorized_operations")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeInt16(errorCode.rawValue)
        writer.writeNullableString(errorMessage)
        if version >= 1 { writer.writeInt8(endpointType) }
        writer.writeString(clusterID)
        writer.writeInt32(controllerID)
        writer.writeArray(brokers) { w, b in
            w.writeInt32(b.brokerID)
            w.writeString(b.host)
            w.writeInt32(b.port)
            w.writeNullableString(b.rack)
            w.writeTaggedFields(b.taggedFields)
        }
        writer.writeInt32(clusterAuthorizedOperations)
        writer.writeTaggedFields(taggedFields)
    }
}
