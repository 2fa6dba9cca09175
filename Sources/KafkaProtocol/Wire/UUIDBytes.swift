/// A 128-bit identifier as Kafka sends it (topic IDs, KIP-516): 16 raw big-endian bytes.
///
/// All zeros means "no ID". ``description`` renders Kafka's URL-safe base64 form without padding
/// (as `kafka-topics.sh --describe` and `partition.metadata` show it).
public struct UUIDBytes: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The all-zero "no ID" value.
    public static let zero = UUIDBytes(high: 0, low: 0)

    /// A fresh random version-4 UUID that is neither zero nor Kafka's reserved metadata topic ID (1).
    public static func random() -> UUIDBytes {
        var g = SystemRandomNumberGenerator()
        while true {
            var hi = g.next() as UInt64
            var lo = g.next() as UInt64
            hi = (hi & ~0xF000) | 0x4000
            lo = (lo & ~(0xC000_0000_0000_0000)) | 0x8000_0000_0000_0000
            let id = UUIDBytes(high: hi, low: lo)
            if id != .zero && !(hi == 0 && lo == 1) { return id }
        }
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// Kafka's `Uuid.toString()`: URL-safe base64 of the 16 bytes, no padding (22 characters).
    public var description: String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let b = bytes + [0, 0]
        var out = ""
        var i = 0
        while i < 16 {
            let n = (UInt32(b[i]) << 16) | (UInt32(b[i + 1]) << 8) | UInt32(b[i + 2])
            out.append(alphabet[Int((n >> 18) & 63)])
            out.append(alphabet[Int((n >> 12) & 63)])
            if i + 1 < 16 { out.append(alphabet[Int((n >> 6) & 63)]) }
            if i + 2 < 16 { out.append(alphabet[Int(n & 63)]) }
            i += 3
        }
        return out
    }

    /// Parses Kafka's 22-character URL-safe base64 form; `nil` if malformed.
    public init?(base64 text: String) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var lookup: [Character: UInt32] = [:]
        for (i, c) in alphabet.enumerated() { lookup[c] = UInt32(i) }
        let chars = Array(text)
        guard chars.count == 22 else { return nil }
        var bytes: [UInt8] = []
        var i = 0
        while i < chars.count {
            let group = chars[i..<min(i + 4, chars.count)]
            var n: UInt32 = 0
            for (j, c) in group.enumerated() {
                guard let v = lookup[c] else { return nil }
                n |= v << (18 - 6 * UInt32(j))
            }
            let produced = group.count - 1
            for k in 0..<produced { bytes.append(UInt8(truncatingIfNeeded: n >> (16 - 8 * UInt32(k)))) }
            i += 4
        }
        guard bytes.count == 16 else { return nil }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for k in 0..<8 { hi = hi << 8 | UInt64(bytes[k]) }
        for k in 8..<16 { lo = lo << 8 | UInt64(bytes[k]) }
        self.init(high: hi, low: lo)
    }
}
