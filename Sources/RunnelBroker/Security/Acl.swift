import KafkaProtocol

// Kafka's ACL vocabulary (clients `org.apache.kafka.common.resource` and `.acl`, KIP-140, KIP-290),
// with the int8 codes the ACL APIs and `AccessControlEntryRecord` carry.

/// What an ACL protects (`ResourceType`). UNKNOWN and ANY appear only in filters.
enum AclResourceType: Int8, Sendable, CaseIterable {
    case unknown = 0, any = 1, topic = 2, group = 3, cluster = 4, transactionalID = 5, delegationToken = 6, user = 7

    /// Kafka's name (`TOPIC`, `TRANSACTIONAL_ID`...), as `kafka-acls.sh` prints it.
    var name: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .any: "ANY"
        case .topic: "TOPIC"
        case .group: "GROUP"
        case .cluster: "CLUSTER"
        case .transactionalID: "TRANSACTIONAL_ID"
        case .delegationToken: "DELEGATION_TOKEN"
        case .user: "USER"
        }
    }
}

/// How an ACL's resource name matches (`PatternType`, KIP-290). An ACL is LITERAL (the exact name,
/// or `*` for every name) or PREFIXED (every name starting with it); filters may also say ANY
/// (both kinds, names compared exactly) or MATCH (every ACL that would apply to the named resource).
enum AclPatternType: Int8, Sendable {
    case unknown = 0, any = 1, match = 2, literal = 3, prefixed = 4
}

/// What an ACL allows or denies (`AclOperation`). ANY appears only in filters; ALL in an ACL covers
/// every operation.
enum AclOperation: Int8, Sendable, CaseIterable {
    case unknown = 0, any = 1, all = 2, read = 3, write = 4, create = 5, delete = 6, alter = 7, describe = 8
    case clusterAction = 9, describeConfigs = 10, alterConfigs = 11, idempotentWrite = 12
    case createTokens = 13, describeTokens = 14

    /// Kafka's name (`READ`, `DESCRIBE_CONFIGS`...).
    var name: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .any: "ANY"
        case .all: "ALL"
        case .read: "READ"
        case .write: "WRITE"
        case .create: "CREATE"
        case .delete: "DELETE"
        case .alter: "ALTER"
        case .describe: "DESCRIBE"
        case .clusterAction: "CLUSTER_ACTION"
        case .describeConfigs: "DESCRIBE_CONFIGS"
        case .alterConfigs: "ALTER_CONFIGS"
        case .idempotentWrite: "IDEMPOTENT_WRITE"
        case .createTokens: "CREATE_TOKENS"
        case .describeTokens: "DESCRIBE_TOKENS"
        }
    }

    /// The operations an ALLOW ACL for this one also allows (Kafka's `AuthorizerUtils` / the
    /// StandardAuthorizer's implied operations): READ, WRITE, DELETE and ALTER imply DESCRIBE;
    /// ALTER_CONFIGS implies DESCRIBE_CONFIGS. DENY ACLs imply nothing.
    func allowImplies(_ requested: AclOperation) -> Bool {
        if self == requested || self == .all { return true }
        switch requested {
        case .describe: return [.read, .write, .delete, .alter].contains(self)
        case .describeConfigs: return self == .alterConfigs
        default: return false
        }
    }
}

/// ALLOW or DENY (`AclPermissionType`); ANY appears only in filters.
enum AclPermissionType: Int8, Sendable {
    case unknown = 0, any = 1, deny = 2, allow = 3
}

/// The resource a request acts on: a type and a name (`kafka-cluster` for the cluster).
struct AclResource: Hashable, Sendable {
    var type: AclResourceType
    var name: String

    /// The one cluster resource's name.
    static let clusterName = "kafka-cluster"
    static let cluster = AclResource(type: .cluster, name: clusterName)
    static func topic(_ name: String) -> AclResource { AclResource(type: .topic, name: name) }
    static func group(_ name: String) -> AclResource { AclResource(type: .group, name: name) }
}

/// One ACL (`AclBinding`): a resource pattern and an access control entry, with the id the
/// metadata log names it by.
struct AclBinding: Hashable, Sendable {
    /// The wildcard resource name of a LITERAL ACL: every resource of its type.
    static let wildcardResource = "*"
    /// The wildcard principal: every principal.
    static let wildcardPrincipal = "User:*"
    /// The wildcard host: every host.
    static let wildcardHost = "*"

    var id: UUIDBytes
    var resourceType: AclResourceType
    var resourceName: String
    /// LITERAL or PREFIXED.
    var patternType: AclPatternType
    /// `Type:name`, or `User:*`.
    var principal: String
    /// An IP address, or `*`.
    var host: String
    var operation: AclOperation
    /// ALLOW or DENY.
    var permission: AclPermissionType

    /// Whether this ACL's pattern covers `resource` (exact name, `*`, or a prefix of it).
    func covers(_ resource: AclResource) -> Bool {
        guard resourceType == resource.type else { return false }
        switch patternType {
        case .literal: return resourceName == resource.name || resourceName == Self.wildcardResource
        case .prefixed: return resource.name.hasPrefix(resourceName)
        default: return false
        }
    }

