import NIOCore

/// The tagged fields of one flexible struct (KIP-482): `(tag, raw bytes)` pairs in ascending tag order.
///
/// Decoders keep fields they do not interpret here so that a re-encode gives back the same bytes;
/// encoders write only the fields whose value differs from the default, as Kafka does (Debian's
/// librdkafka 2.0.2 misreads non-empty tag buffers).
public struct TaggedFields: Equatable, Sendable {
    /// Unknown or not-yet-interpreted fields, sorted by tag.
    public var fields: [(tag: UInt32, value: ByteBuffer)]

    public init(_ fields: [(tag: UInt32, value: ByteBuffer)] = []) {
        self.fields = fields
    }

    public var isEmpty: Bool { fields.isEmpty }

    /// The raw bytes of `tag`, if present.
    public func value(for tag: UInt32) -> ByteBuffer? {
        fields.first(where: { $0.tag == tag })?.value
    }

    /// Sets or replaces `tag`, keeping the ascending order.
    public mutating func set(_ tag: UInt32, _ value: ByteBuffer) {
        fields.removeAll { $0.tag == tag }
        fields.append((tag, value))
        fields.sort { $0.tag < $1.tag }
    }

    public static func == (lhs: TaggedFields, rhs: TaggedFields) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.tag == $1.tag && $0.value == $1.value }
    }
}
