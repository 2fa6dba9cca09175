import GroupCoordinator
import KafkaProtocol
import Logging

/// Creates `__consumer_offsets` once, on the first FindCoordinator for a group, and makes every
/// concurrent lookup wait until the coordinator serves the new partitions: a client told "this
/// broker is your coordinator" must not then get NOT_COORDINATOR (librdkafka's admin calls treat it
/// as final).
actor OffsetsTopicGate {
    private let controller: Controller
    private let groups: GroupCoordinator
    private let config: BrokerConfig
    private let logger: Logger
    /// The creation under way or finished; cleared when it failed, so a later lookup retries.
    private var creation: Task<(ErrorCode, String)?, Never>?

    init(controller: Controller, groups: GroupCoordinator, config: BrokerConfig, logger: Logger) {
        self.controller = controller
        self.groups = groups
        self.config = config
        self.logger = logger
    }

    /// Makes sure the topic exists and its partitions are served.
    /// - Returns: nil when ready, else the error and message FindCoordinator answers with.
    func ensure() async -> (ErrorCode, String)? {
        if let creation { return await creation.value }
        // Stored before the first suspension, so concurrent callers find it and wait on it.
        let task = Task { await self.createIfNeeded() }
        creation = task
        let result = await task.value
        if result != nil { creation = nil }
        return result
    }

    private func createIfNeeded() async -> (ErrorCode, String)? {
        // Present at start-up: the broker's load of it decides when its groups are served.
        if await controller.image.topics[TopicName.consumerOffsets] != nil { return nil }
        let replicationFactor = config.int("offsets.topic.replication.factor")
        if controller.cluster != nil, await !controller.isActiveController {
            return await createThroughController(replicationFactor: Int16(replicationFactor))
        }
        let result = await controller.createTopic(
            name: TopicName.consumerOffsets, numPartitions: groups.partitionCount, replicationFactor: Int16(replicationFactor),
            configs: [("cleanup.policy", "compact"), ("segment.bytes", String(config.int("offsets.topic.segment.bytes")))],
            validateOnly: false, allowInternal: true)
        guard result.errorCode == .none else {
            logger.error("creating __consumer_offsets failed", metadata: ["error": "\(result.errorCode)", "message": "\(result.errorMessage ?? "")"])
            let hint = result.errorCode == .invalidReplicationFactor
                ? " (offsets.topic.replication.factor is \(replicationFactor); lower it or start more brokers)" : ""
            return (.coordinatorNotAvailable, "The coordinator is not available: \(result.errorMessage ?? "\(result.errorCode)")\(hint)")
        }
        // In a cluster each broker's shards start serving as its partitions of the topic open
        // (Controller.publish); a standalone node serves them all now.
        if controller.cluster == nil { await groups.activateNewTopic() }
        return nil
    }

    /// Asks the active controller to create the topic (as this broker, which may create internal
    /// topics) and waits until it is in this broker's image.
    private func createThroughController(replicationFactor: Int16) async -> (ErrorCode, String)? {
        guard let channel = controller.controllerChannel else { return (.coordinatorNotAvailable, "No active controller is known.") }
        let request = CreateTopicsRequest(topics: [.init(
            name: TopicName.consumerOffsets, numPartitions: groups.partitionCount, replicationFactor: replicationFactor,
            configs: [.init(name: "cleanup.policy", value: "compact"),
                      .init(name: "segment.bytes", value: String(config.int("offsets.topic.segment.bytes")))])], timeoutMs: 10_000)
        do {
            let response = try await channel.send(request, version: 5)
            let code = response.topics.first?.errorCode ?? .unknownServerError
            guard code == .none || code == .topicAlreadyExists else {
                return (.coordinatorNotAvailable, "The coordinator is not available: creating \(TopicName.consumerOffsets) failed with \(code).")
            }
        } catch {
            return (.coordinatorNotAvailable, "The coordinator is not available: \(error)")
        }
        await controller.waitForTopic(TopicName.consumerOffsets, timeout: .seconds(5))
        return nil
    }
}
