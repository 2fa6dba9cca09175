import NIOCore

/// AlterUserScramCredentials request (key 51), version 0, flexible (KIP-554): SCRAM credentials
/// to delete and to set. The client derives the salted password (PBKDF2 of the password with the
/// salt and iteration count, RFC 5802 `SaltedPassword`), so the password never leaves it.
public struct AlterUserScramCredentialsRequest: KafkaRequest, Equatable {
    public typealias Response = AlterUserScramCredentialsResponse
    public static let apiKey = ApiKey.alterUserScramCredentials

    public struct Deletion: Equatable, Sendable {
        public var name: String
        public var mechanism: ScramMechanism

        public init(name: String, mechanism: ScramMechanism) {
            self.name = name
            self.mechanism = mechanism
        }
    }

    public struct Upsertion: Equatable, Sendable {
        public var name: String
        public var mechanism: ScramMechanism
        public var iterations: Int32
        public var salt: ByteBuffer
        /// `Hi(password, salt, iterations)`: as long as the mechanism's hash (32 or 64 bytes).
        public var saltedPassword: ByteBuffer

        public init(name: String, mechanism: ScramMechanism, iterations: Int32, salt: ByteBuffer, saltedPassword: ByteBuffer) {
            self.name = name
            self.mechanism = mechanism
            self.iterations = iterations
            self.salt = salt
            self.saltedPassword = saltedPassword
        }
    }

    public var deletions: [Deletion]
    public var upsertions: [Upsertion]
    public var taggedFields = TaggedFields()

    public init(deletions: [Deletion] = [], upsertions: [Upsertion] = []) {
        self.deletions = deletions
        self.upsertions = upsertions
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        deletions = try reader.readArray("deletions") { r in
            let deletion = Deletion(name: try r.readString("name"), mechanism: ScramMechanism(rawValue: try r.readInt8("mechanism")))
            _ = try r.readTaggedFields()
            return deletion
        }
        upsertions = try reader.readArray("upsertions") { r in
            let upsertion = Upsertion(name: try r.readString("name"), mechanism: ScramMechanism(rawValue: try r.readInt8("mechanism")),
                                      iterations: try r.readInt32("iterations"), salt: try r.readBytes("salt"),
                                      saltedPassword: try r.readBytes("salted_password"))
            _ = try r.readTaggedFields()
            return upsertion
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(deletions) { w, d in
            w.writeString(d.name)
            w.writeInt8(d.mechanism.rawValue)
            w.writeTaggedFields()
        }
        writer.writeArray(upsertions) { w, u in
            w.writeString(u.name)
            w.writeInt8(u.mechanism.rawValue)
            w.writeInt32(u.iterations)
            w.writeBytes(u.salt)
            w.writeBytes(u.saltedPassword)
            w.writeTaggedFields()
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// AlterUserScramCredentials response (key 51), version 0: one result per user named in the
/// request (DUPLICATE_RESOURCE, UNSUPPORTED_SASL_MECHANISM, UNACCEPTABLE_CREDENTIAL,
/// RESOURCE_NOT_FOUND for deleting a credential that does not exist).
public struct AlterUserScramCredentialsResponse: KafkaMessage, Equatable {
    public struct Result: Equatable, Sendable {
        public var user: String
        public var errorCode: ErrorCode
        public var errorMessage: String?

        public init(user: String, errorCode: ErrorCode = .none, errorMessage: String? = nil) {
            self.user = user
            self.errorCode = errorCode
            self.errorMessage = errorMessage
        }
    }

    public var throttleTimeMs: Int32
    public var results: [Result]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, results: [Result]) {
        self.throttleTimeMs = throttleTimeMs
        self.results = results
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        results = try reader.readArray("results") { r in
            let result = Result(user: try r.readString("user"), errorCode: ErrorCode(try r.readInt16("error_code")),
                                errorMessage: try r.readNullableString("error_message"))
            _ = try r.readTaggedFields()
            return result
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeArray(results) { w, r in
            w.writeString(r.user)
            w.writeInt16(r.errorCode.rawValue)
            w.writeNullableString(r.errorMessage)
            w.writeTaggedFields()
        }
        writer.writeTaggedFields(taggedFields)
    }
}
