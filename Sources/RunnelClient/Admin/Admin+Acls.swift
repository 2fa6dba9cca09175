import KafkaProtocol

/// One ACL (Kafka's `AclBinding`): "principal is ALLOWED or DENIED operation from host on the
/// resources the pattern names" (KIP-11, KIP-290). Names are Kafka's: resource types `TOPIC`,
/// `GROUP`, `CLUSTER`, `TRANSACTIONAL_ID`, `DELEGATION_TOKEN`, `USER`; pattern types `LITERAL`,
/// `PREFIXED` (and, in filters, `ANY`, `MATCH`); operations `ALL`, `READ`, `WRITE`, `CREATE`,
/// `DELETE`, `ALTER`, `DESCRIBE`, `CLUSTER_ACTION`, `DESCRIBE_CONFIGS`, `ALTER_CONFIGS`,
/// `IDEMPOTENT_WRITE`, `CREATE_TOKENS`, `DESCRIBE_TOKENS` (and `ANY` in filters); permissions
/// `ALLOW`, `DENY` (and `ANY` in filters).
public struct AclBinding: Sendable, Equatable, Hashable {
    public var resourceType: String
    public var resourceName: String
    public var patternType: String
    /// `Type:name` (`User:alice`), or `User:*` for everyone.
    public var principal: String
    /// An IP address, or `*`.
    public var host: String
    public var operation: String
    public var permission: String

    public init(resourceType: String, resourceName: String, patternType: String = "LITERAL", principal: String, host: String = "*",
                operation: String, permission: String = "ALLOW") {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }
}

/// Which ACLs to describe or delete (`AclBindingFilter`): nil strings match every value; the
/// `ANY` names match every code; pattern type `MATCH` selects every ACL that applies to the named
/// resource (its literal name, `*`, and prefixes of it).
public struct AclBindingFilter: Sendable, Equatable {
    public var resourceType: String
    public var resourceName: String?
    public var patternType: String
    public var principal: String?
    public var host: String?
    public var operation: String
    public var permission: String

    public init(resourceType: String = "ANY", resourceName: String? = nil, patternType: String = "ANY", principal: String? = nil,
                host: String? = nil, operation: String = "ANY", permission: String = "ANY") {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    /// Every ACL.
    public static let any = AclBindingFilter()
}

/// Kafka's names for the ACL codes.
enum AclCodes {
    static let resourceTypes = ["UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"]
    static let patternTypes = ["UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"]
    static let operations = ["UNKNOWN", "ANY", "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "CLUSTER_ACTION",
                             "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "CREATE_TOKENS", "DESCRIBE_TOKENS"]
    static let permissions = ["UNKNOWN", "ANY", "DENY", "ALLOW"]

    /// The code of `name` (case-insensitive) in `table`.
    /// - Throws: ``ClientError/invalidArgument(_:)`` for a name Kafka does not define.
    static func code(_ name: String, _ table: [String], _ what: String) throws -> Int8 {
        guard let index = table.firstIndex(of: name.uppercased()) else {
            throw ClientError.invalidArgument("unknown \(what) '\(name)' (one of \(table.dropFirst().joined(separator: ", ")))")
        }
        return Int8(index)
    }

    static func name(_ code: Int8, _ table: [String]) -> String { table.indices.contains(Int(code)) ? table[Int(code)] : "UNKNOWN(\(code))" }
}

extension AclBinding {
    var data: AclData {
        get throws {
            AclData(resourceType: try AclCodes.code(resourceType, AclCodes.resourceTypes, "resource type"), resourceName: resourceName,
                    patternType: try AclCodes.code(patternType, AclCodes.patternTypes, "pattern type"), principal: principal, host: host,
                    operation: try AclCodes.code(operation, AclCodes.operations, "operation"),
                    permissionType: try AclCodes.code(permission, AclCodes.permissions, "permission"))
        }
    }

    init(_ d: AclData) {
        self.init(resourceType: AclCodes.name(d.resourceType, AclCodes.resourceTypes), resourceName: d.resourceName,
                  patternType: AclCodes.name(d.patternType, AclCodes.patternTypes), principal: d.principal, host: d.host,
                  operation: AclCodes.name(d.operation, AclCodes.operations), permission: AclCodes.name(d.permissionType, AclCodes.permissions))
    }
}

extension AclBindingFilter {
    var data: AclFilterData {
        get throws {
            AclFilterData(resourceType: try AclCodes.code(resourceType, AclCodes.resourceTypes, "resource type"), resourceName: resourceName,
                          patternType: try AclCodes.code(patternType, AclCodes.patternTypes, "pattern type"), principal: principal, host: host,
                          operation: try AclCodes.code(operation, AclCodes.operations, "operation"),
                          permissionType: try AclCodes.code(permission, AclCodes.permissions, "permission"))
        }
    }
}

extension Admin {
    /// Adds ACLs (CreateAcls, KIP-140); an ACL already present is accepted.
    /// - Throws: ``ClientError/invalidArgument(_:)`` for an unknown name; the broker's error for the
    ///   first refused ACL (CLUSTER_AUTHORIZATION_FAILED without ALTER on the cluster,
    ///   SECURITY_DISABLED without an authorizer, INVALID_REQUEST for a malformed ACL).
    public func createAcls(_ acls: [AclBinding]) async throws {
        let request = CreateAclsRequest(creations: try acls.map { try $0.data })
        let response = try await core.anyConnection().send(request)
        for (acl, result) in zip(acls, response.results) {
            try check(result.errorCode, result.errorMessage, "creating ACL \(acl.principal) \(acl.permission) \(acl.operation) on \(acl.resourceType) '\(acl.resourceName)'")
        }
    }

    /// The ACLs matching `filter` (DescribeAcls), sorted by resource then principal.
    /// - Throws: CLUSTER_AUTHORIZATION_FAILED without DESCRIBE on the cluster, SECURITY_DISABLED...
    public func describeAcls(_ filter: AclBindingFilter = .any) async throws -> [AclBinding] {
        let response = try await core.anyConnection().send(DescribeAclsRequest(filter: try filter.data))
        try check(response.errorCode, response.errorMessage, "describing ACLs")
        return response.resources.flatMap { resource in
            resource.acls.map { acl in
                AclBinding(AclData(resourceType: resource.resourceType, resourceName: resource.resourceName, patternType: resource.patternType,
                                   principal: acl.principal, host: acl.host, operation: acl.operation, permissionType: acl.permissionType))
            }
        }
    }

    /// Deletes every ACL matching any of `filters` (DeleteAcls).
    /// - Returns: the ACLs deleted.
    public func deleteAcls(_ filters: [AclBindingFilter]) async throws -> [AclBinding] {
        let response = try await core.anyConnection().send(DeleteAclsRequest(filters: try filters.map { try $0.data }))
        var deleted: [AclBinding] = []
        for result in response.filterResults {
            try check(result.errorCode, result.errorMessage, "deleting ACLs")
            for matching in result.matchingAcls {
                try check(matching.errorCode, matching.errorMessage, "deleting an ACL")
                deleted.append(AclBinding(matching.acl))
            }
        }
        return deleted
    }
}
