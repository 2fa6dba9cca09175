import Crypto
import _CryptoExtras

/// The hash a SCRAM mechanism is built on, with RFC 5802 section 2.2's functions: `H`, `HMAC`
/// and `Hi` (PBKDF2 with HMAC as the PRF and one output block).
public enum ScramAlgorithm: String, Sendable, CaseIterable {
    /// SCRAM-SHA-256 (RFC 7677): 32-byte keys.
    case sha256 = "SCRAM-SHA-256"
    /// SCRAM-SHA-512 (Kafka's `ScramMechanism.SCRAM_SHA_512`): 64-byte keys.
    case sha512 = "SCRAM-SHA-512"

    /// Kafka's lowest iteration count for a SCRAM credential (`ScramMechanism.minIterations`).
    public static let minIterations = 4096
    /// Kafka's highest iteration count (AlterUserScramCredentials refuses more).
    public static let maxIterations = 16384

    /// The SASL mechanism name.
    public var mechanismName: String { rawValue }

    /// The algorithm of mechanism `name` (case-insensitive), nil for others.
    public init?(mechanismName name: String) {
        self.init(rawValue: name.uppercased())
    }

    /// Bytes in a hash and in every key: 32 or 64.
    public var keyLength: Int {
        switch self {
        case .sha256: return SHA256.byteCount
        case .sha512: return SHA512.byteCount
        }
    }

    /// `H(data)`.
    public func hash(_ data: some Collection<UInt8>) -> [UInt8] {
        let bytes = Array(data)
        switch self {
        case .sha256: return Array(SHA256.hash(data: bytes))
        case .sha512: return Array(SHA512.hash(data: bytes))
        }
    }

    /// `HMAC(key, data)`.
    public func hmac(key: some Collection<UInt8>, _ data: some Collection<UInt8>) -> [UInt8] {
        let symmetricKey = SymmetricKey(data: Array(key))
        let bytes = Array(data)
        switch self {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: bytes, using: symmetricKey))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: bytes, using: symmetricKey))
        }
    }

    /// `Hi(password, salt, iterations)`, the salted password: PBKDF2-HMAC of `keyLength` bytes.
    /// Costs `iterations` HMACs: only clients and credential tools compute it, never the broker
    /// during an authentication (it keeps the derived keys).
    /// - Throws: an error from the crypto library for parameters it refuses (iterations < 1).
    public func saltedPassword(_ password: String, salt: some Collection<UInt8>, iterations: Int) throws -> [UInt8] {
        let hashFunction: KDF.Insecure.PBKDF2.HashFunction = self == .sha256 ? .sha256 : .sha512
        // The checked entry point demands 210,000 rounds; SCRAM's counts are Kafka's 4096-16384.
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: Array(password.utf8), salt: Array(salt), using: hashFunction,
                                                   outputByteCount: keyLength, unsafeUncheckedRounds: iterations)
        return key.withUnsafeBytes { Array($0) }
    }
}

/// What a server keeps of a SCRAM password (RFC 5802 section 3): enough to verify a client's proof
/// and to prove itself, not enough to log in as the user.
public struct ScramCredential: Equatable, Sendable {
    public var algorithm: ScramAlgorithm
    public var salt: [UInt8]
    /// `H(ClientKey)`, `ClientKey = HMAC(SaltedPassword, "Client Key")`.
    public var storedKey: [UInt8]
    /// `HMAC(SaltedPassword, "Server Key")`.
    public var serverKey: [UInt8]
    public var iterations: Int

    public init(algorithm: ScramAlgorithm, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8], iterations: Int) {
        self.algorithm = algorithm
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
        self.iterations = iterations
    }

    /// Derives the stored and server keys from a salted password (what AlterUserScramCredentials
    /// carries).
    public init(algorithm: ScramAlgorithm, salt: [UInt8], saltedPassword: [UInt8], iterations: Int) {
        let clientKey = algorithm.hmac(key: saltedPassword, Array("Client Key".utf8))
        self.init(algorithm: algorithm, salt: salt, storedKey: algorithm.hash(clientKey),
                  serverKey: algorithm.hmac(key: saltedPassword, Array("Server Key".utf8)), iterations: iterations)
    }

    /// Derives the credential from a password (PBKDF2: `iterations` HMACs).
    /// - Throws: when the crypto library refuses the parameters.
    public init(algorithm: ScramAlgorithm, password: String, salt: [UInt8], iterations: Int) throws {
        self.init(algorithm: algorithm, salt: salt,
                  saltedPassword: try algorithm.saltedPassword(password, salt: salt, iterations: iterations), iterations: iterations)
    }

    /// `count` bytes from the system's cryptographically secure generator (getrandom on Linux).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
