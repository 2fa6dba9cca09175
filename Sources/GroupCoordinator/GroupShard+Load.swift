import KafkaProtocol
import Logging
import NIOCore

extension GroupShard {
    /// What loading one partition found.
    struct LoadSummary: Sendable {
        var records = 0
        var bytesRead = 0
    }

    /// Rebuilds the groups and committed offsets of this partition from `__consumer_offsets`
    /// (Kafka's `GroupMetadataManager.loadGroupsAndOffsets`): records are applied in log order, a
    /// later record for the same key replaces an earlier one and a tombstone deletes it. Requests
    /// for these groups get COORDINATOR_LOAD_IN_PROGRESS until it finishes.
    /// - Throws: the store's error; the shard stays loading (COORDINATOR_LOAD_IN_PROGRESS, which
    ///   clients retry) and the caller tries again.
    @discardableResult
    func load(maxBytesPerRead: Int = 4 << 20) async throws -> LoadSummary {
        // Already served (the topic was created after start-up): there is nothing to read, and
        // reading would drop the groups being served.
        if loadState == .loaded { return LoadSummary() }
        loadState = .loading
        groups = [:]
        offsets = [:]
        var summary = LoadSummary()
        var groupValues: [String: GroupMetadataValue?] = [:]
        var position: Int64 = 0
        do {
            while true {
                let chunk = try await store.read(partition: partition, from: position, maxBytes: maxBytesPerRead)
                for record in chunk.records {
                    guard let key = record.key else { continue }
                    summary.records += 1
                    summary.bytesRead += key.readableBytes + (record.value?.readableBytes ?? 0)
                    let decoded: OffsetsTopicRecord?
                    do {
                        decoded = try OffsetsTopicRecord.decode(key: key, value: record.value)
                    } catch {
                        logger.warning("skipping an unreadable __consumer_offsets record",
                                       metadata: ["partition": "\(partition)", "offset": "\(record.offset)", "error": "\(error)"])
                        continue
                    }
                    switch decoded {
                    case .offsetCommit(let group, let topic, let p, let value)?:
                        apply(groupID: group, GroupTopicPartition(topic, p), value, recordOffset: record.offset)
                    case .groupMetadata(let group, let value)?:
                        groupValues[group] = .some(value)
                    case nil:
                        continue
                    }
                }
                let progressed = chunk.nextOffset > position
                position = chunk.nextOffset
                if position >= chunk.logEndOffset || !progressed { break }
            }
        } catch {
            groups = [:]
            offsets = [:]
            throw error
        }
        let now = clock()
        for (groupID, value) in groupValues {
            guard let value else { continue }
            groups[groupID] = ClassicGroup(groupID: groupID, restoring: value, limits: limits, now: now)
        }
        // Offsets without group metadata belong to groups that only commit (manual assignment).
        for groupID in offsets.keys where groups[groupID] == nil {
            groups[groupID] = ClassicGroup(groupID: groupID, limits: limits, now: now)
        }
        loadState = .loaded
        return summary
    }

    func beginLoading() {
        if loadState == .notOwned { loadState = .loading }
    }

    /// Starts serving a partition that was just created (nothing to load).
    func activateEmpty() {
        if loadState == .notOwned { loadState = .loaded }
    }

    // MARK: - Describe and list

    func describe(groupID: String) -> Result<GroupDescription?, GroupCoordinatorError> {
        if let error = unavailableError { return .failure(GroupCoordinatorError(error)) }
        guard let group = groups[groupID] else { return .success(nil) }
        return .success(GroupDescription(group))
    }

    func listGroups() -> Result<[GroupListing], GroupCoordinatorError> {
        if let error = unavailableError { return .failure(GroupCoordinatorError(error)) }
        return .success(groups.values.filter { $0.state != .dead }.map {
            GroupListing(groupID: $0.groupID, protocolType: $0.protocolType ?? "", state: $0.state)
        })
    }

    func committedOffsets(groupID: String) -> [GroupTopicPartition: CommittedOffset] {
        liveOffsets(groupID)
    }
}

/// A group as DescribeGroups reports it.
public struct GroupDescription: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var memberID: String
        public var groupInstanceID: String?
        public var clientID: String
        public var clientHost: String
        /// The member's metadata for the chosen protocol; empty unless the group is Stable.
        public var metadata: ByteBuffer
        /// Empty unless the group is Stable.
        public var assignment: ByteBuffer
    }

    public var groupID: String
    public var state: GroupState
    public var protocolType: String
    /// The chosen protocol when Stable, else "" (Kafka's `GroupMetadata.summary`).
    public var protocolName: String
    public var generationID: Int32
    public var members: [Member]

    init(_ group: ClassicGroup) {
        let stable = group.state == .stable
        groupID = group.groupID
        state = group.state
        protocolType = group.protocolType ?? ""
        protocolName = stable ? group.protocolName ?? "" : ""
        generationID = group.generationID
        members = group.orderedMembers.map {
            Member(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, clientID: $0.clientID, clientHost: $0.clientHost,
                   metadata: stable ? $0.metadata(for: group.protocolName) : ByteBuffer(),
                   assignment: stable ? $0.assignment : ByteBuffer())
        }
    }
}

/// A group as ListGroups reports it.
public struct GroupListing: Sendable, Equatable {
    public var groupID: String
    public var protocolType: String
    public var state: GroupState
}
