/// A SCRAM mechanism as DescribeUserScramCredentials, AlterUserScramCredentials and the
/// `UserScramCredentialRecord` number it (KIP-554, Kafka's `ScramMechanism`): 1 SCRAM-SHA-256,
/// 2 SCRAM-SHA-512, 0 unknown. Unknown numbers round-trip.
public struct ScramMechanism: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int8
    public init(rawValue: Int8) { self.rawValue = rawValue }

    public static let unknown = ScramMechanism(rawValue: 0)
    public static let scramSHA256 = ScramMechanism(rawValue: 1)
    public static let scramSHA512 = ScramMechanism(rawValue: 2)

    /// The mechanisms Kafka defines.
    public static let known: [ScramMechanism] = [.scramSHA256, .scramSHA512]

    /// The SASL mechanism name (`SCRAM-SHA-256`), nil for unknown numbers.
    public var mechanismName: String? {
        switch self {
        case .scramSHA256: return "SCRAM-SHA-256"
        case .scramSHA512: return "SCRAM-SHA-512"
        default: return nil
        }
    }

    /// The mechanism named `name` (case-insensitive), or nil.
    public init?(mechanismName name: String) {
        switch name.uppercased() {
        case "SCRAM-SHA-256": self = .scramSHA256
        case "SCRAM-SHA-512": self = .scramSHA512
        default: return nil
        }
    }

    public var description: String { mechanismName ?? "UNKNOWN(\(rawValue))" }
}
