import KafkaProtocol
@testable import RunnelBroker
import Testing

/// The authorizer's rules (Kafka's StandardAuthorizer): super users, DENY over ALLOW, literal,
/// wildcard and prefixed patterns, implied operations, hosts, and allow.everyone.if.no.acl.found.
@Suite struct AuthorizerTests {
    static func session(_ name: String, host: String = "10.0.0.1") -> RequestSession {
        RequestSession(principal: KafkaPrincipal(name: name), host: host)
    }

    static func acl(_ name: String, pattern: AclPatternType = .literal, _ operation: AclOperation, _ permission: AclPermissionType = .allow,
                    principal: String = "User:alice", host: String = "*", type: AclResourceType = .topic) -> AclBinding {
        AclBinding(id: UUIDBytes.random(), resourceType: type, resourceName: name, patternType: pattern, principal: principal, host: host,
                   operation: operation, permission: permission)
    }

    static func authorizer(_ acls: [AclBinding], superUsers: Set<String> = [], allowEveryone: Bool = false) -> Authorizer {
        let a = Authorizer(superUsers: superUsers, allowEveryoneIfNoAclFound: allowEveryone)
        a.replace(acls)
        return a
    }

    let alice = session("alice")
    let bob = session("bob")

    @Test func literalAllowOnlyForItsPrincipalAndResource() {
        let a = Self.authorizer([Self.acl("orders", .read)])
        #expect(a.authorize(alice, .read, .topic("orders")))
        #expect(!a.authorize(bob, .read, .topic("orders")))
        #expect(!a.authorize(alice, .read, .topic("orders2")))
        #expect(!a.authorize(alice, .write, .topic("orders")))
        #expect(!a.authorize(alice, .read, .group("orders")))
    }

    @Test func denyBeatsAllow() {
        let a = Self.authorizer([Self.acl("orders", .all), Self.acl("orders", .write, .deny),
                                 Self.acl("*", .read, principal: "User:*"), Self.acl("secret", .read, .deny)])
        #expect(a.authorize(alice, .read, .topic("orders")))
        #expect(!a.authorize(alice, .write, .topic("orders")))
        #expect(!a.authorize(alice, .read, .topic("secret")))
        #expect(a.authorize(bob, .read, .topic("other")))
    }

    @Test func denyAllCoversEveryOperationButDenyReadDoesNotDenyDescribe() {
        let a = Self.authorizer([Self.acl("t", .all), Self.acl("t", .read, .deny), Self.acl("u", .all), Self.acl("u", .all, .deny)])
        #expect(a.authorize(alice, .describe, .topic("t")))
        #expect(!a.authorize(alice, .read, .topic("t")))
        #expect(!a.authorize(alice, .describe, .topic("u")))
    }

    @Test func wildcardResourceAndPrincipal() {
        let a = Self.authorizer([Self.acl("*", .write, principal: "User:*")])
        #expect(a.authorize(alice, .write, .topic("anything")))
        #expect(a.authorize(bob, .write, .topic("x")))
        #expect(!a.authorize(bob, .read, .topic("x")))
    }

    @Test func prefixedPatterns() {
        let a = Self.authorizer([Self.acl("team-a.", pattern: .prefixed, .read), Self.acl("team-a.secret", pattern: .prefixed, .read, .deny)])
        #expect(a.authorize(alice, .read, .topic("team-a.orders")))
        #expect(a.authorize(alice, .read, .topic("team-a.")))
        #expect(!a.authorize(alice, .read, .topic("team-a")))
        #expect(!a.authorize(alice, .read, .topic("team-b.orders")))
        #expect(!a.authorize(alice, .read, .topic("team-a.secret-1")))
    }

