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
        for (_, tp, _) in accepted { commitsInFlight[groupID, default: [:]][tp, default: 0] += 1 }
        defer {
            for (_, tp, _) in accepted {
                commitsInFlight[groupID]?[tp]? -= 1
                if commitsInFlight[groupID]?[tp] == 0 { commitsInFlight[groupID]?[tp] = nil }
                if commitsInFlight[groupID]?.isEmpty == true { commitsInFlight[groupID] = nil }
                // A deletion marker is only needed while a commit for its partition is in flight.
                if commitsInFlight[groupID]?[tp] == nil, let stored = offsets[groupID]?[tp], stored.value == nil {
                    offsets[groupID]?[tp] = nil
                    if offsets[groupID]?.isEmpty == true { offsets[groupID] = nil }
                }
            }
        }
        do {
            let base = try await store.append(partition: partition, records: records, timestampMs: now.wallMs)
            for (n, (_, tp, value)) in accepted.enumerated() {
                apply(groupID: groupID, tp, value, recordOffset: base + Int64(n))
            }
            // The group may have been deleted or expired while this commit was written: its offsets
            // belong to a group again, as after a load (so they show in ListGroups and expire).
            if groups[groupID] == nil, !liveOffsets(groupID).isEmpty {
                groups[groupID] = ClassicGroup(groupID: groupID, limits: limits, now: clock())
            }
        } catch {
            let code = (error as? OffsetsTopicStoreError)?.errorCode ?? .coordinatorNotAvailable
            logger.error("storing committed offsets failed", metadata: ["group": "\(groupID)", "error": "\(error)"])
            for (i, _, _) in accepted { errors[i] = code }
        }
        return errors
    }

    /// Records a committed offset (nil = deleted) unless a later record already set it: appends
    /// of concurrent commits and tombstones may finish out of order, and the log order wins.
    func apply(groupID: String, _ tp: GroupTopicPartition, _ value: CommittedOffset?, recordOffset: Int64) {
        if let existing = offsets[groupID]?[tp], existing.recordOffset > recordOffset { return }
        if value != nil || commitsInFlight[groupID]?[tp] != nil {
            offsets[groupID, default: [:]][tp] = StoredOffset(value: value, recordOffset: recordOffset)
        } else {
            offsets[groupID]?[tp] = nil
            if offsets[groupID]?.isEmpty == true { offsets[groupID] = nil }
        }
    }

    /// The committed offsets of a group (deletion markers left out).
    func liveOffsets(_ groupID: String) -> [GroupTopicPartition: CommittedOffset] {
        (offsets[groupID] ?? [:]).compactMapValues(\.value)
    }

    /// Committed offsets of a group (OffsetFetch). `partitions` nil = every committed partition;
    /// a partition with no commit gets nil (the caller answers offset -1, metadata "").
    func fetchOffsets(groupID: String, partitions: [GroupTopicPartition]?) -> Result<[(GroupTopicPartition, CommittedOffset?)], GroupCoordinatorError> {
        if let error = unavailableError { return .failure(GroupCoordinatorError(error)) }
        let committed = liveOffsets(groupID)
        if let partitions {
            return .success(partitions.map { ($0, committed[$0]) })
        }
        return .success(committed.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
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
                if offsets[groupID]?[tp]?.value != nil { tombstones.append(tp) }
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

    /// Deletes an Empty group with its offsets (DeleteGroups): NON_EMPTY_GROUP while members
    /// remain, GROUP_ID_NOT_FOUND for a group this coordinator does not have. As in Kafka's
    /// `handleDeleteGroups`, the group is removed before its tombstones are written, so a JoinGroup
    /// arriving meanwhile starts a new group instead of joining one about to vanish.
    func deleteGroup(groupID: String) async -> ErrorCode {
        if let error = unavailableError { return error }
        guard var group = groups[groupID], group.state != .dead else { return .groupIDNotFound }
        guard group.state == .empty else { return .nonEmptyGroup }
        // Partitions with a commit in flight get a tombstone too: whichever record lands last in
        // the log decides, in memory as after a restart.
        let partitions = Set(liveOffsets(groupID).keys).union((commitsInFlight[groupID] ?? [:]).keys).sorted()
        let before = group
        group.markDead(now: clock())
        groups[groupID] = nil
        let code = await writeOffsetTombstones(groupID: groupID, partitions, andGroup: true)
        if code != .none, groups[groupID] == nil {
            groups[groupID] = before  // nothing was deleted
        }
        return code
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
        // Timestamps come from records anyone could have written: compare against a cutoff rather
        // than add the retention to them, which could overflow.
        let cutoff = now.wallMs - retentionMs
        for groupID in groups.keys.sorted() {
            guard let group = groups[groupID] else { continue }
            // Offsets with a commit in flight are not expired (Kafka skips pending commits).
            let inFlight = commitsInFlight[groupID] ?? [:]
            let committed = liveOffsets(groupID).filter { inFlight[$0.key] == nil }
            var expired: [GroupTopicPartition] = []
            if group.protocolType == nil, group.state == .empty {
                expired = committed.filter { $0.value.commitTimestampMs <= cutoff }.map(\.key)
            } else if group.state == .empty {
                if group.stateChangedWallMs <= cutoff { expired = Array(committed.keys) }
            } else if group.state == .stable, group.protocolType == "consumer", let subscribed = group.subscribedTopics {
                expired = committed.filter {
                    !subscribed.contains($0.key.topic) && $0.value.commitTimestampMs <= cutoff
                }.map(\.key)
            }
            let removeGroup = group.state == .empty && inFlight.isEmpty && expired.count == committed.count
            guard !expired.isEmpty || removeGroup else { continue }
            let code = await writeOffsetTombstones(groupID: groupID, expired.sorted(), andGroup: removeGroup)
            guard code == .none else { continue }
            if !expired.isEmpty {
                logger.info("expired committed offsets", metadata: ["group": "\(groupID)", "partitions": "\(expired.count)"])
            }
            if removeGroup, groups[groupID]?.state == .empty, liveOffsets(groupID).isEmpty, commitsInFlight[groupID] == nil {
                groups[groupID]?.markDead(now: now)
                groups[groupID] = nil
            }
        }
    }
}
