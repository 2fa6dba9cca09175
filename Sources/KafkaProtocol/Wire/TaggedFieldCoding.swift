import NIOCore

/// Helpers for tagged fields that a message models as properties (KIP-482).
///
/// A decoder takes a modeled tag out of the raw ``TaggedFields`` with ``TaggedFields/remove(_:)`` and
/// parses it with ``KafkaReader/decodeTaggedValue(_:field:_:)``; whatever is left stays raw so that a
/// re-encode gives back the same bytes. An encoder adds a modeled tag with
/// ``TaggedFields/setting(_:_:)`` only when its value differs from the schema default.
extension TaggedFields {
    /// Removes `tag` and returns its raw bytes, if present.
    public mutating func remove(_ tag: UInt32) -> ByteBuffer? {
        guard let index = fields.firstIndex(where: { $0.tag == tag }) else { return nil }
        return fields.remove(at: index).value
    }

    /// A copy with `tag` set to the bytes that `body` writes in the flexible encoding.
    public func setting(_ tag: UInt32, _ body: (inout KafkaWriter) -> Void) -> TaggedFields {
        var writer = KafkaWriter(flexible: true)
        body(&writer)
        var copy = self
        copy.set(tag, writer.buffer)
        return copy
    }
}

extension KafkaReader {
    /// Parses the raw bytes of one tagged field (always flexible encoding).
    /// - Throws: ``ProtocolError`` if `body` fails or leaves bytes unread.
    public static func decodeTaggedValue<T>(
        _ value: ByteBuffer, field: String, _ body: (inout KafkaReader) throws -> T
    ) throws -> T {
        var reader = KafkaReader(value, flexible: true)
        let result = try body(&reader)
        guard reader.remaining == 0 else {
            throw ProtocolError.invalid("\(reader.remaining) unexpected bytes in tagged field \(field)")
        }
        return result
    }
}
