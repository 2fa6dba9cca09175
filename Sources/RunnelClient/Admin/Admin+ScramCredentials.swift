import KafkaProtocol
import KafkaSASL
import NIOCore

/// A user's SCRAM credential as DescribeUserScramCredentials reports it: its mechanism and
/// iteration count, never the salt or keys (KIP-554).
public struct ScramCredentialInfo: Sendable, Equatable {
    public var mechanism: SaslConfiguration.Mechanism
    public var iterations: Int
}

extension Admin {
    /// Sets a user's SCRAM password for one mechanism (AlterUserScramCredentials, KIP-554). The
    /// salted password is computed here (PBKDF2 with a 32-byte random salt), so the password itself
    /// never reaches the broker.
    /// - Parameters:
    ///   - mechanism: `.scramSHA256` or `.scramSHA512`.
    ///   - iterations: 4096 (Kafka's default and minimum) to 16384.
    /// - Throws: ``ClientError/invalidArgument(_:)`` for PLAIN; ``ClientError/broker(code:message:context:)``
    ///   with UNACCEPTABLE_CREDENTIAL, DUPLICATE_RESOURCE, UNSUPPORTED_SASL_MECHANISM and the like.
    public func setScramPassword(user: String, password: String, mechanism: SaslConfiguration.Mechanism,
                                 iterations: Int = 4096) async throws {
        let algorithm = try Self.algorithm(mechanism)
        let salt = ScramCredential.randomBytes(32)
        let salted: [UInt8]
        do {
            salted = try algorithm.saltedPassword(password, salt: salt, iterations: iterations)
        } catch {
            throw ClientError.invalidArgument("cannot derive a SCRAM credential with \(iterations) iterations: \(error)")
        }
        let upsertion = AlterUserScramCredentialsRequest.Upsertion(
            name: user, mechanism: Self.wireMechanism(mechanism), iterations: Int32(clamping: iterations),
            salt: ByteBuffer(bytes: salt), saltedPassword: ByteBuffer(bytes: salted))
        try await alterScram(AlterUserScramCredentialsRequest(upsertions: [upsertion]), user: user)
    }

    /// Deletes a user's SCRAM credential for one mechanism.
    /// - Throws: ``ClientError/broker(code:message:context:)`` RESOURCE_NOT_FOUND when it has none.
    public func deleteScramCredential(user: String, mechanism: SaslConfiguration.Mechanism) async throws {
        _ = try Self.algorithm(mechanism)
        try await alterScram(AlterUserScramCredentialsRequest(deletions: [.init(name: user, mechanism: Self.wireMechanism(mechanism))]),
                             user: user)
    }

    /// The SCRAM credentials of `users` (all users with one when nil), by user name.
    /// - Throws: ``ClientError/broker(code:message:context:)`` RESOURCE_NOT_FOUND for a named user
    ///   without credentials.
    public func describeScramCredentials(users: [String]? = nil) async throws -> [String: [ScramCredentialInfo]] {
        let response = try await core.anyConnection().send(DescribeUserScramCredentialsRequest(users: users))
        try check(response.errorCode, response.errorMessage, "DescribeUserScramCredentials")
        var out: [String: [ScramCredentialInfo]] = [:]
        for result in response.results {
            try check(result.errorCode, result.errorMessage, "DescribeUserScramCredentials for \(result.user)")
            out[result.user] = result.credentialInfos.compactMap { info in
                guard let name = info.mechanism.mechanismName, let mechanism = SaslConfiguration.Mechanism(rawValue: name) else { return nil }
                return ScramCredentialInfo(mechanism: mechanism, iterations: Int(info.iterations))
            }
        }
        return out
    }

    private func alterScram(_ request: AlterUserScramCredentialsRequest, user: String) async throws {
        let response = try await core.anyConnection().send(request)
        for result in response.results {
            try check(result.errorCode, result.errorMessage, "AlterUserScramCredentials for \(result.user)")
        }
    }

    private static func algorithm(_ mechanism: SaslConfiguration.Mechanism) throws -> ScramAlgorithm {
        switch mechanism {
        case .scramSHA256: return .sha256
        case .scramSHA512: return .sha512
        case .plain: throw ClientError.invalidArgument("PLAIN users are configured in the broker's JAAS entry, not stored as SCRAM credentials")
        }
    }

    private static func wireMechanism(_ mechanism: SaslConfiguration.Mechanism) -> ScramMechanism {
        ScramMechanism(mechanismName: mechanism.rawValue) ?? .unknown
    }
}
