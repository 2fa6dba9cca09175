/// An X.509 certificate's subject, read from the certificate's DER bytes and printed the way
/// Kafka names an SSL principal: Java's `X500Principal.getName(RFC2253)`, which Kafka's
/// `DefaultKafkaPrincipalBuilder` uses with the `DEFAULT` `ssl.principal.mapping.rules`.
///
/// RFC 2253 §2: the relative distinguished names in reverse order of the encoding (most specific
/// first), separated by `,`; the attributes of a multi-valued RDN joined by `+`; the keywords
/// `CN`, `C`, `L`, `ST`, `O`, `OU`, `STREET`, `DC` and `UID`, and any other attribute type as its
/// dotted OID with the value as `#` plus the hex of its DER encoding (so `emailAddress` prints as
/// `1.2.840.113549.1.9.1=#16...`, as in Kafka). Special characters are escaped with `\` (§2.4).
struct DistinguishedName: Equatable, Sendable {
    /// One attribute: its OID in dotted form, its value's DER tag and content bytes.
    struct Attribute: Equatable, Sendable {
        var oid: String
        var tag: UInt8
        var content: [UInt8]
    }

    /// The relative distinguished names in encoding order (least specific, e.g. `C`, first).
    var relativeNames: [[Attribute]]

    /// Why certificate bytes could not be read.
    struct ParseError: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// Reads the subject of a DER-encoded X.509 certificate (RFC 5280 §4.1).
    /// - Throws: ``ParseError`` when the bytes are not a certificate.
    static func subject(ofCertificate der: [UInt8]) throws -> DistinguishedName {
        var reader = DERReader(der[...])
        var certificate = try reader.read(expecting: 0x30).contents
        var tbs = try certificate.read(expecting: 0x30).contents
        if tbs.peekTag == 0xA0 { _ = try tbs.read() }  // version
        _ = try tbs.read(expecting: 0x02)  // serialNumber
        _ = try tbs.read(expecting: 0x30)  // signature
        _ = try tbs.read(expecting: 0x30)  // issuer
        _ = try tbs.read(expecting: 0x30)  // validity
        return try name(tbs.read(expecting: 0x30).contents)
    }

    /// Reads a `Name` (a SEQUENCE OF SET OF AttributeTypeAndValue), given the SEQUENCE's contents.
    static func name(_ contents: DERReader) throws -> DistinguishedName {
        var names = contents
        var relativeNames: [[Attribute]] = []
        while !names.isAtEnd {
            var set = try names.read(expecting: 0x31).contents
            var attributes: [Attribute] = []
            while !set.isAtEnd {
                var pair = try set.read(expecting: 0x30).contents
                let oid = try DERReader.objectIdentifier(pair.read(expecting: 0x06).contents.remaining)
                let value = try pair.read()
                attributes.append(Attribute(oid: oid, tag: value.tag, content: Array(value.contents.remaining)))
            }
            relativeNames.append(attributes)
        }
        return DistinguishedName(relativeNames: relativeNames)
    }

    /// Short names RFC 2253 (and Java) print instead of the OID.
    static let keywords: [String: String] = [
        "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
        "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
    ]

    /// The RFC 2253 string, e.g. `CN=alice,OU=eng,O=Acme`.
    var rfc2253: String {
        relativeNames.reversed().map { rdn in
            rdn.map { attribute in
                if let keyword = Self.keywords[attribute.oid], let text = attribute.text {
                    return "\(keyword)=\(Self.escape(text))"
                }
                return "\(attribute.oid)=#" + Self.hex(Self.derEncoding(tag: attribute.tag, content: attribute.content))
            }.joined(separator: "+")
        }.joined(separator: ",")
    }

    /// §2.4: `,` `+` `"` `\` `<` `>` `;` always, `#` or a space at the start and a space at the end.
    static func escape(_ value: String) -> String {
        var out = ""
        let characters = Array(value)
        for (index, character) in characters.enumerated() {
            let special = ",+\"\\<>;".contains(character)
                || (index == 0 && (character == "#" || character == " "))
                || (index == characters.count - 1 && character == " ")
            if special { out.append("\\") }
            out.append(character)
        }
        return out
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] })
    }

    static func derEncoding(tag: UInt8, content: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [tag]
        if content.count < 0x80 {
            out.append(UInt8(content.count))
        } else {
            var length = content.count
            var bytes: [UInt8] = []
            while length > 0 { bytes.insert(UInt8(length & 0xFF), at: 0); length >>= 8 }
            out.append(0x80 | UInt8(bytes.count))
            out += bytes
        }
        return out + content
    }
}

extension DistinguishedName.Attribute {
    /// The value as text for the ASN.1 string types; nil for other types.
    var text: String? {
        switch tag {
        case 0x0C, 0x13, 0x16, 0x14, 0x12, 0x1A:  // UTF8, Printable, IA5, T61, Numeric, Visible
            return String(decoding: content, as: UTF8.self)
        case 0x1E:  // BMPString: UTF-16 big-endian
            guard content.count % 2 == 0 else { return nil }
            let units = stride(from: 0, to: content.count, by: 2).map { UInt16(content[$0]) << 8 | UInt16(content[$0 + 1]) }
            return String(decoding: units, as: UTF16.self)
        default:
            return nil
        }
    }
}

/// Reads DER tag-length-value items (X.690 §8, §10) from a byte slice; only what certificate
/// names need: single-byte tags and definite lengths.
struct DERReader {
    private(set) var remaining: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { remaining = bytes }

    var isAtEnd: Bool { remaining.isEmpty }
    var peekTag: UInt8? { remaining.first }

    /// Reads one item.
    /// - Throws: ``DistinguishedName/ParseError`` on truncated input or an unsupported length form.
    mutating func read() throws -> (tag: UInt8, contents: DERReader) {
        guard remaining.count >= 2 else { throw DistinguishedName.ParseError(description: "truncated DER item") }
        let tag = remaining.removeFirst()
        let first = remaining.removeFirst()
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7F)
            guard (1...4).contains(count), remaining.count >= count else {
                throw DistinguishedName.ParseError(description: "unsupported DER length")
            }
            for _ in 0..<count { length = length << 8 | Int(remaining.removeFirst()) }
        }
        guard remaining.count >= length else { throw DistinguishedName.ParseError(description: "DER item longer than its input") }
        let contents = remaining.prefix(length)
        remaining = remaining.dropFirst(length)
        return (tag, DERReader(contents))
    }

    /// Reads one item whose tag must be `tag`.
    mutating func read(expecting tag: UInt8) throws -> (tag: UInt8, contents: DERReader) {
        let item = try read()
        guard item.tag == tag else {
            throw DistinguishedName.ParseError(description: "expected DER tag \(tag), found \(item.tag)")
        }
        return item
    }

    /// The dotted form of an OBJECT IDENTIFIER's contents (X.690 §8.19).
    static func objectIdentifier(_ bytes: ArraySlice<UInt8>) throws -> String {
        var arcs: [UInt64] = []
        var value: UInt64 = 0
        for byte in bytes {
            guard value >> 57 == 0 else { throw DistinguishedName.ParseError(description: "OID arc too large") }
            value = value << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 {
                if arcs.isEmpty {
                    let first: UInt64 = value < 40 ? 0 : value < 80 ? 1 : 2
                    arcs += [first, value - first * 40]
                } else {
                    arcs.append(value)
                }
                value = 0
            }
        }
        guard !arcs.isEmpty, bytes.last.map({ $0 & 0x80 == 0 }) == true else {
            throw DistinguishedName.ParseError(description: "malformed OID")
        }
        return arcs.map(String.init).joined(separator: ".")
    }
}
