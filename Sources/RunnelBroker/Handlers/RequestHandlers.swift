import GroupCoordinator
import KafkaProtocol
import Logging

/// The per-API request handlers, one file each (`RequestHandlers+<Api>.swift`). Handlers turn a
/// decoded request into a response; they never pick storage error codes by hand but use the
/// `errorCode` carried by the error (``StorageError``, ``RecordValidationError``).
struct RequestHandlers: Sendable {
    let controller: Controller
    /// The group coordinator for the groups whose `__consumer_offsets` partitions are here.
    let groups: GroupCoordinator
    let config: BrokerConfig
    /// The listener clients are told about when no other fits (the first advertised one).
    let advertised: Listener
    /// Every advertised client listener; a client is told the endpoints of the listener it came
    /// in on (Kafka answers Metadata and FindCoordinator per listener).
    var advertisedListeners: [Listener] = []
    let nodeID: Int32
    let clusterID: String
    let logger: Logger
    /// Creates `__consumer_offsets` on the first group lookup.
    let offsetsTopic: OffsetsTopicGate
    /// Bounds the log lines one client's rejected requests can cause (shared with the server).
    let logLimiter = LogRateLimiter()
    /// Client quotas in force and each client's measured usage (KIP-13, KIP-55, KIP-124).
    let quotas: ClientQuotaManager
    /// Checks requests against the ACLs; nil when `authorizer.class.name` is empty (every request
    /// allowed, see ``RequestHandlers/authorized(_:_:)``).
    let authorizer: Authorizer?

    init(controller: Controller, groups: GroupCoordinator, config: BrokerConfig, advertised: Listener, nodeID: Int32,
         clusterID: String, logger: Logger, authorizer: Authorizer? = nil) {
        self.controller = controller
        self.groups = groups
        self.config = config
        self.advertised = advertised
        self.nodeID = nodeID
        self.clusterID = clusterID
        self.logger = logger
        self.offsetsTopic = OffsetsTopicGate(controller: controller, groups: groups, config: config, logger: logger)
        self.quotas = ClientQuotaManager(config: config)
        self.authorizer = authorizer
    }
}

extension RequestHandlers {
    func apiVersions(_ request: ApiVersionsRequest) -> ApiVersionsResponse {
        ApiVersionsResponse(errorCode: .none, apiKeys: SupportedApis.apiVersionsEntries)
    }
}

/// The wire error for any failure thrown below a handler.
func errorCode(for error: any Error) -> ErrorCode {
    switch error {
    case let e as any StorageErrorConvertible: return e.kafkaErrorCode
    default: return .unknownServerError
    }
}

/// Errors that know their Kafka error code.
protocol StorageErrorConvertible {
    var kafkaErrorCode: ErrorCode { get }
}
