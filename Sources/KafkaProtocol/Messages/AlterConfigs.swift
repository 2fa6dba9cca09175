/// AlterConfigs request (key 33), versions 0-2, flexible from 2 (KIP-133): replaces the whole set
/// of dynamic configs of each resource (keys left out return to their defaults). v1 is v0.
/// Resource type 2 = topic, 4 = broker ("" = cluster-wide default).
public struct AlterConfigsRequest: KafkaRequest, Equatable {
    public typealias Response = AlterConfigsResponse
    public static let apiKey = ApiKey.alterConfigs

    public struct Config: Equatable, Sendable {
        public var name: String
        /// Null: the key is not set.
        public var value: String?
        public var taggedFields = TaggedFields()

        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
    }

    public struct Resource: Equatable, Sendable {
        public var resourceType: Int8
        public var resourceName: String
        public var configs: [Config]
        public var taggedFields = TaggedFields()

        public init(resourceType: Int8, resourceName: String, configs: [Config]) {
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.configs = configs
        }
    }

    public var resources: [Resource]
    /// Check the request but change nothing.
    public var validateOnly: Bool
    public var taggedFields = TaggedFields()

    public init(resources: [Resource], validateOnly: Bool = false) {
        self.resources = resources
        self.validateOnly = validateOnly
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        resources = try reader.readArray("resources") { r in
            let type = try r.readInt8("resource_type")
            let name = try r.readString("resource_name")
            let configs = try r.readArray("configs") { r in
                var c = Config(name: try r.readString("name"), value: try r.readNullableString("value"))
                c.taggedFields = try r.readTaggedFields()
                return c
            }
            var resource = Resource(resourceType: type, resourceName: name, configs: configs)
            resource.taggedFields = try r.readTaggedFields()
            return resource
        }
        validateOnly = try reader.readBool("validate_only")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(resources) { w, r in
            w.writeInt8(r.resourceType)
            w.writeString(r.resourceName)
            w.writeArray(r.configs) { w, c in
                w.writeString(c.name)
                w.writeNullableString(c.value)
                w.writeTaggedFields(c.taggedFields)
            }
            w.writeTaggedFields(r.taggedFields)
        }
        writer.writeBool(validateOnly)
        writer.writeTaggedFields(taggedFields)
    }
}

/// IncrementalAlterConfigs request (key 44), versions 0-1, flexible from 1 (KIP-339): SET, DELETE,
/// APPEND or SUBTRACT per key; keys not named keep their values.
public struct IncrementalAlterConfigsRequest: KafkaRequest, Equatable {
    public typealias Response = AlterConfigsResponse
    public static let apiKey = ApiKey.incrementalAlterConfigs

    public struct Config: Equatable, Sendable {
        public var name: String
        /// Kafka's `AlterConfigOp.OpType`: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT.
        public var configOperation: Int8
        public var value: String?
        public var taggedFields = TaggedFields()

        public init(name: String, configOperation: Int8, value: String?) {
            self.name = name
            self.configOperation = configOperation
            self.value = value
        }
    }

    public struct Resource: Equatable, Sendable {
        public var resourceType: Int8
        public var resourceName: String
        public var configs: [Config]
        public var taggedFields = TaggedFields()

        public init(resourceType: Int8, resourceName: String, configs: [Config]) {
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.configs = configs
        }
    }

    public var resources: [Resource]
    public var validateOnly: Bool
    public var taggedFields = TaggedFields()

    public init(resources: [Resource], validateOnly: Bool = false) {
        self.resources = resources
        self.validateOnly = validateOnly
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        resources = try reader.readArray("resources") { r in
            let type = try r.readInt8("resource_type")
            let name = try r.readString("resource_name")
            let configs = try r.readArray("configs") { r in
                var c = Config(name: try r.readString("name"), configOperation: try r.readInt8("config_operation"),
                               value: try r.readNullableString("value"))
                c.taggedFields = try r.readTaggedFields()
                return c
            }
            var resource = Resource(resourceType: type, resourceName: name, configs: configs)
            resource.taggedFields = try r.readTaggedFields()
            return resource
        }
        validateOnly = try reader.readBool("validate_only")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(resources) { w, r in
            w.writeInt8(r.resourceType)
            w.writeString(r.resourceName)
            w.writeArray(r.configs) { w, c in
                w.writeString(c.name)
                w.writeInt8(c.configOperation)
                w.writeNullableString(c.value)
                w.writeTaggedFields(c.taggedFields)
            }
            w.writeTaggedFields(r.taggedFields)
        }
        writer.writeBool(validateOnly)
        writer.writeTaggedFields(taggedFields)
    }
}

/// AlterConfigs (key 33, v0-2) and IncrementalAlterConfigs (key 44, v0-1) responses: the two
/// schemas are field for field the same, flexible from v2 and v1 respectively.
public struct AlterConfigsResponse: KafkaMessage, Equatable {
    public struct Result: Equatable, Sendable {
        public var errorCode: ErrorCode
        public var errorMessage: String?
        public var resourceType: Int8
        public var resourceName: String
        public var taggedFields = TaggedFields()

        public init(errorCode: ErrorCode = .none, errorMessage: String? = nil, resourceType: Int8, resourceName: String) {
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.resourceType = resourceType
            self.resourceName = resourceName
        }
    }

    public var throttleTimeMs: Int32
    public var responses: [Result]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, responses: [Result]) {
        self.throttleTimeMs = throttleTimeMs
        self.responses = responses
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        responses = try reader.readArray("responses") { r in
            var result = Result(errorCode: ErrorCode(try r.readInt16("error_code")), errorMessage: try r.readNullableString("error_message"),
                                resourceType: try r.readInt8("resource_type"), resourceName: try r.readString("resource_name"))
            result.taggedFields = try r.readTaggedFields()
            return result
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeArray(responses) { w, r in
            w.writeInt16(r.errorCode.rawValue)
            w.writeNullableString(r.errorMessage)
            w.writeInt8(r.resourceType)
            w.writeString(r.resourceName)
            w.writeTaggedFields(r.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}
