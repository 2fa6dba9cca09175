/// ApiVersions (key 18), versions 0-4, flexible from 3 (KIP-35, KIP-511).
///
/// The response always travels with response header v0. For a request version above what Runnel
/// supports, the broker answers UNSUPPORTED_VERSION with the v0 body layout (KIP-511).
public struct ApiVersionsRequest: KafkaRequest, Equatable {
    public typealias Response = ApiVersionsResponse
    public static let apiKey = ApiKey.apiVersions

    /// Client software name (v3+), e.g. "librdkafka".
    public var clientSoftwareName: String
    /// Client software version (v3+).
    public var clientSoftwareVersion: String
    public var taggedFields = TaggedFields()

    public init(clientSoftwareName: String = "", clientSoftwareVersion: String = "") {
        self.clientSoftwareName = clientSoftwareName
        self.clientSoftwareVersion = clientSoftwareVersion
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        if version >= 3 {
            clientSoftwareName = try reader.readString("client_software_name")
            clientSoftwareVersion = try reader.readString("client_software_version")
            taggedFields = try reader.readTaggedFields()
        } else {
            clientSoftwareName = ""
            clientSoftwareVersion = ""
        }
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        if version >= 3 {
            writer.writeString(clientSoftwareName)
            writer.writeString(clientSoftwareVersion)
            writer.writeTaggedFields(taggedFields)
        }
    }
}

public struct ApiVersionsResponse: KafkaMessage, Equatable {
    /// One supported API: key and inclusive version range.
    public struct ApiVersion: Equatable, Sendable {
        public var apiKey: Int16
        public var minVersion: Int16
        public var maxVersion: Int16
        public init(apiKey: Int16, minVersion: Int16, maxVersion: Int16) {
            self.apiKey = apiKey
            self.minVersion = minVersion
            self.maxVersion = maxVersion
        }
    }

    public var errorCode: ErrorCode
    public var apiKeys: [ApiVersion]
    /// Milliseconds the request was throttled (v1+).
    public var throttleTimeMs: Int32
    /// Tagged fields (SupportedFeatures, FinalizedFeatures...) kept raw; Runnel sends none.
    public var taggedFields = TaggedFields()

    public init(errorCode: ErrorCode, apiKeys: [ApiVersion], throttleTimeMs: Int32 = 0) {
        self.errorCode = errorCode
        self.apiKeys = apiKeys
        self.throttleTimeMs = throttleTimeMs
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        apiKeys = try reader.readArray("api_keys") { r in
            let v = ApiVersion(apiKey: try r.readInt16(), minVersion: try r.readInt16(), maxVersion: try r.readInt16())
            _ = try r.readTaggedFields()
            return v
        }
        throttleTimeMs = version >= 1 ? try reader.readInt32("throttle_time_ms") : 0
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt16(errorCode.rawValue)
        writer.writeArray(apiKeys) { w, api in
            w.writeInt16(api.apiKey)
            w.writeInt16(api.minVersion)
            w.writeInt16(api.maxVersion)
            w.writeTaggedFields()
        }
        if version >= 1 { writer.writeInt32(throttleTimeMs) }
        writer.writeTaggedFields(taggedFields)
    }
}
