// DescribeAcls (key 29), CreateAcls (key 30) and DeleteAcls (key 31), versions 0-3 (KIP-140;
// v1 adds the resource pattern type, KIP-290; v2 is flexible, KIP-482; v3 adds the USER resource
// type, KIP-554). Every resource, pattern, operation and permission field is Kafka's int8 code
// (`ResourceType`, `PatternType`, `AclOperation`, `AclPermissionType`); before v1 the pattern type
// is not on the wire and is LITERAL (3).

/// An ACL filter as DescribeAcls carries it at the top level and DeleteAcls per filter: null
/// strings and the ANY codes match everything.
public struct AclFilterData: Equatable, Sendable {
    public var resourceType: Int8
    public var resourceName: String?
    /// v1+; LITERAL (3) before.
    public var patternType: Int8
    public var principal: String?
    public var host: String?
    public var operation: Int8
    public var permissionType: Int8
    public var taggedFields = TaggedFields()

    public init(resourceType: Int8, resourceName: String?, patternType: Int8 = 3, principal: String?, host: String?,
                operation: Int8, permissionType: Int8) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permissionType = permissionType
    }

    init(from r: inout KafkaReader, version: Int16, tagged: Bool) throws {
        resourceType = try r.readInt8("resource_type_filter")
        resourceName = try r.readNullableString("resource_name_filter")
        patternType = version >= 1 ? try r.readInt8("pattern_type_filter") : 3
        principal = try r.readNullableString("principal_filter")
        host = try r.readNullableString("host_filter")
        operation = try r.readInt8("operation")
        permissionType = try r.readInt8("permission_type")
        if tagged { taggedFields = try r.readTaggedFields() }
    }

    func encode(to w: inout KafkaWriter, version: Int16, tagged: Bool) {
        w.writeInt8(resourceType)
        w.writeNullableString(resourceName)
        if version >= 1 { w.writeInt8(patternType) }
        w.writeNullableString(principal)
        w.writeNullableString(host)
        w.writeInt8(operation)
        w.writeInt8(permissionType)
        if tagged { w.writeTaggedFields(taggedFields) }
    }
}

/// One ACL as the ACL responses and CreateAcls carry it: a resource pattern and an entry.
public struct AclData: Equatable, Sendable {
    public var resourceType: Int8
    public var resourceName: String
    /// v1+; LITERAL (3) before.
    public var patternType: Int8
    public var principal: String
    public var host: String
    public var operation: Int8
    public var permissionType: Int8
    public var taggedFields = TaggedFields()

    public init(resourceType: Int8, resourceName: String, patternType: Int8 = 3, principal: String, host: String,
                operation: Int8, permissionType: Int8) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permissionType = permissionType
    }
}

/// DescribeAcls request (key 29), versions 0-3, flexible from 2: the ACLs matching one filter.
public struct DescribeAclsRequest: KafkaRequest, Equatable {
    public typealias Response = DescribeAclsResponse
    public static let apiKey = ApiKey.describeAcls

    public var filter: AclFilterData
    public var taggedFields = TaggedFields()

    public init(filter: AclFilterData) { self.filter = filter }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        filter = try AclFilterData(from: &reader, version: version, tagged: false)
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        filter.encode(to: &writer, version: version, tagged: false)
        writer.writeTaggedFields(taggedFields)
    }
}

/// DescribeAcls response (key 29), versions 0-3: the matching ACLs grouped by resource pattern.
public struct DescribeAclsResponse: KafkaMessage, Equatable {
    /// One entry of a resource (`AclDescription`).
    public struct Acl: Equatable, Sendable {
        public var principal: String
        public var host: String
        public var operation: Int8
        public var permissionType: Int8
        public var taggedFields = TaggedFields()

        public init(principal: String, host: String, operation: Int8, permissionType: Int8) {
            self.principal = principal
            self.host = host
            self.operation = operation
            self.permissionType = permissionType
        }
    }

