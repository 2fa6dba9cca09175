import GroupCoordinator
import KafkaProtocol

extension Controller {
    /// Lag of a consumer group on every partition it committed: the partition's high watermark
    /// (its last stable offset for `read_committed` consumers, the same value until transactions
    /// exist) minus the committed offset, never negative. A partition that no longer exists has no
    /// end offset and no lag. For the CLI and, later, metrics.
    func consumerGroupLag(_ groups: GroupCoordinator, groupID: String, readCommitted: Bool = false) async -> [PartitionLag] {
        await groups.lag(groupID: groupID) { tp in
            guard let partition = await self.partition(TopicPartition(tp.topic, tp.partition)) else { return nil }
            return readCommitted ? await partition.lastStableOffset : await partition.highWatermark
        }
    }
}
