import ArgumentParser
import RunnelClient

/// `runnel acl add|list|remove`, like `kafka-acls.sh --add|--list|--remove`.
struct AclCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acl",
        abstract: "Add, list and remove ACLs (the broker needs authorizer.class.name; see docs/security.md).",
        subcommands: [Add.self, List.self, Remove.self]
    )

    /// The resource options shared by the subcommands: at most one of --topic, --group, --cluster.
    struct ResourceOptions: ParsableArguments {
        @Option(name: .long, help: "A topic name (or * for every topic).") var topic: String?
        @Option(name: .long, help: "A consumer group id (or * for every group).") var group: String?
        @Flag(name: .long, help: "The cluster resource (kafka-cluster).") var cluster = false
        @Option(name: .customLong("transactional-id"), help: "A transactional id.") var transactionalID: String?
        @Option(name: .customLong("resource-pattern-type"),
                help: "literal or prefixed (add, remove); list also takes any and match.") var patternType: String?

        func validate() throws {
            if [topic != nil, group != nil, cluster, transactionalID != nil].filter({ $0 }).count > 1 {
                throw ValidationError("name one resource: --topic, --group, --transactional-id or --cluster")
            }
        }

        /// Resource type and name, or nil when none was named.
        var resource: (type: String, name: String)? {
            if let topic { return ("TOPIC", topic) }
            if let group { return ("GROUP", group) }
            if let transactionalID { return ("TRANSACTIONAL_ID", transactionalID) }
            if cluster { return ("CLUSTER", "kafka-cluster") }
            return nil
        }
    }

    /// The entry options of add and remove.
    struct EntryOptions: ParsableArguments {
        @Option(name: .customLong("allow-principal"), help: "Principal to allow, as Type:name (User:alice, User:*); repeatable.")
        var allowPrincipals: [String] = []
        @Option(name: .customLong("deny-principal"), help: "Principal to deny, as Type:name; repeatable.")
        var denyPrincipals: [String] = []
        @Option(name: .long, help: "Operation (READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALL); repeatable.")
        var operation: [String] = []
        @Option(name: .long, help: "Host (IP address) the ACLs apply to (default *, every host).") var host = "*"

        func acls(on resource: (type: String, name: String), patternType: String) -> [AclBinding] {
            let entries = allowPrincipals.map { ($0, "ALLOW") } + denyPrincipals.map { ($0, "DENY") }
            return entries.flatMap { principal, permission in
                operation.map { op in
                    AclBinding(resourceType: resource.type, resourceName: resource.name, patternType: patternType.uppercased(),
                               principal: principal, host: host, operation: op.uppercased(), permission: permission)
                }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add ACLs: each principal gets each operation on the resource.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var resource: ResourceOptions
        @OptionGroup var entry: EntryOptions

        func validate() throws {
            if resource.resource == nil { throw ValidationError("name the resource: --topic, --group, --transactional-id or --cluster") }
            if entry.allowPrincipals.isEmpty && entry.denyPrincipals.isEmpty { throw ValidationError("name a principal: --allow-principal or --deny-principal") }
            if entry.operation.isEmpty { throw ValidationError("name an operation: --operation") }
        }

        func run() async throws {
            try await runClient {
                let acls = entry.acls(on: resource.resource!, patternType: resource.patternType ?? "LITERAL")
                let admin = Admin(configuration: try client.clientConfiguration())
                try await admin.createAcls(acls)
                await admin.close()
                print("Added \(acls.count) ACL\(acls.count == 1 ? "" : "s").")
                printAcls(acls)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List ACLs, all or those of a resource and/or principal.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var resource: ResourceOptions
        @Option(name: .long, help: "Only the ACLs of this principal (Type:name).") var principal: String?

        func run() async throws {
            try await runClient {
                let named = resource.resource
                let filter = AclBindingFilter(resourceType: named?.type ?? "ANY", resourceName: named?.name,
                                              patternType: resource.patternType ?? "ANY", principal: principal)
                let admin = Admin(configuration: try client.clientConfiguration())
                let acls = try await admin.describeAcls(filter)
                await admin.close()
                printAcls(acls)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove ACLs of a resource: the ones named by principal and operation, or with neither, all of them.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var resource: ResourceOptions
        @OptionGroup var entry: EntryOptions

        func validate() throws {
            if resource.resource == nil { throw ValidationError("name the resource: --topic, --group, --transactional-id or --cluster") }
        }

        func run() async throws {
            try await runClient {
                let named = resource.resource!
                let pattern = resource.patternType ?? "LITERAL"
                let filters: [AclBindingFilter]
                if entry.allowPrincipals.isEmpty && entry.denyPrincipals.isEmpty {
                    filters = (entry.operation.isEmpty ? ["ANY"] : entry.operation).map {
                        AclBindingFilter(resourceType: named.type, resourceName: named.name, patternType: pattern, operation: $0)
                    }
                } else {
                    filters = entry.acls(on: named, patternType: pattern).map {
                        AclBindingFilter(resourceType: $0.resourceType, resourceName: $0.resourceName, patternType: $0.patternType,
                                         principal: $0.principal, host: $0.host, operation: $0.operation, permission: $0.permission)
                    }
                }
                let admin = Admin(configuration: try client.clientConfiguration())
                let removed = try await admin.deleteAcls(filters)
                await admin.close()
                print("Removed \(removed.count) ACL\(removed.count == 1 ? "" : "s").")
                printAcls(removed)
            }
        }
    }
}

/// ACLs as a table, sorted by resource, principal and operation.
private func printAcls(_ acls: [AclBinding]) {
    guard !acls.isEmpty else { return }
    let sorted = acls.sorted {
        ($0.resourceType, $0.resourceName, $0.patternType, $0.principal, $0.operation, $0.permission)
            < ($1.resourceType, $1.resourceName, $1.patternType, $1.principal, $1.operation, $1.permission)
    }
    printTable([["RESOURCE-TYPE", "NAME", "PATTERN", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION"]]
               + sorted.map { [$0.resourceType, $0.resourceName, $0.patternType, $0.principal, $0.host, $0.operation, $0.permission] })
}