    /// One resource pattern and its entries (`DescribeAclsResource`).
    public struct Resource: Equatable, Sendable {
        public var resourceType: Int8
        public var resourceName: String
        /// v1+; LITERAL (3) before.
        public var patternType: Int8
        public var acls: [Acl]
        public var taggedFields = TaggedFields()

        public init(resourceType: Int8, resourceName: String, patternType: Int8 = 3, acls: [Acl]) {
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.patternType = patternType
            self.acls = acls
        }
    }

    /// Milliseconds the request was throttled.
    public var throttleTimeMs: Int32
    public var errorCode: ErrorCode
    public var errorMessage: String?
    public var resources: [Resource]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, errorCode: ErrorCode = .none, errorMessage: String? = nil, resources: [Resource]) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.resources = resources
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        errorCode = ErrorCode(try reader.readInt16("error_code"))
        errorMessage = try reader.readNullableString("error_message")
        resources = try reader.readArray("resources") { r in
            let type = try r.readInt8("resource_type")
            let name = try r.readString("resource_name")
            let pattern = version >= 1 ? try r.readInt8("pattern_type") : 3
            let acls = try r.readArray("acls") { r in
                var a = Acl(principal: try r.readString("principal"), host: try r.readString("host"),
                            operation: try r.readInt8("operation"), permissionType: try r.readInt8("permission_type"))
                a.taggedFields = try r.readTaggedFields()
                return a
            }
            var resource = Resource(resourceType: type, resourceName: name, patternType: pattern, acls: acls)
            resource.taggedFields = try r.readTaggedFields()
            return resource
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeInt16(errorCode.rawValue)
        writer.writeNullableString(errorMessage)
        writer.writeArray(resources) { w, resource in
            w.writeInt8(resource.resourceType)
            w.writeString(resource.resourceName)
            if version >= 1 { w.writeInt8(resource.patternType) }
            w.writeArray(resource.acls) { w, a in
                w.writeString(a.principal)
                w.writeString(a.host)
                w.writeInt8(a.operation)
                w.writeInt8(a.permissionType)
                w.writeTaggedFields(a.taggedFields)
            }
            w.writeTaggedFields(resource.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// CreateAcls request (key 30), versions 0-3, flexible from 2: the ACLs to add.
public struct CreateAclsRequest: KafkaRequest, Equatable {
    public typealias Response = CreateAclsResponse
    public static let apiKey = ApiKey.createAcls

    public var creations: [AclData]
    public var taggedFields = TaggedFields()

    public init(creations: [AclData]) { self.creations = creations }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        creations = try reader.readArray("creations") { r in
            var c = AclData(resourceType: try r.readInt8("resource_type"), resourceName: try r.readString("resource_name"),
                            patternType: version >= 1 ? try r.readInt8("resource_pattern_type") : 3,
                            principal: try r.readString("principal"), host: try r.readString("host"),
                            operation: try r.readInt8("operation"), permissionType: try r.readInt8("permission_type"))
            c.taggedFields = try r.readTaggedFields()
            return c
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(creations) { w, c in
            w.writeInt8(c.resourceType)
            w.writeString(c.resourceName)
            if version >= 1 { w.writeInt8(c.patternType) }
            w.writeString(c.principal)
            w.writeString(c.host)
            w.writeInt8(c.operation)
            w.writeInt8(c.permissionType)
            w.writeTaggedFields(c.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// CreateAcls response (key 30), versions 0-3: one result per creation, in request order.
public struct CreateAclsResponse: KafkaMessage, Equatable {
    public struct Result: Equatable, Sendable {
        public var errorCode: ErrorCode
        public var errorMessage: String?
        public var taggedFields = TaggedFields()

        public init(errorCode: ErrorCode = .none, errorMessage: String? = nil) {
            self.errorCode = errorCode
            self.errorMessage = errorMessage
        }
    }

    /// Milliseconds the request was throttled.
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
            var result = Result(errorCode: ErrorCode(try r.readInt16("error_code")), errorMessage: try r.readNullableString("error_message"))
            result.taggedFields = try r.readTaggedFields()
            return result
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeArray(results) { w, r in
            w.writeInt16(r.errorCode.rawValue)
            w.writeNullableString(r.errorMessage)
            w.writeTaggedFields(r.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}

/// DeleteAcls request (key 31), versions 0-3, flexible from 2: every ACL matching any filter goes.
public struct DeleteAclsRequest: KafkaRequest, Equatable {
    public typealias Response = DeleteAclsResponse
    public static let apiKey = ApiKey.deleteAcls

    public var filters: [AclFilterData]
    public var taggedFields = TaggedFields()

    public init(filters: [AclFilterData]) { self.filters = filters }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        filters = try reader.readArray("filters") { r in try AclFilterData(from: &r, version: version, tagged: true) }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeArray(filters) { w, f in f.encode(to: &w, version: version, tagged: true) }
        writer.writeTaggedFields(taggedFields)
    }
}

/// DeleteAcls response (key 31), versions 0-3: per filter, the ACLs it matched and deleted.
public struct DeleteAclsResponse: KafkaMessage, Equatable {
    /// One deleted ACL (`DeleteAclsMatchingAcl`), with its own error.
    public struct MatchingAcl: Equatable, Sendable {
        public var errorCode: ErrorCode
        public var errorMessage: String?
        public var acl: AclData

        public init(errorCode: ErrorCode = .none, errorMessage: String? = nil, acl: AclData) {
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.acl = acl
        }
    }

    /// The outcome of one filter (`DeleteAclsFilterResult`).
    public struct FilterResult: Equatable, Sendable {
        public var errorCode: ErrorCode
        public var errorMessage: String?
        public var matchingAcls: [MatchingAcl]
        public var taggedFields = TaggedFields()

        public init(errorCode: ErrorCode = .none, errorMessage: String? = nil, matchingAcls: [MatchingAcl]) {
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.matchingAcls = matchingAcls
        }
    }

    /// Milliseconds the request was throttled.
    public var throttleTimeMs: Int32
    public var filterResults: [FilterResult]
    public var taggedFields = TaggedFields()

    public init(throttleTimeMs: Int32 = 0, filterResults: [FilterResult]) {
        self.throttleTimeMs = throttleTimeMs
        self.filterResults = filterResults
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMs = try reader.readInt32("throttle_time_ms")
        filterResults = try reader.readArray("filter_results") { r in
            let code = ErrorCode(try r.readInt16("error_code"))
            let message = try r.readNullableString("error_message")
            let matching = try r.readArray("matching_acls") { r in
                let code = ErrorCode(try r.readInt16("error_code"))
                let message = try r.readNullableString("error_message")
                var acl = AclData(resourceType: try r.readInt8("resource_type"), resourceName: try r.readString("resource_name"),
                                  patternType: version >= 1 ? try r.readInt8("pattern_type") : 3,
                                  principal: try r.readString("principal"), host: try r.readString("host"),
                                  operation: try r.readInt8("operation"), permissionType: try r.readInt8("permission_type"))
                acl.taggedFields = try r.readTaggedFields()
                return MatchingAcl(errorCode: code, errorMessage: message, acl: acl)
            }
            var result = FilterResult(errorCode: code, errorMessage: message, matchingAcls: matching)
            result.taggedFields = try r.readTaggedFields()
            return result
        }
        taggedFields = try reader.readTaggedFields()
    }

    public func encode(to writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(throttleTimeMs)
        writer.writeArray(filterResults) { w, result in
            w.writeInt16(result.errorCode.rawValue)
            w.writeNullableString(result.errorMessage)
            w.writeArray(result.matchingAcls) { w, m in
                w.writeInt16(m.errorCode.rawValue)
                w.writeNullableString(m.errorMessage)
                w.writeInt8(m.acl.resourceType)
                w.writeString(m.acl.resourceName)
                if version >= 1 { w.writeInt8(m.acl.patternType) }
                w.writeString(m.acl.principal)
                w.writeString(m.acl.host)
                w.writeInt8(m.acl.operation)
                w.writeInt8(m.acl.permissionType)
                w.writeTaggedFields(m.acl.taggedFields)
            }
            w.writeTaggedFields(result.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
    }
}
