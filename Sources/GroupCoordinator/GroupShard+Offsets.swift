import KafkaProtocol
import Logging
import NIOCore

/// One partition's offset in an OffsetCommit.
public struct OffsetCommitInput: Sendable {
    public var topicPartition: GroupTopicPartition
    public var offset: Int64
    /// -1 when the client does not know it (OffsetCommit < v6).
    public var leaderEpoch: Int32
    /// Nil is stored as "".
    public var metadata: String?

    public init(topicPartition: GroupTopicPartition, offset: Int64, leaderEpoch: Int32, metadata: String?) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
    }
}

extension GroupShard {
    /// Commits offsets for a group (Kafka's `commitOffset` for classic groups). The offsets are
    /// acknowledged only after their records are in `__consumer_offsets`.
    /// - Returns: one error per input, in order.
    func commit(groupID: String, memberID: String, groupInstanceID: String?, generationID: Int32,
                offsets commits: [OffsetCommitInput]) async -> [ErrorCode] {
        func all(_ code: ErrorCode) -> [ErrorCode] { Array(repeating: code, count: commits.count) }
        // An empty group id is allowed for commits, as in Kafka (old clients commit that way).
        if let error = unavailableError { return all(error) }
        let now = clock()
        if groups[groupID] == nil {
            // Kafka creates the group for a commit outside group management (generation < 0); a
            // generation from a group this coordinator does not have is stale.
            guard generationID < 0 else { return all(.illegalGeneration) }
            groups[groupID] = ClassicGroup(groupID: groupID, limits: limits, now: now)
        }
        let groupError = groups[groupID]!.validateCommit(memberID: memberID, groupInstanceID: groupInstanceID,
                                                          generationID: generationID, now: now)
        guard groupError == .none else { return all(groupError) }

        var errors = all(.none)
        var records: [(key: ByteBuffer, value: ByteBuffer?)] = []
        var accepted: [(index: Int, GroupTopicPartition, CommittedOffset)] = []
        for (i, c) in commits.enumerated() {
            let metadata = c.metadata ?? ""
            if metadata.utf16.count > limits.maxOffsetMetadataBytes {
                errors[i] = .offsetMetadataTooLarge
                continue
            }
            let value = CommittedOffset(offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: metadata, commitTimestampMs: now.wallMs)
            records.append(OffsetsTopicRecord.offsetCommit(group: groupID, topic: c.topicPartition.topic,
                                                           partition: c.topicPartition.partition, value: value).encode())
            accepted.append((i, c.topicPartition, value))
        }
        guard !records.isEmpty else { return errors }
        do {
            let base = try await store.append(partition: partition, records: records, timestampMs: now.wallMs)
            for (n, (_, tp, value)) in accepted.enumerated() {
                apply(groupID: groupID, tp, value, recordOffset: base + Int64(n))
            }
        } catch {
            let code = (error as? OffsetsTopicStoreError)?.errorCode ?? .coordinatorNotAvailable
            logger.error("storing committed offsets failed", metadata: ["group": "\(groupID)", "error": "\(error)"])
            for (i, _, _) in accepted { errors[i] = code }
        }
        return errors
    }

    /// Records a committed offset unless a later record already set it (appends from concurrent
    /// commits may finish out of order).
    func apply(groupID: String, _ tp: GroupTopicPartition, _ value: CommittedOffset?, recordOffset: Int64) {
        if let existing = offsets[groupID]?[tp], existing.recordOffset > recordOffset { return }
        if let value {
            offsets[groupID, default: [:]][tp] = StoredOffset(value: value, recordOffset: recordOffset)
        } else {
            offsets[groupID]?[tp] = nil
            if offsets[groupID]?.isEmpty == true { offsets[groupID] = nil }
        }
    }

    /// Committed offsets of a group (OffsetFetch). `partitions` nil = every committed partition;
    /// a partition with no commit gets nil (the caller answers offset -1, metadata "").
    func fetchOffsets(groupID: String, partitions: [GroupTopicPartition]?) -> Result<[(GroupTopicPartition, CommittedOffset?)], GroupCoordinatorError> {
        if let error = unavailableError { return .failure(GroupCoordinatorError(error)) }
        let committed = offsets[groupID] ?? [:]
        if let partitions {
            return .success(partitions.map { ($0, committed[$0]?.value) })
        }
        return .success(committed.sorted { $0.key < $1.key }.map { ($0.key, $0.value.value) })
    }

