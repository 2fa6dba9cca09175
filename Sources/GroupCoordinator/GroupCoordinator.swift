import Foundation
import KafkaProtocol
import Logging
import NIOCore

/// The group coordinator of one broker: routes each group to the shard of its
/// `__consumer_offsets` partition and runs their timers.
///
/// A group belongs to partition `abs(javaStringHash(groupID)) % partitionCount` (Kafka's
/// `GroupMetadataManager.partitionFor`), so any Kafka-compatible tool computes the same owner.
/// Shards start not owned (NOT_COORDINATOR); ``load(partitions:)`` reads them back at start-up and
/// ``activateNewTopic()`` starts an offsets topic that was just created.
public final class GroupCoordinator: Sendable {
    /// The number of `__consumer_offsets` partitions.
    public let partitionCount: Int32
    let shards: [GroupShard]
    let logger: Logger
    let clock: @Sendable () -> GroupTime

    /// - Parameters:
    ///   - partitionCount: partitions of `__consumer_offsets` (`offsets.topic.num.partitions`, or
    ///     the existing topic's count).
    ///   - clock: the time source; nil = ``systemClock()``; tests pass a manual one.
    public init(partitionCount: Int32, store: any OffsetsTopicStore, limits: GroupLimits, logger: Logger,
                clock: (@Sendable () -> GroupTime)? = nil) {
        precondition(partitionCount > 0, "__consumer_offsets needs at least one partition")
        let clock = clock ?? Self.systemClock()
        self.partitionCount = partitionCount
        self.logger = logger
        self.clock = clock
        shards = (0..<partitionCount).map {
            GroupShard(partition: $0, store: store, limits: limits, logger: logger, clock: clock)
        }
    }

    /// A clock reading monotonic time from `ContinuousClock` (milliseconds since the clock was
    /// made) and wall time from the system clock.
    public static func systemClock() -> @Sendable () -> GroupTime {
        let start = ContinuousClock.now
        return {
            let elapsed = ContinuousClock.now - start
            let ms = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            return GroupTime(monotonicMs: ms, wallMs: Int64(Date().timeIntervalSince1970 * 1000))
        }
    }

    /// Java's `String.hashCode` over UTF-16 code units, as Kafka uses to place groups.
    public static func javaStringHash(_ s: String) -> Int32 {
        var h: Int32 = 0
        for unit in s.utf16 { h = h &* 31 &+ Int32(unit) }
        return h
    }

    /// The `__consumer_offsets` partition that owns `groupID`.
    public func partition(for groupID: String) -> Int32 {
        let hash = Self.javaStringHash(groupID)
        let positive = hash == Int32.min ? 0 : abs(hash)
        return positive % partitionCount
    }

    func shard(for groupID: String) -> GroupShard { shards[Int(partition(for: groupID))] }

    /// Loads the given partitions (all of them on a single broker) one after another and logs the
    /// records read and the time taken. A partition that fails to load keeps answering
    /// COORDINATOR_LOAD_IN_PROGRESS and is tried again, with a growing pause (1 s to 30 s), until
    /// it loads or the task is cancelled: serving a partly read partition would hand clients
    /// missing offsets, and they would reset to `auto.offset.reset`.
    public func load(partitions: [Int32]) async {
        let clock = ContinuousClock()
        let started = clock.now
        var records = 0
        var bytes = 0
        var pending = partitions.filter { $0 >= 0 && $0 < partitionCount }
        var pause = Duration.seconds(1)
        while !pending.isEmpty {
            var failed: [Int32] = []
            for p in pending {
                do {
                    let summary = try await shards[Int(p)].load()
                    records += summary.records
                    bytes += summary.bytesRead
                } catch {
                    logger.error("loading __consumer_offsets partition failed; its groups get COORDINATOR_LOAD_IN_PROGRESS until a retry succeeds",
                                 metadata: ["partition": "\(p)", "error": "\(error)", "retry.in": "\(pause)"])
                    failed.append(p)
                }
            }
            pending = failed
            guard !pending.isEmpty else { break }
            do { try await Task.sleep(for: pause) } catch { return }
            pause = min(pause * 2, .seconds(30))
        }
        logger.info("loaded consumer groups and offsets", metadata: [
            "partitions": "\(partitions.count)", "records": "\(records)", "bytes": "\(bytes)",
            "elapsed": "\(clock.now - started)",
        ])
    }

    /// Marks partitions as loading, so their groups get COORDINATOR_LOAD_IN_PROGRESS (retriable)
    /// rather than NOT_COORDINATOR until ``load(partitions:)`` has read them.
    public func beginLoading(partitions: [Int32]) async {
        for p in partitions where p >= 0 && p < partitionCount { await shards[Int(p)].beginLoading() }
    }

    /// Stops coordinating the groups of `partitions`: this broker no longer leads them.
    public func unload(partitions: [Int32]) async {
        for p in partitions where p >= 0 && p < partitionCount { await shards[Int(p)].unload() }
    }

    /// Serves every partition of an offsets topic that was just created (nothing to load).
    public func activateNewTopic() async {
        for shard in shards { await shard.activateEmpty() }
    }

    /// Whether the shard of `groupID` is loaded (FindCoordinator may answer it).
    public func isReady(groupID: String) async -> ErrorCode? {
        await shard(for: groupID).unavailableError
    }

    /// Runs every group's due deadlines; the broker calls this every `tickInterval`.
    public func tick() async {
        for shard in shards { await shard.tick() }
    }

    /// Runs timers and offset expiry until the task is cancelled.
    /// - Parameters:
    ///   - tickInterval: how often deadlines are checked (they fire up to this late).
    ///   - retentionMs: `offsets.retention.minutes` in ms.
    ///   - retentionCheckIntervalMs: `offsets.retention.check.interval.ms`.
    public func run(tickInterval: Duration = .milliseconds(50), retentionMs: Int64, retentionCheckIntervalMs: Int64) async {
        let clock = ContinuousClock()
        var nextExpiry = clock.now + .milliseconds(retentionCheckIntervalMs)
        while !Task.isCancelled {
            try? await Task.sleep(for: tickInterval)
            if Task.isCancelled { break }
            await tick()
            if clock.now >= nextExpiry {
                for shard in shards { await shard.expireOffsets(retentionMs: retentionMs) }
                nextExpiry = clock.now + .milliseconds(retentionCheckIntervalMs)
            }
        }
    }

    /// Answers every held JoinGroup/SyncGroup (the broker is stopping).
    public func shutdown() async {
        for shard in shards { await shard.failAllWaiters(.notCoordinator) }
    }
}
