/// DescribeConfigs request (key 32), versions 0-4, flexible from 4 (KIP-133, KIP-226 synonyms,
/// KIP-569 types and documentation). Resource type 2 = topic, 4 = broker.
public struct DescribeConfigsRequest: KafkaRequest, Equatable {
    public typealias Response = DescribeConfigsResponse
    public static let apiKey = ApiKey.describeConfigs

    public struct Resource: Equatable, Sendable {
        public var resourceType: Int8
        public var resourceName: String
        /// Null = every key.
        public var configurationKeys: [String]?
        public var taggedFields = TaggedFields()

        public init(resourceType: Int8, resourceName: String, configurationKeys: [String]? = nil) {
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.configurationKeys = configurationKeys
        }
    }

    public var resources: [Resource]
    /// v1+.
    public var includeSynonyms: Bool = false
    /// v3+.
    public var includeDocumentation: Bool = false
    public var taggedFields = TaggedFields()

    public init(resources: [Resource], includeSynonyms: Bool = false, includeDocumentation: Bool = false) {
        self.resources = resources
        self.includeSynonyms = includeSynonyms
        self.includeDocumentation = includeDocumentation
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        resources = try reader.readArray("resources") { r in
            var resource = Resource(resourceType: try r.readInt8("resource_type"), resourceName: try r.readString("resource_name"),
                                    configurationKeys: try r.readNullableArray("configuration_keys") { try $0.readString("key") })
            resource.taggedFields = try r.readTaggedFields()
            return resource
        }
        if version >= 1 { includeSynonyms = try reader.readBool("include_synonyms") }
        if version >= 3 { includeDocumentation = try reader.readBool("include_documentation") }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(resources) { w, r in
            w.writeInt8(r.resourceType)
            w.writeString(r.resourceName)
            w.writeNullableArray(r.configurationKeys) { $0.writeString($1) }
            w.writeTaggedFields(r.taggedFields)
        }
        if version >= 1 { writer.writeBool(includeSynonyms) }
        if version >= 3 { writer.writeBool(includeDocumentation) }
        writer.writeTaggedFields(taggedFields)
    }
}

/// DescribeConfigs response (key 32), versions 0-4, flexible from 4.
public struct DescribeConfigsResponse: KafkaMessage, Equatable {
    /// Where a value comes from (Kafka's `ConfigSource`).
    public enum Source {
        public static let dynamicTopicConfig: Int8 = 1
        public static let dynamicBrokerConfig: Int8 = 2
        public static let dynamicDefaultBrokerConfig: Int8 = 3
        public static let staticBrokerConfig: Int8 = 4
        public static let defaultConfig: Int8 = 5
    }

    public struct Synonym: Equatable, Sendable {
        public var name: String
        public var value: String?
        public var source: Int8
        public var taggedFields = TaggedFields()

        public init(name: String, value: String?, source: Int8) {
            self.name = name
            self.value = value
            self.source = source
        }
    }

    public struct Config: Equatable, Sendable {
        public var name: String
        public var value: String?
        public var readOnly: Bool
        /// v0 only (later versions use `configSource`).
        public var isDefault: Bool
        /// v1+: a ``Source`` value.
        public var configSource: Int8
        public var isSensitive: Bool
        /// v1+.
        public var synonyms: [Synonym]
        /// v3+: Kafka's `ConfigType` (1 boolean, 2 string, 3 int, 4 short, 5 long, 6 double, 7 list, 8 class, 9 password).
        public var configType: Int8
        /// v3+.
        public var documentation: String?
        public var taggedFields = TaggedFields()

        public init(name: String, value: String?, readOnly: Bool, isDefault: Bool, configSource: Int8, isSensitive: Bool = false,
                    synonyms: [Synonym] = [], configType: Int8 = 0, documentation: String? = nil) {
            self.name = name
            self.value = value
            self.readOnly = readOnly
            self.isDefault = isDefault
            self.configSource = configSource
            self.isSensitive = isSensitive
            self.synonyms = synonyms
            self.configType = configType
            self.documentation = documentation
        }
    }

    public struct Result: Equatable, Sendable {
        public var errorCode: ErrorCode
        public var errorMessage: String?
        public var resourceType: Int8
        public var resourceName: String
        public var configs: [Config]
        public var taggedFields = TaggedFields()

        public init(errorCode: ErrorCode = .none, errorMessage: String? = nil, resourceType: Int8, resourceName: String, configs: [Config]) {
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.configs = configs
        }
    }

    public var throttleTimeMs: Int32
    public var results: [Result]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, results: [Result]) {
        self.throttleTimeMs = throttleTimeMs
        self.results = results
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        results = try reader.readArray("results") { r in
            let errorCode = ErrorCode(try r.readInt16("error_code"))
            let errorMessage = try r.readNullableString("error_message")
            let type = try r.readInt8("resource_type")
            let name = try r.readString("resource_name")
            let configs = try r.readArray("configs") { r in
                let configName = try r.readString("name")
                let value = try r.readNullableString("value")
                let readOnly = try r.readBool("read_only")
                var isDefault = false
                var source: Int8 = -1
                if version == 0 { isDefault = try r.readBool("is_default") } else { source = try r.readInt8("config_source") }
                let sensitive = try r.readBool("is_sensitive")
                var synonyms: [Synonym] = []
                if version >= 1 {
                    synonyms = try r.readArray("synonyms") { r in
                        var s = Synonym(name: try r.readString("name"), value: try r.readNullableString("value"), source: try r.readInt8("source"))
                        s.taggedFields = try r.readTaggedFields()
                        return s
                    }
                }
                var type: Int8 = 0
                var documentation: String?
                if version >= 3 {
                    type = try r.readInt8("config_type")
                    documentation = try r.readNullableString("documentation")
                }
                var c = Config(name: configName, value: value, readOnly: readOnly, isDefault: isDefault, configSource: source,
                               isSensitive: sensitive, synonyms: synonyms, configType: type, documentation: documentation)
                c.taggedFields = try r.readTaggedFields()
                return c
            }
            var result = Result(errorCode: errorCode, errorMessage: errorMessage, resourceType: type, resourceName: name, configs: configs)
            result.taggedFields = try r.readTaggedFields()
            return result
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeArray(results) { w, r in
            w.writeInt16(r.errorCode.rawValue)
            w.writeNullableString(r.errorMessage)
            w.writeInt8(r.resourceType)
            w.writeString(r.resourceName)
            w.writeArray(r.configs) { w, c in
                w.writeString(c.name)
                w.writeNullableString(c.value)
                w.writeBool(c.readOnly)
                if version == 0 { w.writeBool(c.isDefault) } else { w.writeInt8(c.configSource) }
                w.writeBool(c.isSensitive)
                if version >= 1 {
                    w.writeArray(c.synonyms) { w, s in
                        w.writeString(s.name)
                        w.writeNullableString(s.value)
                        w.writeInt8(s.source)
                        w.writeTaggedFields(s.taggedFields)
                    }
                }
                if version >= 3 {
                    w.writeInt8(c.configType)
                    w.writeNullableString(c.documentation)
                }
                w.writeTaggedFields(c.taggedFields)
            }
            w.writeTaggedFields(r.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}
