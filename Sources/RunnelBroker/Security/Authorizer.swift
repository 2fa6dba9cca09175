import Foundation
import Synchronization

/// Who sent the request being handled and from where; the router sets it for the whole handling
/// of one request, so handlers ask the ``Authorizer`` without the principal passed down to them.
struct RequestSession: Sendable {
    var principal: KafkaPrincipal
    /// The client's IP address as ACLs name hosts (`127.0.0.1`, no leading slash).
    var host: String

    /// The session of the request this task handles; User:ANONYMOUS from an unknown host outside one.
    @TaskLocal static var current = RequestSession(principal: .anonymous, host: "")
}

/// Decides whether a principal may perform an operation on a resource, with the semantics of
/// Kafka's `StandardAuthorizer` (KIP-801), from the ACLs in the metadata log:
///
/// 1. A principal in `super.users` may do everything.
/// 2. The ACLs that apply to a resource are the LITERAL ones with its name or `*` and the PREFIXED
///    ones whose name starts the resource's name, for the principal (or `User:*`) and the client's
///    host (or `*`).
/// 3. A DENY ACL for the operation (or ALL) refuses, whatever ALLOW ACLs say.
/// 4. An ALLOW ACL for the operation, ALL, or an operation that implies it
///    (``AclOperation/allowImplies(_:)``) allows.
/// 5. Otherwise: refused, unless no ACL at all (of any principal or host) covers the resource and
///    `allow.everyone.if.no.acl.found` is true.
///
/// Built only when `authorizer.class.name` is set; with none, handlers skip every check.
/// Thread-safe: the ACL set is swapped whole under a lock when the metadata log changes it.
final class Authorizer: Sendable {
    /// The `authorizer.class.name` values accepted: Kafka's KRaft authorizer and its ZooKeeper-era
    /// predecessor, both meaning "ACLs from the cluster metadata".
    static let acceptedClassNames: Set<String> = [
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "kafka.security.authorizer.AclAuthorizer",
    ]

    /// `super.users`, as `Type:name` strings.
    let superUsers: Set<String>
    /// `allow.everyone.if.no.acl.found`.
    let allowEveryoneIfNoAclFound: Bool
    private let acls = Mutex<[AclBinding]>([])

    init(superUsers: Set<String>, allowEveryoneIfNoAclFound: Bool) {
        self.superUsers = superUsers
        self.allowEveryoneIfNoAclFound = allowEveryoneIfNoAclFound
    }

    /// The authorizer `config` asks for, or nil when `authorizer.class.name` is empty.
    /// - Throws: ``ConfigError`` for a class name other than Kafka's two ACL authorizers, or a
    ///   `super.users` entry not in `Type:name` form.
    static func make(config: BrokerConfig) throws -> Authorizer? {
        let className = (config.string("authorizer.class.name") ?? "").trimmingCharacters(in: .whitespaces)
        if className.isEmpty { return nil }
        guard acceptedClassNames.contains(className) else {
            throw ConfigError.invalidValue(key: "authorizer.class.name", value: className,
                                           reason: "Runnel implements \(acceptedClassNames.sorted().joined(separator: " and ")) (ACLs in the cluster metadata)")
        }
        let superUsers = try parseSuperUsers(config.string("super.users") ?? "")
        return Authorizer(superUsers: superUsers, allowEveryoneIfNoAclFound: config.bool("allow.everyone.if.no.acl.found"))
    }

    /// Parses `super.users`: principals separated by `;` (Kafka splits on `;` because certificate
    /// subjects contain commas).
    static func parseSuperUsers(_ text: String) throws -> Set<String> {
        var users: Set<String> = []
        for part in text.split(separator: ";") {
            let entry = part.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty { continue }
            guard let principal = KafkaPrincipal.parse(entry) else {
                throw ConfigError.invalidValue(key: "super.users", value: text, reason: "`\(entry)` is not a principal of the form Type:name")
            }
            users.insert(principal.description)
        }
        return users
    }

    /// Installs the ACLs now in force (at start, and after each metadata change to them).
    func replace(_ bindings: some Collection<AclBinding>) {
        let sorted = bindings.sorted { ($0.resourceType.rawValue, $0.resourceName) < ($1.resourceType.rawValue, $1.resourceName) }
        acls.withLock { $0 = sorted }
    }

    /// The ACLs in force.
    var bindings: [AclBinding] { acls.withLock { $0 } }

    /// Whether `session` may perform `operation` on `resource` (see the type's rules).
    func authorize(_ session: RequestSession, _ operation: AclOperation, _ resource: AclResource) -> Bool {
        let principal = session.principal.description
        if superUsers.contains(principal) { return true }
        return acls.withLock { acls in
            var coveredByAny = false
            var allowed = false
            for acl in acls where acl.covers(resource) {
                coveredByAny = true
                guard acl.principal == principal || acl.principal == AclBinding.wildcardPrincipal,
                      acl.host == AclBinding.wildcardHost || acl.host == session.host else { continue }
                switch acl.permission {
                case .deny:
                    if acl.operation == operation || acl.operation == .all { return false }
                case .allow:
                    if acl.operation.allowImplies(operation) { allowed = true }
                default: continue
                }
            }
            return allowed || (!coveredByAny && allowEveryoneIfNoAclFound)
        }
    }

    /// Whether `session` may perform `operation` on some resource of `type` (Kafka's
    /// `authorizeByResourceType`, KIP-679): InitProducerId for idempotence is allowed with WRITE on
    /// any topic. True when an ALLOW ACL for it exists (LITERAL or PREFIXED, any name) and no DENY
    /// ACL on `*` (LITERAL) or for every name refuses it.
    func authorizeAny(_ session: RequestSession, _ operation: AclOperation, _ type: AclResourceType) -> Bool {
        let principal = session.principal.description
        if superUsers.contains(principal) { return true }
        return acls.withLock { acls in
            var allowed = false
            var coveredByAny = false
            for acl in acls where acl.resourceType == type {
                coveredByAny = true
                guard acl.principal == principal || acl.principal == AclBinding.wildcardPrincipal,
                      acl.host == AclBinding.wildcardHost || acl.host == session.host else { continue }
                if acl.permission == .deny, acl.operation == operation || acl.operation == .all,
                   (acl.patternType == .literal && acl.resourceName == AclBinding.wildcardResource)
                    || (acl.patternType == .prefixed && acl.resourceName.isEmpty) {
                    return false
                }
                if acl.permission == .allow, acl.operation.allowImplies(operation) { allowed = true }
            }
            return allowed || (!coveredByAny && allowEveryoneIfNoAclFound)
        }
    }
}
