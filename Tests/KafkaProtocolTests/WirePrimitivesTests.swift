import KafkaProtocol
import NIOCore
import Testing

private func written(flexible: Bool = false, _ body: (inout KafkaWriter) -> Void) -> [UInt8] {
    var writer = KafkaWriter(flexible: flexible)
    body(&writer)
    return Array(writer.buffer.readableBytesView)
}

private func reader(_ bytes: [UInt8], flexible: Bool = false) -> KafkaReader {
    KafkaReader(ByteBuffer(bytes: bytes), flexible: flexible)
}

@Suite struct VarintTests {
    static let signed32: [(Int32, [UInt8])] = [
        (0, [0x00]), (-1, [0x01]), (1, [0x02]), (-2, [0x03]), (2, [0x04]), (-64, [0x7F]), (64, [0x80, 0x01]),
        (Int32.max, [0xFE, 0xFF, 0xFF, 0xFF, 0x0F]), (Int32.min, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
    ]

    static let signed64: [(Int64, [UInt8])] = [
        (0, [0x00]), (-1, [0x01]), (1, [0x02]), (150, [0xAC, 0x02]),
        (Int64.max, [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        (Int64.min, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    ]

    static let unsigned: [(UInt32, [UInt8])] = [
        (0, [0x00]), (1, [0x01]), (127, [0x7F]), (128, [0x80, 0x01]), (300, [0xAC, 0x02]),
        (16384, [0x80, 0x80, 0x01]), (UInt32.max, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
    ]

    @Test func zigzagVarint() throws {
        for (value, encoding) in Self.signed32 {
            #expect(written { $0.writeVarint(value) } == encoding, "\(value)")
            var r = reader(encoding)
            #expect(try r.readVarint() == value)
            #expect(r.remaining == 0)
        }
    }

    @Test func zigzagVarlong() throws {
        for (value, encoding) in Self.signed64 {
            #expect(written { $0.writeVarlong(value) } == encoding, "\(value)")
            var r = reader(encoding)
            #expect(try r.readVarlong() == value)
            #expect(r.remaining == 0)
        }
    }

    @Test func unsignedVarint() throws {
        for (value, encoding) in Self.unsigned {
            #expect(written { $0.writeUnsignedVarint(value) } == encoding, "\(value)")
            var r = reader(encoding)
            #expect(try r.readUnsignedVarint() == value)
        }
    }

    @Test func malformedAndTruncatedVarints() {
        // A fifth byte may carry only 4 bits for 32-bit values.
        var tooWide = reader([0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
        #expect(throws: ProtocolError.malformedVarint(field: "unsigned_varint")) { try tooWide.readUnsignedVarint() }
        var tooLong = reader([0x80, 0x80, 0x80, 0x80, 0x80, 0x00])
        #expect(throws: ProtocolError.self) { try tooLong.readVarint() }
        var longTooWide = reader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02])
        #expect(throws: ProtocolError.malformedVarint(field: "varlong")) { try longTooWide.readVarlong() }
        var truncated = reader([0x80, 0x80])
        #expect(throws: ProtocolError.truncated(field: "varint")) { try truncated.readVarint() }
    }
}

@Suite struct StringAndBytesTests {
    @Test func compactStrings() throws {
        #expect(written(flexible: true) { $0.writeNullableString(nil) } == [0x00])
        #expect(written(flexible: true) { $0.writeString("") } == [0x01])
        #expect(written(flexible: true) { $0.writeString("ab") } == [0x03, 0x61, 0x62])
        var r = reader([0x00, 0x01, 0x03, 0x61, 0x62], flexible: true)
        #expect(try r.readNullableString() == nil)
        #expect(try r.readNullableString() == "")
        #expect(try r.readString() == "ab")
        var null = reader([0x00], flexible: true)
        #expect(throws: ProtocolError.unexpectedNull(field: "string")) { try null.readString() }
    }

    @Test func classicStrings() throws {
        #expect(written { $0.writeNullableString(nil) } == [0xFF, 0xFF])
        #expect(written { $0.writeString("") } == [0x00, 0x00])
        #expect(written { $0.writeString("é") } == [0x00, 0x02, 0xC3, 0xA9])
        var r = reader([0xFF, 0xFF, 0x00, 0x00, 0x00, 0x02, 0xC3, 0xA9])
        #expect(try r.readNullableString() == nil)
        #expect(try r.readString() == "")
        #expect(try r.readString() == "é")
        var negative = reader([0xFF, 0xFE])
        #expect(throws: ProtocolError.invalidLength(field: "string", value: -2)) { try negative.readNullableString() }
        var tooLong = reader([0x7F, 0xFF, 0x61])
        #expect(throws: ProtocolError.invalidLength(field: "string", value: 0x7FFF)) { try tooLong.readString() }
    }

    @Test func bytes() throws {
        #expect(written(flexible: true) { $0.writeNullableBytes(nil) } == [0x00])
        #expect(written(flexible: true) { $0.writeBytes(ByteBuffer()) } == [0x01])
        #expect(written { $0.writeNullableBytes(nil) } == [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(written { $0.writeBytes(ByteBuffer(bytes: [9])) } == [0x00, 0x00, 0x00, 0x01, 0x09])
        var r = reader([0x00, 0x00, 0x00, 0x01, 0x09, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(try r.readBytes() == ByteBuffer(bytes: [9]))
        #expect(try r.readNullableBytes() == nil)
        var hostile = reader([0x7F, 0xFF, 0xFF, 0xFF, 0x00])
        #expect(throws: ProtocolError.invalidLength(field: "bytes", value: 0x7FFF_FFFF)) { try hostile.readBytes() }
    }
}

@Suite struct ArrayTests {
    @Test func hostileCountThrowsBeforeReadingElements() {
        for flexible in [false, true] {
            let header: [UInt8] = flexible ? [0x80, 0x80, 0x80, 0x80, 0x08] : [0x7F, 0xFF, 0xFF, 0xFF]
            var r = reader(header + [0x00, 0x01], flexible: flexible)
            var calls = 0
            #expect(throws: ProtocolError.self) {
                _ = try r.readArray("hostile") { r -> Int8 in
                    calls += 1
                    return try r.readInt8()
                }
            }
            #expect(calls == 0, "element reader must not run for a hostile count")
        }
    }

    @Test func nullAndEmptyArrays() throws {
        #expect(written { $0.writeNullableArray(nil as [Int32]?) { $0.writeInt32($1) } } == [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(written(flexible: true) { $0.writeNullableArray(nil as [Int32]?) { $0.writeInt32($1) } } == [0x00])
        #expect(written(flexible: true) { $0.writeArray([Int32]()) { $0.writeInt32($1) } } == [0x01])
        var r = reader([0x00], flexible: true)
        #expect(throws: ProtocolError.unexpectedNull(field: "array")) { _ = try r.readArray { try $0.readInt32() } }
        var negative = reader([0xFF, 0xFF, 0xFF, 0xFE])
        #expect(throws: ProtocolError.invalidLength(field: "array", value: -2)) {
            _ = try negative.readNullableArray { try $0.readInt32() }
        }
    }
}

@Suite struct TaggedFieldsTests {
    @Test func roundTrip() throws {
        let tags = TaggedFields([(tag: 1, value: ByteBuffer(bytes: [0xAA])), (tag: 5, value: ByteBuffer())])
        let encoded = written(flexible: true) { $0.writeTaggedFields(tags) }
        #expect(encoded == [0x02, 0x01, 0x01, 0xAA, 0x05, 0x00])
        var r = reader(encoded, flexible: true)
        #expect(try r.readTaggedFields() == tags)
        #expect(r.remaining == 0)
        #expect(written(flexible: true) { $0.writeTaggedFields() } == [0x00])
        #expect(written(flexible: false) { $0.writeTaggedFields(tags) } == [])
    }

    @Test func notFlexibleReadsNothing() throws {
        var r = reader([0x02], flexible: false)
        #expect(try r.readTaggedFields().isEmpty)
        #expect(r.remaining == 1)
    }

    @Test func rejectsOutOfOrderAndDuplicateTags() {
        var outOfOrder = reader([0x02, 0x05, 0x00, 0x01, 0x00], flexible: true)
        #expect(throws: ProtocolError.self) { try outOfOrder.readTaggedFields() }
        var duplicate = reader([0x02, 0x01, 0x00, 0x01, 0x00], flexible: true)
        #expect(throws: ProtocolError.self) { try duplicate.readTaggedFields() }
    }

    @Test func rejectsOversizedValues() {
        var r = reader([0x01, 0x00, 0x05, 0x01], flexible: true)
        #expect(throws: ProtocolError.self) { try r.readTaggedFields() }
        var count = reader([0xFF, 0xFF, 0xFF, 0xFF, 0x07], flexible: true)
        #expect(throws: ProtocolError.self) { try count.readTaggedFields() }
    }

    @Test func setRemoveAndSetting() throws {
        var tags = TaggedFields()
        tags.set(4, ByteBuffer(bytes: [4]))
        tags = tags.setting(2) { $0.writeNullableString("c") }
        #expect(tags.fields.map(\.tag) == [2, 4])
        #expect(tags.value(for: 2) == ByteBuffer(bytes: [0x02, 0x63]))
        let removed = tags.remove(2)
        let raw = try #require(removed)
        #expect(try KafkaReader.decodeTaggedValue(raw, field: "c") { try $0.readNullableString() } == "c")
        #expect(tags.fields.map(\.tag) == [4])
        #expect(tags.remove(2) == nil)
        #expect(throws: ProtocolError.self) {
            try KafkaReader.decodeTaggedValue(ByteBuffer(bytes: [0, 0, 0]), field: "x") { try $0.readInt16() }
        }
    }
}

@Suite struct UUIDBytesTests {
    @Test func base64KnownVector() {
        let id = UUIDBytes(high: 0x0001_0203_0405_0607, low: 0x0809_0A0B_0C0D_0E0F)
        #expect(id.description == "AAECAwQFBgcICQoLDA0ODw")
        #expect(UUIDBytes(base64: "AAECAwQFBgcICQoLDA0ODw") == id)
        #expect(UUIDBytes.zero.description == "AAAAAAAAAAAAAAAAAAAAAA")
        #expect(id.bytes == Array(0..<16))
    }

    @Test func base64RoundTripAndURLSafeAlphabet() {
        let ones = UUIDBytes(high: .max, low: .max)
        #expect(ones.description == "_____________________w")
        #expect(UUIDBytes(base64: ones.description) == ones)
        for _ in 0..<100 {
            let id = UUIDBytes.random()
            #expect(id != .zero)
            #expect(UUIDBytes(base64: id.description) == id)
        }
    }

    @Test func base64RejectsMalformed() {
        #expect(UUIDBytes(base64: "") == nil)
        #expect(UUIDBytes(base64: "AAECAwQFBgcICQoLDA0OD") == nil)       // 21 characters
        #expect(UUIDBytes(base64: "AAECAwQFBgcICQoLDA0ODw=") == nil)     // padded
        #expect(UUIDBytes(base64: "AAECAwQFBgcICQoLDA0OD+") == nil)      // non-URL-safe character
    }

    @Test func wireForm() throws {
        let id = UUIDBytes(high: 1, low: 2)
        let encoded = written { $0.writeUUID(id) }
        #expect(encoded == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2])
        var r = reader(encoded)
        #expect(try r.readUUID() == id)
        var short = reader(Array(encoded.prefix(15)))
        #expect(throws: ProtocolError.truncated(field: "uuid")) { try short.readUUID() }
    }
}
