/// AlterClientQuotas request (key 49), versions 0-1, flexible from 1 (KIP-546): set or remove
/// quota values of client quota entities.
public struct AlterClientQuotasRequest: KafkaRequest, Equatable {
    public typealias Response = AlterClientQuotasResponse
    public static let apiKey = ApiKey.alterClientQuotas

    /// One change to one quota key (`OpData`).
    public struct Op: Equatable, Sendable {
        public var key: String
        /// The value to set; ignored when `remove` is true.
        public var value: Double
        public var remove: Bool
        public var taggedFields = TaggedFields()

        public init(key: String, value: Double, remove: Bool = false) {
            self.key = key
            self.value = value
            self.remove = remove
        }

        /// Equal when the wire bytes are: `value` compares by its IEEE 754 bit pattern, so an op
        /// carrying NaN (which a client can send; the broker refuses it with INVALID_REQUEST)
        /// equals itself, as decoding the same bytes twice must give equal requests.
        public static func == (lhs: Op, rhs: Op) -> Bool {
            lhs.key == rhs.key && lhs.value.bitPattern == rhs.value.bitPattern && lhs.remove == rhs.remove
                && lhs.taggedFields == rhs.taggedFields
        }
    }

    /// The changes to one entity (`EntryData`).
    public struct Entry: Equatable, Sendable {
        public var entity: [ClientQuotaEntityComponent]
        public var ops: [Op]
        public var taggedFields = TaggedFields()

        public init(entity: [ClientQuotaEntityComponent], ops: [Op]) {
            self.entity = entity
            self.ops = ops
        }
    }

    public var entries: [Entry]
    /// Check the changes, apply none.
    public var validateOnly: Bool
    public var taggedFields = TaggedFields()

    public init(entries: [Entry], validateOnly: Bool = false) {
        self.entries = entries
        self.validateOnly = validateOnly
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        entries = try reader.readArray("entries") { r in
            let entity = try r.readArray("entity") { try ClientQuotaEntityComponent(from: &$0) }
            let ops = try r.readArray("ops") { r in
                var op = Op(key: try r.readString("key"), value: try r.readFloat64("value"), remove: try r.readBool("remove"))
                op.taggedFields = try r.readTaggedFields()
                return op
            }
            var e = Entry(entity: entity, ops: ops)
            e.taggedFields = try r.readTaggedFields()
            return e
        }
        validateOnly = try reader.readBool("validate_only")
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(entries) { w, e in
            w.writeArray(e.entity) { w, c in c.encode(to: &w) }
            w.writeArray(e.ops) { w, op in
                w.writeString(op.key)
                w.writeFloat64(op.value)
                w.writeBool(op.remove)
                w.writeTaggedFields(op.taggedFields)
            }
            w.writeTaggedFields(e.taggedFields)
        }
        writer.writeBool(validateOnly)
        writer.writeTaggedFields(taggedFields)
    }
}

/// AlterClientQuotas response (key 49), versions 0-1, flexible from 1: one result per entity.
public struct AlterClientQuotasResponse: KafkaMessage, Equatable {
    /// The outcome for one entity (`EntryData`).
    public struct Entry: Equatable, Sendable {
        public var errorCode: ErrorCode
        public var errorMessage: String?
        public var entity: [ClientQuotaEntityComponent]
        public var taggedFields = TaggedFields()

        public init(errorCode: ErrorCode = .none, errorMessage: String? = nil, entity: [ClientQuotaEntityComponent]) {
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.entity = entity
        }
    }

    /// Milliseconds the request was throttled.
    public var throttleTimeMs: Int32
    public var entries: [Entry]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, entries: [Entry]) {
        self.throttleTimeMs = throttleTimeMs
        self.entries = entries
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        entries = try reader.readArray("entries") { r in
            var e = Entry(errorCode: ErrorCode(try r.readInt16("error_code")), errorMessage: try r.readNullableString("error_message"),
                          entity: try r.readArray("entity") { try ClientQuotaEntityComponent(from: &$0) })
            e.taggedFields = try r.readTaggedFields()
            return e
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeArray(entries) { w, e in
            w.writeInt16(e.errorCode.rawValue)
            w.writeNullableString(e.errorMessage)
            w.writeArray(e.entity) { w, c in c.encode(to: &w) }
            w.writeTaggedFields(e.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}