    @Test func impliedOperations() {
        let a = Self.authorizer([Self.acl("r", .read), Self.acl("w", .write), Self.acl("d", .delete), Self.acl("a", .alter),
                                 Self.acl("c", .alterConfigs), Self.acl("x", .create)])
        for name in ["r", "w", "d", "a"] { #expect(a.authorize(alice, .describe, .topic(name)), "\(name) implies DESCRIBE") }
        #expect(!a.authorize(alice, .describe, .topic("x")))
        #expect(a.authorize(alice, .describeConfigs, .topic("c")))
        #expect(!a.authorize(alice, .describe, .topic("c")))
        #expect(!a.authorize(alice, .read, .topic("w")))
    }

    @Test func superUsersMayDoEverything() {
        let a = Self.authorizer([Self.acl("t", .all, .deny, principal: "User:ANONYMOUS")], superUsers: ["User:ANONYMOUS", "User:admin"])
        #expect(a.authorize(RequestSession(principal: .anonymous, host: "1.2.3.4"), .write, .topic("t")))
        #expect(a.authorize(Self.session("admin"), .clusterAction, .cluster))
        #expect(!a.authorize(alice, .clusterAction, .cluster))
    }

    @Test func hostsMatchExactlyOrByWildcard() {
        let a = Self.authorizer([Self.acl("t", .read, host: "10.0.0.1"), Self.acl("t", .write, .deny, host: "10.0.0.9"),
                                 Self.acl("t", .write)])
        #expect(a.authorize(alice, .read, .topic("t")))
        #expect(!a.authorize(Self.session("alice", host: "10.0.0.2"), .read, .topic("t")))
        #expect(a.authorize(alice, .write, .topic("t")))
        #expect(!a.authorize(Self.session("alice", host: "10.0.0.9"), .write, .topic("t")))
    }

    @Test func allowEveryoneOnlyWhenNoAclCoversTheResource() {
        let a = Self.authorizer([Self.acl("guarded", .read), Self.acl("pre-", pattern: .prefixed, .read)], allowEveryone: true)
        #expect(a.authorize(bob, .write, .topic("open")))
        #expect(!a.authorize(bob, .read, .topic("guarded")))      // an ACL for alice covers it
        #expect(!a.authorize(bob, .read, .topic("pre-x")))
        let closed = Self.authorizer([], allowEveryone: false)
        #expect(!closed.authorize(bob, .describe, .topic("open")))
    }

    @Test func anyTopicWriteForIdempotence() {
        let a = Self.authorizer([Self.acl("logs-", pattern: .prefixed, .write)])
        #expect(a.authorizeAny(alice, .write, .topic))
        #expect(!a.authorizeAny(bob, .write, .topic))
        let denied = Self.authorizer([Self.acl("logs-", pattern: .prefixed, .write), Self.acl("*", .write, .deny)])
        #expect(!denied.authorizeAny(alice, .write, .topic))
    }

    @Test func configAcceptsKafkaClassNamesAndRejectsOthers() throws {
        let off = try BrokerConfig(overrides: [])
        #expect(try Authorizer.make(config: off) == nil)
        let on = try BrokerConfig(overrides: [("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
                                              ("super.users", "User:admin; User:CN=broker,O=x"), ("allow.everyone.if.no.acl.found", "true")])
        let a = try #require(try Authorizer.make(config: on))
        #expect(a.superUsers == ["User:admin", "User:CN=broker,O=x"])
        #expect(a.allowEveryoneIfNoAclFound)
        #expect(try Authorizer.make(config: BrokerConfig(overrides: [("authorizer.class.name", "kafka.security.authorizer.AclAuthorizer")])) != nil)
        #expect(throws: ConfigError.self) {
            try Authorizer.make(config: BrokerConfig(overrides: [("authorizer.class.name", "com.example.MyAuthorizer")]))
        }
        #expect(throws: ConfigError.self) {
            try Authorizer.make(config: BrokerConfig(overrides: [("authorizer.class.name", "kafka.security.authorizer.AclAuthorizer"),
                                                                  ("super.users", "admin")]))
        }
    }

    @Test func creationValidation() throws {
        func create(_ type: Int8 = 2, _ name: String = "t", pattern: Int8 = 3, principal: String = "User:a", op: Int8 = 3, perm: Int8 = 3) throws -> AclBinding {
            try AclBinding(creation: AclData(resourceType: type, resourceName: name, patternType: pattern, principal: principal, host: "*",
                                             operation: op, permissionType: perm), id: .random())
        }
        #expect(try create().key.operation == .read)
        for bad in [{ try create(1) }, { try create(0) }, { try create(pattern: 2) }, { try create(pattern: 1) }, { try create(principal: "alice") },
                    { try create(op: 1) }, { try create(perm: 1) }, { try create(4, "other") }, { try create(2, "") }] {
            #expect(throws: AclError.self) { _ = try bad() }
        }
    }

    @Test func filtersMatchAsKafkaDoes() throws {
        let literal = Self.acl("orders", .read)
        let wildcard = Self.acl("*", .read)
        let prefixed = Self.acl("ord", pattern: .prefixed, .read)
        func filter(_ name: String?, _ pattern: AclPatternType, principal: String? = nil) throws -> AclFilter {
            try AclFilter(AclFilterData(resourceType: 1, resourceName: name, patternType: pattern.rawValue, principal: principal, host: nil,
                                        operation: 1, permissionType: 1))
        }
        let match = try filter("orders", .match)
        #expect(match.matches(literal) && match.matches(wildcard) && match.matches(prefixed))
        let exact = try filter("orders", .literal)
        #expect(exact.matches(literal) && !exact.matches(wildcard) && !exact.matches(prefixed))
        let any = try filter("ord", .any)
        #expect(any.matches(prefixed) && !any.matches(literal))
        #expect(try filter(nil, .any).matches(prefixed))
        #expect(!(try filter(nil, .any, principal: "User:bob")).matches(literal))
        #expect(throws: AclError.self) { try AclFilter(AclFilterData(resourceType: 0, resourceName: nil, principal: nil, host: nil, operation: 1, permissionType: 1)) }
    }
}
