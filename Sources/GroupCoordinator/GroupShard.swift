import KafkaProtocol
import Logging
import NIOCore

/// The groups whose coordinator partition is one partition of `__consumer_offsets`: the single
/// owner of their state, their held JoinGroup/SyncGroup requests and their committed offsets.
///
/// Every group operation runs the pure ``ClassicGroup`` and then performs the actions it returns in
/// order: persisting the group before the responses that depend on it, resuming held requests.
/// A request whose answer comes later suspends on a continuation keyed by its ``GroupWaiter``.
actor GroupShard {
    enum LoadState: Sendable, Equatable {
        /// The offsets topic does not exist yet, or this broker does not own the partition.
        case notOwned
        case loading
        case loaded
    }

    let partition: Int32
    let store: any OffsetsTopicStore
    let limits: GroupLimits
    let logger: Logger
    let clock: @Sendable () -> GroupTime

    var loadState: LoadState = .notOwned
    var groups: [String: ClassicGroup] = [:]
    /// Committed offsets per group, with the log offset of the record that set each one.
    var offsets: [String: [GroupTopicPartition: StoredOffset]] = [:]

    private var nextWaiter: GroupWaiter = 1
    private var joinContinuations: [GroupWaiter: CheckedContinuation<JoinGroupResult, Never>] = [:]
    private var syncContinuations: [GroupWaiter: CheckedContinuation<SyncGroupResult, Never>] = [:]
    /// Answers produced before their request started waiting.
    private var readyJoins: [GroupWaiter: JoinGroupResult] = [:]
    private var readySyncs: [GroupWaiter: SyncGroupResult] = [:]
    /// Held requests whose task was cancelled (the broker is stopping): a later answer is dropped.
    private var abandoned: Set<GroupWaiter> = []
    /// Set when the broker stops: held and new requests are answered NOT_COORDINATOR at once.
    private var stopped = false
    /// Commits being appended, per group and partition: expiry leaves those offsets alone.
    var commitsInFlight: [String: [GroupTopicPartition: Int]] = [:]

    struct StoredOffset: Sendable {
        /// Nil marks a deletion kept while a commit for the same partition is in flight, so that
        /// commit cannot resurrect an offset the log has already deleted after it.
        var value: CommittedOffset?
        /// The `__consumer_offsets` offset of the record; a later record always wins.
        var recordOffset: Int64
    }

    init(partition: Int32, store: any OffsetsTopicStore, limits: GroupLimits, logger: Logger,
         clock: @escaping @Sendable () -> GroupTime) {
        self.partition = partition
        self.store = store
        self.limits = limits
        self.logger = logger
        self.clock = clock
    }

    /// The error every request gets when this shard cannot serve groups now, nil when it can.
    var unavailableError: ErrorCode? {
        if stopped { return .notCoordinator }
        switch loadState {
        case .loaded: return nil
        case .loading: return .coordinatorLoadInProgress
        case .notOwned: return .notCoordinator
        }
    }

    func makeWaiter() -> GroupWaiter {
        defer { nextWaiter += 1 }
        return nextWaiter
    }

    // MARK: - JoinGroup / SyncGroup / Heartbeat / LeaveGroup

    /// JoinGroup; `request.waiter` is assigned here.
    func join(groupID: String, _ request: JoinGroupInput) async -> JoinGroupResult {
        let waiter = makeWaiter()
        var input = request
        input.waiter = waiter
        // Kafka's validateGroupStatus order: the group id, then the coordinator's state.
        if groupID.isEmpty { return .error(.invalidGroupID, memberID: input.memberID) }
        if let error = unavailableError { return .error(error, memberID: input.memberID) }
        guard input.sessionTimeoutMs >= limits.minSessionTimeoutMs, input.sessionTimeoutMs <= limits.maxSessionTimeoutMs else {
            return .error(.invalidSessionTimeout, memberID: input.memberID)
        }
        let now = clock()
        if groups[groupID] == nil {
            // A member id for a group this coordinator does not know belongs to a group that expired.
            guard input.memberID.isEmpty else { return .error(.unknownMemberID, memberID: input.memberID) }
            groups[groupID] = ClassicGroup(groupID: groupID, limits: limits, now: now)
        }
        let actions = groups[groupID]!.join(input, now: now)
        await perform(actions, groupID: groupID)
        return await joinResult(waiter)
    }

    /// SyncGroup; `request.waiter` is assigned here.
    func sync(groupID: String, _ request: SyncGroupInput) async -> SyncGroupResult {
        let waiter = makeWaiter()
        var input = request
        input.waiter = waiter
        if groupID.isEmpty { return .error(.invalidGroupID) }
        // Kafka answers a SyncGroup during loading with REBALANCE_IN_PROGRESS: older clients have
        // no case for COORDINATOR_LOAD_IN_PROGRESS here, and rejoining is what they must do anyway.
        if !stopped, loadState == .loading { return .error(.rebalanceInProgress) }
        if let error = unavailableError { return .error(error) }
        guard groups[groupID] != nil else { return .error(.unknownMemberID) }
        let actions = groups[groupID]!.sync(input, now: clock())
        await perform(actions, groupID: groupID)
        return await syncResult(waiter)
    }

    /// Heartbeat. While the partition loads Kafka answers NONE ("respond just blindly"): the
    /// member cannot be checked yet, and an error would make clients rejoin for nothing.
    func heartbeat(groupID: String, memberID: String, groupInstanceID: String?, generationID: Int32) -> ErrorCode {
        if groupID.isEmpty { return .invalidGroupID }
        if !stopped, loadState == .loading { return .none }
        if let error = unavailableError { return error }
        guard groups[groupID] != nil else { return .unknownMemberID }
        return groups[groupID]!.heartbeat(memberID: memberID, groupInstanceID: groupInstanceID, generationID: generationID, now: clock())
    }

    /// - Returns: a top-level error (the group cannot be reached) or one error per member.
    func leave(groupID: String, members: [ClassicGroup.LeavingMember]) async -> (topLevel: ErrorCode, perMember: [ErrorCode]) {
        if groupID.isEmpty { return (.invalidGroupID, []) }
        if let error = unavailableError { return (error, []) }
        guard groups[groupID] != nil else { return (.none, Array(repeating: .unknownMemberID, count: members.count)) }
        let (errors, actions) = groups[groupID]!.leave(members, now: clock())
        await perform(actions, groupID: groupID)
        if groups[groupID]?.state == .dead { return (.coordinatorNotAvailable, []) }
        return (.none, errors)
    }

    /// Runs the deadlines of every group that has one due.
    func tick() async {
        guard loadState == .loaded else { return }
        let now = clock()
        let due = groups.filter { ($0.value.nextDeadlineMs ?? .max) <= now.monotonicMs }.map(\.key)
        for groupID in due {
            guard groups[groupID] != nil else { continue }
            let before = groups[groupID]!.members.keys.sorted()
            let actions = groups[groupID]!.tick(now: now)
            if let after = groups[groupID]?.members.keys.sorted(), after != before {
                logger.info("group members timed out", metadata: [
                    "group": "\(groupID)", "removed": "\(Set(before).subtracting(after).sorted())",
                    "state": "\(groups[groupID]!.state)", "generation": "\(groups[groupID]!.generationID)",
                ])
            }
            await perform(actions, groupID: groupID)
        }
    }

    // MARK: - Actions

    /// Performs a group's actions in order. Stores finish before the responses that follow them;
    /// the leader's assignment store reports its outcome back to the group, whose actions answer
    /// the held SyncGroups.
    func perform(_ actions: [GroupAction], groupID: String) async {
        // A failed store turns the successful answers that depended on it into its error; the
        // client retries (e.g. a static member whose replacement could not be stored rejoins).
        var storeError: ErrorCode?
        for action in actions {
            switch action {
            case .completeJoin(let waiter, var result):
                if let storeError, result.errorCode == .none { result = .error(storeError, memberID: result.memberID) }
                deliverJoin(waiter, result)
            case .completeSync(let waiter, var result):
                if let storeError, result.errorCode == .none { result = .error(storeError) }
                deliverSync(waiter, result)
            case .storeGroup:
                guard let group = groups[groupID] else { continue }
                storeError = await storeGroup(groupID, group.metadataValue)
            case .storeAssignment(let generationID):
                guard let group = groups[groupID] else { continue }
                let value = group.metadataValue(assignments: group.pendingAssignments)
                let error = await storeGroup(groupID, value)
                guard groups[groupID] != nil else { continue }
                let follow = groups[groupID]!.completeAssignment(generationID: generationID, error: error, now: clock())
                await perform(follow, groupID: groupID)
            }
        }
    }

    /// Appends a group's metadata record.
    /// - Returns: nil, or the error to answer with (COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR).
    private func storeGroup(_ groupID: String, _ value: GroupMetadataValue) async -> ErrorCode? {
        let record = OffsetsTopicRecord.groupMetadata(group: groupID, value: value)
        do {
            _ = try await store.append(partition: partition, records: [record.encode()], timestampMs: clock().wallMs)
            return nil
        } catch {
            logger.error("storing group metadata failed", metadata: ["group": "\(groupID)", "error": "\(error)"])
            return (error as? OffsetsTopicStoreError)?.errorCode ?? .coordinatorNotAvailable
        }
    }

    private func deliverJoin(_ waiter: GroupWaiter, _ result: JoinGroupResult) {
        if abandoned.remove(waiter) != nil { return }
        if let continuation = joinContinuations.removeValue(forKey: waiter) {
            continuation.resume(returning: result)
        } else {
            readyJoins[waiter] = result
        }
    }

    private func deliverSync(_ waiter: GroupWaiter, _ result: SyncGroupResult) {
        if abandoned.remove(waiter) != nil { return }
        if let continuation = syncContinuations.removeValue(forKey: waiter) {
            continuation.resume(returning: result)
        } else {
            readySyncs[waiter] = result
        }
    }

    /// Waits for the answer to a held JoinGroup. Cancellation (the connection closed, the broker
    /// stops) answers at once; the group's later answer is then dropped.
    private func joinResult(_ waiter: GroupWaiter) async -> JoinGroupResult {
        if let ready = readyJoins.removeValue(forKey: waiter) { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if let ready = readyJoins.removeValue(forKey: waiter) {
                    continuation.resume(returning: ready)
                } else if stopped || Task.isCancelled {
                    abandoned.insert(waiter)
                    continuation.resume(returning: .error(.notCoordinator, memberID: ""))
                } else {
                    joinContinuations[waiter] = continuation
                }
            }
        } onCancel: {
            Task { await self.abandon(waiter) }
        }
    }

    /// Waits for the answer to a held SyncGroup, as ``joinResult(_:)``.
    private func syncResult(_ waiter: GroupWaiter) async -> SyncGroupResult {
        if let ready = readySyncs.removeValue(forKey: waiter) { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if let ready = readySyncs.removeValue(forKey: waiter) {
                    continuation.resume(returning: ready)
                } else if stopped || Task.isCancelled {
                    abandoned.insert(waiter)
                    continuation.resume(returning: .error(.notCoordinator))
                } else {
                    syncContinuations[waiter] = continuation
                }
            }
        } onCancel: {
            Task { await self.abandon(waiter) }
        }
    }

    /// Answers a held request whose task was cancelled.
    private func abandon(_ waiter: GroupWaiter) {
        if let c = joinContinuations.removeValue(forKey: waiter) {
            abandoned.insert(waiter)
            c.resume(returning: .error(.notCoordinator, memberID: ""))
        } else if let c = syncContinuations.removeValue(forKey: waiter) {
            abandoned.insert(waiter)
            c.resume(returning: .error(.notCoordinator))
        }
    }

    /// Stops the shard (the broker is shutting down): every held request is answered `code` now,
    /// and later ones at once, so no connection waits on a group whose timers no longer run.
    func failAllWaiters(_ code: ErrorCode) {
        stopped = true
        for (w, c) in joinContinuations {
            abandoned.insert(w)
            c.resume(returning: .error(code, memberID: ""))
        }
        for (w, c) in syncContinuations {
            abandoned.insert(w)
            c.resume(returning: .error(code))
        }
        joinContinuations = [:]
        syncContinuations = [:]
        readyJoins = [:]
        readySyncs = [:]
    }

    /// Gives up the partition (another broker leads it now, Kafka's `GroupMetadataManager.removeGroupsForPartition`):
    /// its groups and offsets are dropped, held JoinGroup/SyncGroup requests are answered
    /// NOT_COORDINATOR, and later requests get NOT_COORDINATOR until the partition is loaded again.
    func unload() {
        for (w, c) in joinContinuations {
            abandoned.insert(w)
            c.resume(returning: .error(.notCoordinator, memberID: ""))
        }
        for (w, c) in syncContinuations {
            abandoned.insert(w)
            c.resume(returning: .error(.notCoordinator))
        }
        joinContinuations = [:]
        syncContinuations = [:]
        readyJoins = [:]
        readySyncs = [:]
        groups = [:]
        offsets = [:]
        commitsInFlight = [:]
        loadState = .notOwned
    }
}
