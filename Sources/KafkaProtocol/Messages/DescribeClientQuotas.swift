/// DescribeClientQuotas request (key 48), versions 0-1, flexible from 1 (KIP-546): which quota
/// entities to describe, as a filter of components.
public struct DescribeClientQuotasRequest: KafkaRequest, Equatable {
    public typealias Response = DescribeClientQuotasResponse
    public static let apiKey = ApiKey.describeClientQuotas

    /// How a filter component matches an entity's component of its type.
    public enum MatchType: Int8, Sendable {
        /// The entity name equals `match`.
        case exact = 0
        /// The default entity of the type (`<default>`).
        case defaultEntity = 1
        /// Any named (non-default) entity of the type.
        case any = 2
    }

    /// One filter component (`ComponentData`).
    public struct Component: Equatable, Sendable {
        public var entityType: String
        /// A ``MatchType`` raw value; others are answered with INVALID_REQUEST.
        public var matchType: Int8
        /// The name for `exact`; null otherwise.
        public var match: String?
        public var taggedFields = TaggedFields()

        public init(entityType: String, matchType: Int8, match: String? = nil) {
            self.entityType = entityType
            self.matchType = matchType
            self.match = match
        }
    }

    public var components: [Component]
    /// When true, entities with component types the filter does not name are left out.
    public var strict: Bool
    public var taggedFields = TaggedFields()

    public init(components: [Component], strict: Bool) {
        self.components = components
        self.strict = strict
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        components = try reader.readArray("components") { r in
            var c = Component(entityType: try r.readString("entity_type"), matchType: try r.readInt8("match_type"),
                              match: try r.readNullableString("match"))
            c.taggedFields = try r.readTaggedFields()
            return c
        }
        strict = try reader.readBool("strict")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(components) { w, c in
            w.writeString(c.entityType)
            w.writeInt8(c.matchType)
            w.writeNullableString(c.match)
            w.writeTaggedFields(c.taggedFields)
        }
        writer.writeBool(strict)
        writer.writeTaggedFields(taggedFields)
    }
}

/// DescribeClientQuotas response (key 48), versions 0-1, flexible from 1: each matching entity
/// with its quota values (`producer_byte_rate`, `consumer_byte_rate`, `request_percentage`...).
public struct DescribeClientQuotasResponse: KafkaMessage, Equatable {
    /// One quota key and its value (`ValueData`).
    public struct Value: Equatable, Sendable {
        public var key: String
        public var value: Double
        public var taggedFields = TaggedFields()

        public init(key: String, value: Double) {
            self.key = key
            self.value = value
        }

        /// Equal when the wire bytes are: `value` compares by its IEEE 754 bit pattern (NaN
        /// equals itself, 0.0 and -0.0 differ).
        public static func == (lhs: Value, rhs: Value) -> Bool {
            lhs.key == rhs.key && lhs.value.bitPattern == rhs.value.bitPattern && lhs.taggedFields == rhs.taggedFields
        }
    }

    /// One entity and its values (`EntryData`).
    public struct Entry: Equatable, Sendable {
        public var entity: [ClientQuotaEntityComponent]
        public var values: [Value]
        public var taggedFields = TaggedFields()

        public init(entity: [ClientQuotaEntityComponent], values: [Value]) {
            self.entity = entity
            self.values = values
        }
    }

    /// Milliseconds the request was throttled.
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    public var errorMessage: String?
    /// Null when the request failed.
    public var entries: [Entry]?
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, errorMessage: String? = nil, entries: [Entry]?) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.entries = entries
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        errorMessage = try reader.readNullableString("error_message")
        entries = try reader.readNullableArray("entries") { r in
            let entity = try r.readArray("entity") { try ClientQuotaEntityComponent(from: &$0) }
            let values = try r.readArray("values") { r in
                var v = Value(key: try r.readString("key"), value: try r.readFloat64("value"))
                v.taggedFields = try r.readTaggedFields()
                return v
            }
            var e = Entry(entity: entity, values: values)
            e.taggedFields = try r.readTaggedFields()
            return e
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeInt16(errorCode.rawValue)
        writer.writeNullableString(errorMessage)
        writer.writeNullableArray(entries) { w, e in
            w.writeArray(e.entity) { w, c in c.encode(to: &w) }
            w.writeArray(e.values) { w, v in
                w.writeString(v.key)
                w.writeFloat64(v.value)
                w.writeTaggedFields(v.taggedFields)
            }
            w.writeTaggedFields(e.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}
