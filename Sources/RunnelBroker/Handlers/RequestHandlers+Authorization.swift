import KafkaProtocol

/// The checks handlers make before acting, as Kafka's `AuthHelper` does for `KafkaApis`. Each asks
/// the ``Authorizer`` about the principal of the request being handled (``RequestSession/current``);
/// with no authorizer configured (`authorizer.class.name` empty) every check is a nil test and
/// allows.
extension RequestHandlers {
    /// Whether the request's principal may perform `operation` on `resource`.
    func authorized(_ operation: AclOperation, _ resource: AclResource) -> Bool {
        guard let authorizer else { return true }
        return authorizer.authorize(RequestSession.current, operation, resource)
    }

    /// Whether the request's principal may perform `operation` on the topic `name`.
    func authorized(_ operation: AclOperation, topic name: String) -> Bool { authorized(operation, .topic(name)) }

    /// Whether the request's principal may perform `operation` on the group `name`.
    func authorized(_ operation: AclOperation, group name: String) -> Bool { authorized(operation, .group(name)) }

    /// The one-line check of an API that needs an operation on the cluster (ACL APIs, SCRAM
    /// credential APIs, ElectLeaders, client quotas...).
    /// - Returns: nil when allowed, else CLUSTER_AUTHORIZATION_FAILED for the response.
    func clusterAuthorizationError(_ operation: AclOperation) -> ErrorCode? {
        authorized(operation, .cluster) ? nil : .clusterAuthorizationFailed
    }

    /// The topics of `names` the principal may perform `operation` on (each name checked once).
    func authorizedTopics(_ operation: AclOperation, _ names: some Sequence<String>) -> Set<String> {
        guard authorizer != nil else { return Set(names) }
        return Set(names.filter { authorized(operation, topic: $0) })
    }

    /// The error for a topic named in a request the principal may not perform `operation` on:
    /// TOPIC_AUTHORIZATION_FAILED whether or not the topic exists, so the answer reveals nothing
    /// (Kafka's handlers check authorization before existence for topics named by the client).
    func topicAuthorizationError(_ operation: AclOperation, topic name: String) -> ErrorCode? {
        authorized(operation, topic: name) ? nil : .topicAuthorizationFailed
    }

    /// Likewise for a group: GROUP_AUTHORIZATION_FAILED.
    func groupAuthorizationError(_ operation: AclOperation, group name: String) -> ErrorCode? {
        authorized(operation, group: name) ? nil : .groupAuthorizationFailed
    }

    /// The refusal for a config resource (DescribeConfigs, AlterConfigs): DESCRIBE_CONFIGS or
    /// ALTER_CONFIGS on the topic (type 2, TOPIC_AUTHORIZATION_FAILED) or on the cluster for a broker
    /// or broker logger (types 4 and 8, CLUSTER_AUTHORIZATION_FAILED); nil when allowed or another type.
    func configAuthorizationError(_ operation: AclOperation, type: Int8, name: String) -> ErrorCode? {
        switch type {
        case 2: topicAuthorizationError(operation, topic: name)
        case 4, 8: clusterAuthorizationError(operation)
        default: nil
        }
    }

    /// Answers the items of a request the principal may not act on with their refusal and hands the
    /// others, in order, to `allowed` (which forwards or handles them), then merges both answers in
    /// request order. Items refused here never reach the active controller, which sees forwarded
    /// requests under the forwarding broker's principal.
    /// - Parameters:
    ///   - refusal: the error for an item, or nil when it is allowed.
    ///   - refused: the result for a refused item.
    ///   - allowed: one result per item it is given, in order.
    func authorizingEach<Item, Result>(_ items: [Item], _ refusal: (Item) -> ErrorCode?, refused: (Item, ErrorCode) -> Result,
                                       allowed: ([Item]) async -> [Result]) async -> [Result] {
        guard authorizer != nil else { return await allowed(items) }
        let codes = items.map(refusal)
        if codes.allSatisfy({ $0 == nil }) { return await allowed(items) }
        let passing = zip(items, codes).filter { $0.1 == nil }.map(\.0)
        var answers = (passing.isEmpty ? [] : await allowed(passing)).makeIterator()
        return zip(items, codes).compactMap { item, code in
            if let code { return refused(item, code) }
            return answers.next()
        }
    }

    /// The operations `authorizedOperations` reports per resource type (Kafka's supported
    /// operations of each resource type).
    static let supportedOperations: [AclResourceType: [AclOperation]] = [
        .cluster: [.create, .clusterAction, .describeConfigs, .alterConfigs, .idempotentWrite, .alter, .describe],
        .topic: [.read, .write, .create, .describe, .delete, .alter, .describeConfigs, .alterConfigs],
        .group: [.read, .describe, .delete],
    ]

    /// The KIP-430 bitfield (bit n set for operation code n) of the operations the principal may
    /// perform on `resource`; every supported operation when there is no authorizer.
    func authorizedOperations(_ resource: AclResource) -> Int32 {
        let supported = Self.supportedOperations[resource.type] ?? []
        return supported.filter { authorized($0, resource) }.reduce(Int32(0)) { $0 | (Int32(1) << Int32($1.rawValue)) }
    }

    /// InitProducerId without a transactional id (KIP-679): IDEMPOTENT_WRITE on the cluster, or
    /// WRITE on some topic.
    func authorizedForIdempotentWrite() -> Bool {
        guard let authorizer else { return true }
        let session = RequestSession.current
        return authorizer.authorize(session, .idempotentWrite, .cluster) || authorizer.authorizeAny(session, .write, .topic)
    }
}
