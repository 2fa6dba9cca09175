import KafkaProtocol
import KafkaSASL

extension MetadataRecord {
    /// Whether the record changes SCRAM credentials.
    var isScramCredential: Bool {
        switch self {
        case .userScramCredential, .removeUserScramCredential: return true
        default: return false
        }
    }
}

extension Controller {
    /// Sets the hook told the SCRAM credentials after every change applied here (the connections'
    /// ``ScramCredentialStore`` is refreshed from it), and calls it once with the current ones.
    func onScramCredentialsChanged(_ hook: @escaping @Sendable ([String: [ScramAlgorithm: ScramCredential]]) -> Void) {
        scramCredentialsChanged = hook
        hook(image.scramCredentials)
    }

    /// DescribeUserScramCredentials (KIP-554) from the metadata image: mechanisms and iteration
    /// counts only, never salts or keys.
    /// - Parameter users: nil or empty for every user with a credential; otherwise each named
    ///   user, RESOURCE_NOT_FOUND when it has none, DUPLICATE_RESOURCE when named twice.
    func describeScramCredentials(users: [String]?) -> [DescribeUserScramCredentialsResponse.Result] {
        let all = image.scramCredentials
        func result(_ user: String) -> DescribeUserScramCredentialsResponse.Result {
            guard let credentials = all[user], !credentials.isEmpty else {
                return .init(user: user, errorCode: .resourceNotFound, errorMessage: "Attempt to describe a user credential that does not exist")
            }
            let infos = credentials.values.sorted { $0.algorithm.rawValue < $1.algorithm.rawValue }.map {
                DescribeUserScramCredentialsResponse.CredentialInfo(mechanism: ScramMechanism(mechanismName: $0.algorithm.mechanismName) ?? .unknown,
                                                                    iterations: Int32(clamping: $0.iterations))
            }
            return .init(user: user, credentialInfos: infos)
        }
        guard let users, !users.isEmpty else { return all.keys.sorted().map(result) }
        var counts: [String: Int] = [:]
        for user in users { counts[user, default: 0] += 1 }
        var seen: Set<String> = []
        return users.compactMap { user in
            guard seen.insert(user).inserted else { return nil }
            if counts[user, default: 0] > 1 {
                return .init(user: user, errorCode: .duplicateResource, errorMessage: "Cannot describe SCRAM credentials for the same user twice in a single request: \(user)")
            }
            return result(user)
        }
    }

    /// AlterUserScramCredentials (KIP-554): validates every deletion and upsertion, then writes the
    /// accepted users' changes to the metadata log in one batch (`UserScramCredentialRecord`,
    /// `RemoveUserScramCredentialRecord`). A user whose changes are not all valid gets the first
    /// error and none of its changes apply.
    /// - Returns: one result per user named, in first-mention order: NONE; DUPLICATE_RESOURCE (the
    ///   same user and mechanism twice); UNSUPPORTED_SASL_MECHANISM; UNACCEPTABLE_CREDENTIAL (empty
    ///   name, salt or salted password, iterations outside Kafka's 4096-16384); RESOURCE_NOT_FOUND
    ///   (deleting a credential that does not exist); NOT_CONTROLLER or KAFKA_STORAGE_ERROR when the
    ///   write fails.
    func alterScramCredentials(deletions: [AlterUserScramCredentialsRequest.Deletion],
                               upsertions: [AlterUserScramCredentialsRequest.Upsertion]) async -> [AlterUserScramCredentialsResponse.Result] {
        await serialized {
            var order: [String] = []
            var errors: [String: (ErrorCode, String)] = [:]
            var records: [String: [MetadataRecord]] = [:]
            var pairs: [String: Int] = [:]
            func note(_ user: String, _ mechanism: ScramMechanism) {
                if records[user] == nil, errors[user] == nil { order.append(user) }
                if records[user] == nil { records[user] = [] }
                pairs["\(user)\u{0}\(mechanism.rawValue)", default: 0] += 1
            }
            func fail(_ user: String, _ code: ErrorCode, _ message: String) {
                if errors[user] == nil { errors[user] = (code, message) }
            }
            for d in deletions { note(d.name, d.mechanism) }
            for u in upsertions { note(u.name, u.mechanism) }
            for d in deletions {
                if let error = Self.validate(user: d.name, mechanism: d.mechanism, pairs: pairs) { fail(d.name, error.0, error.1); continue }
                let algorithm = ScramAlgorithm(mechanismName: d.mechanism.mechanismName ?? "")!
                guard image.scramCredentials[d.name]?[algorithm] != nil else {
                    fail(d.name, .resourceNotFound, "Attempt to delete a user credential that does not exist")
                    continue
                }
                records[d.name, default: []].append(.removeUserScramCredential(name: d.name, mechanism: d.mechanism))
            }
            for u in upsertions {
                if let error = Self.validate(user: u.name, mechanism: u.mechanism, pairs: pairs) { fail(u.name, error.0, error.1); continue }
                let algorithm = ScramAlgorithm(mechanismName: u.mechanism.mechanismName ?? "")!
                let iterations = Int(u.iterations)
                guard iterations >= ScramAlgorithm.minIterations else {
                    fail(u.name, .unacceptableCredential, "Too few iterations (minimum \(ScramAlgorithm.minIterations))")
                    continue
                }
                guard iterations <= ScramAlgorithm.maxIterations else {
                    fail(u.name, .unacceptableCredential, "Too many iterations (maximum \(ScramAlgorithm.maxIterations))")
                    continue
                }
                guard u.salt.readableBytes > 0, u.saltedPassword.readableBytes > 0 else {
                    fail(u.name, .unacceptableCredential, "Salt and salted password must not be empty")
                    continue
                }
                let credential = ScramCredential(algorithm: algorithm, salt: Array(u.salt.readableBytesView),
                                                 saltedPassword: Array(u.saltedPassword.readableBytesView), iterations: iterations)
                records[u.name, default: []].append(.userScramCredential(.init(
                    name: u.name, mechanism: u.mechanism, salt: credential.salt, storedKey: credential.storedKey,
                    serverKey: credential.serverKey, iterations: u.iterations)))
            }
            let accepted = order.filter { errors[$0] == nil }
            let batch = accepted.flatMap { records[$0] ?? [] }
            do {
                try await commit(batch)
                if !batch.isEmpty { logger.info("SCRAM credentials altered", metadata: ["users": "\(accepted.joined(separator: ", "))"]) }
            } catch {
                let failure = error as? ControllerWriteError ?? ControllerWriteError(code: .unknownServerError, message: "\(error)")
                for user in accepted { errors[user] = (failure.code, failure.message) }
            }
            return order.map { user in
                guard let (code, message) = errors[user] else { return .init(user: user) }
                return .init(user: user, errorCode: code, errorMessage: message)
            }
        }
    }

    /// The checks a deletion and an upsertion share: a user name, a known mechanism, and the
    /// user and mechanism named once in the request.
    private static func validate(user: String, mechanism: ScramMechanism, pairs: [String: Int]) -> (ErrorCode, String)? {
        if user.isEmpty { return (.unacceptableCredential, "Username must not be empty") }
        guard mechanism.mechanismName != nil else { return (.unsupportedSaslMechanism, "Unknown SCRAM mechanism") }
        if pairs["\(user)\u{0}\(mechanism.rawValue)", default: 0] > 1 {
            return (.duplicateResource, "A user credential cannot be altered twice in the same request")
        }
        return nil
    }
}