    /// Deletes offsets of an Empty group, or of topics its members do not subscribe to (OffsetDelete).
    /// - Returns: a group-level error, or one error per partition.
    func deleteOffsets(groupID: String, partitions: [GroupTopicPartition]) async -> (ErrorCode, [ErrorCode]) {
        if groupID.isEmpty { return (.invalidGroupID, []) }
        if let error = unavailableError { return (error, []) }
        guard let group = groups[groupID], group.state != .dead else { return (.groupIDNotFound, []) }
        if group.state != .empty && group.protocolType != "consumer" && group.protocolType != nil {
            return (.nonEmptyGroup, [])
        }
        // A consumer group whose subscriptions cannot be read counts as subscribed to everything.
        let subscribed: Set<String>? = group.state == .empty ? [] : group.subscribedTopics
        var errors: [ErrorCode] = []
        var tombstones: [GroupTopicPartition] = []
        for tp in partitions {
            if subscribed.map({ $0.contains(tp.topic) }) ?? true {
                errors.append(.groupSubscribedToTopic)
            } else {
                errors.append(.none)
                if offsets[groupID]?[tp] != nil { tombstones.append(tp) }
            }
        }
        if !tombstones.isEmpty {
            let code = await writeOffsetTombstones(groupID: groupID, tombstones)
            if code != .none { return (code, []) }
        }
        return (.none, errors)
    }

    /// Writes tombstones for some of a group's offsets and forgets them.
    /// - Returns: NONE, or the error the append failed with.
    func writeOffsetTombstones(groupID: String, _ partitions: [GroupTopicPartition], andGroup: Bool = false) async -> ErrorCode {
        var records = partitions.map {
            OffsetsTopicRecord.offsetCommit(group: groupID, topic: $0.topic, partition: $0.partition, value: nil).encode()
        }
        if andGroup { records.append(OffsetsTopicRecord.groupMetadata(group: groupID, value: nil).encode()) }
        guard !records.isEmpty else { return .none }
        do {
            let base = try await store.append(partition: partition, records: records, timestampMs: clock().wallMs)
            for (n, tp) in partitions.enumerated() { apply(groupID: groupID, tp, nil, recordOffset: base + Int64(n)) }
            return .none
        } catch {
            logger.error("writing offset tombstones failed", metadata: ["group": "\(groupID)", "error": "\(error)"])
            return (error as? OffsetsTopicStoreError)?.errorCode ?? .coordinatorNotAvailable
        }
    }

    /// Deletes Empty groups with their offsets (DeleteGroups): NON_EMPTY_GROUP while members
    /// remain, GROUP_ID_NOT_FOUND for groups this coordinator does not have.
    func deleteGroup(groupID: String) async -> ErrorCode {
        if let error = unavailableError { return error }
        guard let group = groups[groupID], group.state != .dead else { return .groupIDNotFound }
        guard group.state == .empty else { return .nonEmptyGroup }
        let partitions = Array((offsets[groupID] ?? [:]).keys)
        let code = await writeOffsetTombstones(groupID: groupID, partitions, andGroup: true)
        guard code == .none else { return code }
        groups[groupID]?.markDead(now: clock())
        groups[groupID] = nil
        offsets[groupID] = nil
        return .none
    }

    /// Expires committed offsets (Kafka's `GroupMetadata.removeExpiredOffsets`, KIP-211 and
    /// KIP-496) and removes groups left with nothing:
    /// - an Empty group with a protocol: all offsets, `retentionMs` after it became Empty;
    /// - a group that never used group management: each offset `retentionMs` after its commit;
    /// - a Stable consumer group: offsets of topics no member subscribes to, `retentionMs` after
    ///   their commit;
    /// - an Empty group without offsets is deleted at every run.
    func expireOffsets(retentionMs: Int64) async {
        guard loadState == .loaded else { return }
        let now = clock()
        for groupID in groups.keys.sorted() {
            guard let group = groups[groupID] else { continue }
            let committed = offsets[groupID] ?? [:]
            var expired: [GroupTopicPartition] = []
            if group.protocolType == nil, group.state == .empty {
                expired = committed.filter { $0.value.value.commitTimestampMs + retentionMs <= now.wallMs }.map(\.key)
            } else if group.state == .empty {
                if group.stateChangedWallMs + retentionMs <= now.wallMs { expired = Array(committed.keys) }
            } else if group.state == .stable, group.protocolType == "consumer", let subscribed = group.subscribedTopics {
                expired = committed.filter {
                    !subscribed.contains($0.key.topic) && $0.value.value.commitTimestampMs + retentionMs <= now.wallMs
                }.map(\.key)
            }
            let removeGroup = group.state == .empty && expired.count == committed.count
            guard !expired.isEmpty || removeGroup else { continue }
            let code = await writeOffsetTombstones(groupID: groupID, expired.sorted(), andGroup: removeGroup)
            guard code == .none else { continue }
            if !expired.isEmpty {
                logger.info("expired committed offsets", metadata: ["group": "\(groupID)", "partitions": "\(expired.count)"])
            }
            if removeGroup, groups[groupID]?.state == .empty, (offsets[groupID] ?? [:]).isEmpty {
                groups[groupID]?.markDead(now: now)
                groups[groupID] = nil
            }
        }
    }
}
