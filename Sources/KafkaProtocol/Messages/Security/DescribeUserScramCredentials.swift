/// DescribeUserScramCredentials request (key 50), version 0, flexible (KIP-554): the users whose
/// SCRAM credentials to describe; null or empty describes every user that has one.
public struct DescribeUserScramCredentialsRequest: KafkaRequest, Equatable {
    public typealias Response = DescribeUserScramCredentialsResponse
    public static let apiKey = ApiKey.describeUserScramCredentials

    /// User names; nil (or empty) for all users.
    public var users: [String]?
    public var taggedFields = TaggedFields()

    public init(users: [String]?) {
        self.users = users
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        users = try reader.readNullableArray("users") { r in
            let name = try r.readString("name")
            _ = try r.readTaggedFields()
            return name
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeNullableArray(users) { w, name in
            w.writeString(name)
            w.writeTaggedFields()
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// DescribeUserScramCredentials response (key 50), version 0: per user its mechanisms and
/// iteration counts, never salts or keys; RESOURCE_NOT_FOUND for a user without credentials,
/// DUPLICATE_RESOURCE for a user named twice.
public struct DescribeUserScramCredentialsResponse: KafkaMessage, Equatable {
    public struct CredentialInfo: Equatable, Sendable {
        public var mechanism: ScramMechanism
        public var iterations: Int32

        public init(mechanism: ScramMechanism, iterations: Int32) {
            self.mechanism = mechanism
            self.iterations = iterations
        }
    }

    public struct Result: Equatable, Sendable {
        public var user: String
        public var errorCode: ErrorCode
        public var errorMessage: String?
        public var credentialInfos: [CredentialInfo]

        public init(user: String, errorCode: ErrorCode = .none, errorMessage: String? = nil, credentialInfos: [CredentialInfo] = []) {
            self.user = user
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.credentialInfos = credentialInfos
        }
    }

    public var throttleTimeMs: Int32
    /// Request-level error (CLUSTER_AUTHORIZATION_FAILED); per-user errors are in ``results``.
    public var errorCode: ErrorCode
    public var errorMessage: String?
    public var results: [Result]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, errorMessage: String? = nil, results: [Result]) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.results = results
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        errorMessage = try reader.readNullableString("error_message")
        results = try reader.readArray("results") { r in
            let user = try r.readString("user")
            let code = ErrorCode(try r.readInt16("error_code"))
            let message = try r.readNullableString("error_message")
            let infos = try r.readArray("credential_infos") { c in
                let info = CredentialInfo(mechanism: ScramMechanism(rawValue: try c.readInt8("mechanism")),
                                          iterations: try c.readInt32("iterations"))
                _ = try c.readTaggedFields()
                return info
            }
            _ = try r.readTaggedFields()
            return Result(user: user, errorCode: code, errorMessage: message, credentialInfos: infos)
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeInt16(errorCode.rawValue)
        writer.writeNullableString(errorMessage)
        writer.writeArray(results) { w, result in
            w.writeString(result.user)
            w.writeInt16(result.errorCode.rawValue)
            w.writeNullableString(result.errorMessage)
            w.writeArray(result.credentialInfos) { c, info in
                c.writeInt8(info.mechanism.rawValue)
                c.writeInt32(info.iterations)
                c.writeTaggedFields()
            }
            w.writeTaggedFields()
        }
        writer.writeTaggedFields(taggedFields)
    }
}