    /// What makes two ACLs the same ACL: everything but the id.
    struct Key: Hashable {
        var resourceType: AclResourceType
        var resourceName: String
        var patternType: AclPatternType
        var principal: String
        var host: String
        var operation: AclOperation
        var permission: AclPermissionType
    }

    var key: Key {
        Key(resourceType: resourceType, resourceName: resourceName, patternType: patternType, principal: principal, host: host,
            operation: operation, permission: permission)
    }

    /// The wire form used by CreateAcls, DeleteAcls results and DescribeAcls.
    var data: AclData {
        AclData(resourceType: resourceType.rawValue, resourceName: resourceName, patternType: patternType.rawValue,
                principal: principal, host: host, operation: operation.rawValue, permissionType: permission.rawValue)
    }
}

/// An ACL filter (`AclBindingFilter`) from DescribeAcls or DeleteAcls: null strings and ANY codes
/// match everything; pattern type MATCH selects every ACL that applies to the named resource.
struct AclFilter: Sendable {
    var resourceType: AclResourceType
    var resourceName: String?
    var patternType: AclPatternType
    var principal: String?
    var host: String?
    var operation: AclOperation
    var permission: AclPermissionType

    /// Validates the wire filter.
    /// - Throws: ``AclError`` (INVALID_REQUEST) for codes Kafka does not define or UNKNOWN ones,
    ///   which a filter may not use (`AclBindingFilter.findIndefiniteField`).
    init(_ data: AclFilterData) throws {
        guard let type = AclResourceType(rawValue: data.resourceType), type != .unknown,
              let pattern = AclPatternType(rawValue: data.patternType), pattern != .unknown,
              let operation = AclOperation(rawValue: data.operation), operation != .unknown,
              let permission = AclPermissionType(rawValue: data.permissionType), permission != .unknown else {
            throw AclError(code: .invalidRequest, message: "The ACL filter has an unknown resource type, pattern type, operation or permission type.")
        }
        self.resourceType = type
        self.resourceName = data.resourceName
        self.patternType = pattern
        self.principal = data.principal
        self.host = data.host
        self.operation = operation
        self.permission = permission
    }

    func matches(_ acl: AclBinding) -> Bool {
        if resourceType != .any, resourceType != acl.resourceType { return false }
        if let principal, principal != acl.principal { return false }
        if let host, host != acl.host { return false }
        if operation != .any, operation != acl.operation { return false }
        if permission != .any, permission != acl.permission { return false }
        guard let name = resourceName else {
            return patternType == .any || patternType == .match || patternType == acl.patternType
        }
        switch patternType {
        case .any: return name == acl.resourceName
        case .match:
            // Every ACL that applies to a resource of this name: the literal name, `*`, and
            // prefixes of the name.
            switch acl.patternType {
            case .literal: return acl.resourceName == name || acl.resourceName == AclBinding.wildcardResource
            case .prefixed: return name.hasPrefix(acl.resourceName)
            default: return false
            }
        default: return patternType == acl.patternType && name == acl.resourceName
        }
    }
}

/// A refused ACL change or filter: the Kafka error and message for the client.
struct AclError: Error, Equatable {
    var code: ErrorCode
    var message: String
}

extension AclBinding {
    /// Validates a CreateAcls creation (Kafka's `AclControlManager.validateNewAcl`).
    /// - Throws: ``AclError``: INVALID_REQUEST for UNKNOWN or ANY codes, a MATCH or ANY pattern
    ///   type, a principal not in `Type:name` form, an empty resource name or host.
    init(creation c: AclData, id: UUIDBytes) throws {
        guard let type = AclResourceType(rawValue: c.resourceType), type != .unknown, type != .any else {
            throw AclError(code: .invalidRequest, message: "Invalid resource type \(c.resourceType)")
        }
        guard let pattern = AclPatternType(rawValue: c.patternType), pattern == .literal || pattern == .prefixed else {
            throw AclError(code: .invalidRequest, message: "Invalid pattern type \(c.patternType): an ACL is LITERAL or PREFIXED")
        }
        guard let operation = AclOperation(rawValue: c.operation), operation != .unknown, operation != .any else {
            throw AclError(code: .invalidRequest, message: "Invalid operation \(c.operation)")
        }
        guard let permission = AclPermissionType(rawValue: c.permissionType), permission == .allow || permission == .deny else {
            throw AclError(code: .invalidRequest, message: "Invalid permission type \(c.permissionType)")
        }
        guard KafkaPrincipal.parse(c.principal) != nil else {
            throw AclError(code: .invalidRequest, message: "Could not parse principal from `\(c.principal)`: it must be Type:name")
        }
        guard !c.resourceName.isEmpty else { throw AclError(code: .invalidRequest, message: "Resource name must not be empty") }
        guard !c.host.isEmpty else { throw AclError(code: .invalidRequest, message: "Host must not be empty; use * for every host") }
        if type == .cluster, c.resourceName != AclResource.clusterName {
            throw AclError(code: .invalidRequest, message: "The only valid name for the CLUSTER resource is \(AclResource.clusterName)")
        }
        self.init(id: id, resourceType: type, resourceName: c.resourceName, patternType: pattern, principal: c.principal,
                  host: c.host, operation: operation, permission: permission)
    }
}
