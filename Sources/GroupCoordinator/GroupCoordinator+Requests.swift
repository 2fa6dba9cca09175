import KafkaProtocol
import NIOCore

extension GroupCoordinator {
    /// JoinGroup (see ``ClassicGroup/join(_:now:)``); suspends until the rebalance completes when
    /// the response is held. Group-level checks: INVALID_GROUP_ID for an empty id,
    /// INVALID_SESSION_TIMEOUT outside [`group.min.session.timeout.ms`, `group.max.session.timeout.ms`],
    /// UNKNOWN_MEMBER_ID for a member id of a group the coordinator does not have.
    public func join(groupID: String, _ request: JoinGroupInput) async -> JoinGroupResult {
        await shard(for: groupID).join(groupID: groupID, request)
    }

    /// SyncGroup (see ``ClassicGroup/sync(_:now:)``); followers suspend until the leader's
    /// assignments arrive.
    public func sync(groupID: String, _ request: SyncGroupInput) async -> SyncGroupResult {
        await shard(for: groupID).sync(groupID: groupID, request)
    }

    /// Heartbeat (see ``ClassicGroup/heartbeat(memberID:groupInstanceID:generationID:now:)``).
    public func heartbeat(groupID: String, memberID: String, groupInstanceID: String?, generationID: Int32) async -> ErrorCode {
        await shard(for: groupID).heartbeat(groupID: groupID, memberID: memberID, groupInstanceID: groupInstanceID,
                                            generationID: generationID)
    }

    /// LeaveGroup for one or more members.
    /// - Returns: a top-level error, or NONE with one error per member in request order.
    public func leave(groupID: String, members: [ClassicGroup.LeavingMember]) async -> (topLevel: ErrorCode, perMember: [ErrorCode]) {
        await shard(for: groupID).leave(groupID: groupID, members: members)
    }

    /// OffsetCommit; acknowledged once the records are appended to `__consumer_offsets`.
    /// - Returns: one error per offset, in order.
    public func commitOffsets(groupID: String, memberID: String, groupInstanceID: String?, generationID: Int32,
                              offsets: [OffsetCommitInput]) async -> [ErrorCode] {
        await shard(for: groupID).commit(groupID: groupID, memberID: memberID, groupInstanceID: groupInstanceID,
                                         generationID: generationID, offsets: offsets)
    }

    /// OffsetFetch for one group: `partitions` nil = every committed partition.
    /// - Returns: committed offsets (nil = none committed), or the group-level error.
    public func fetchOffsets(groupID: String, partitions: [GroupTopicPartition]?) async
        -> Result<[(GroupTopicPartition, CommittedOffset?)], GroupCoordinatorError> {
        await shard(for: groupID).fetchOffsets(groupID: groupID, partitions: partitions)
    }

    /// OffsetDelete.
    public func deleteOffsets(groupID: String, partitions: [GroupTopicPartition]) async -> (ErrorCode, [ErrorCode]) {
        await shard(for: groupID).deleteOffsets(groupID: groupID, partitions: partitions)
    }

    /// DeleteGroups for one group.
    public func deleteGroup(groupID: String) async -> ErrorCode {
        await shard(for: groupID).deleteGroup(groupID: groupID)
    }

    /// DescribeGroups for one group: nil when the coordinator does not have it (reported as Dead).
    public func describe(groupID: String) async -> Result<GroupDescription?, GroupCoordinatorError> {
        await shard(for: groupID).describe(groupID: groupID)
    }

    /// ListGroups: every group on this coordinator, or the first error of a shard still loading.
    public func listGroups() async -> Result<[GroupListing], GroupCoordinatorError> {
        var all: [GroupListing] = []
        for shard in shards {
            switch await shard.listGroups() {
            case .success(let groups): all += groups
            case .failure(let error) where error.code == .notCoordinator: continue
            case .failure(let error): return .failure(error)
            }
        }
        return .success(all.sorted { $0.groupID < $1.groupID })
    }

    /// Lag per partition of a group: `endOffset(tp)` (the high watermark, or the last stable offset
    /// for read_committed consumers) minus the committed offset. Partitions whose end offset is
    /// unknown (topic deleted) get nil lag.
    public func lag(groupID: String, endOffset: @Sendable (GroupTopicPartition) async -> Int64?) async -> [PartitionLag] {
        let committed = await shard(for: groupID).committedOffsets(groupID: groupID)
        var out: [PartitionLag] = []
        for (tp, value) in committed.sorted(by: { $0.key < $1.key }) {
            let end = await endOffset(tp)
            out.append(PartitionLag(topicPartition: tp, committedOffset: value.offset, endOffset: end,
                                    lag: end.map { max(0, $0 - value.offset) }))
        }
        return out
    }
}

/// A group's lag on one partition.
public struct PartitionLag: Sendable, Equatable {
    public var topicPartition: GroupTopicPartition
    public var committedOffset: Int64
    /// The high watermark (or last stable offset), nil if the partition no longer exists.
    public var endOffset: Int64?
    /// `endOffset - committedOffset`, never negative; nil if the end is unknown.
    public var lag: Int64?
}
