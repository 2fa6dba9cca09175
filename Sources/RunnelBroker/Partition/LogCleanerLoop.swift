import LogStorage
import Logging
import NIOPosix
import Synchronization

extension Broker {
    /// The log cleaner thread (Kafka `LogCleaner.CleanerThread`), run when `log.cleaner.enable` is
    /// true: cleans the compacted partition with the highest dirty ratio above its
    /// `min.cleanable.dirty.ratio`, and sleeps `log.cleaner.backoff.ms` whenever there is none.
    ///
    /// A cleaning takes a ``CleanerSnapshot`` on the partition actor, does all file work in
    /// ``LogCleaner/clean(_:nowMs:maxMapBytes:isCancelled:)`` on `NIOThreadPool.singleton` (appends and
    /// fetches go on meanwhile), swaps the result in on the actor and records the end of the cleaned
    /// range in `cleaner-offset-checkpoint`. A partition whose cleaning fails with anything but an
    /// abort (cancellation, a segment deleted meanwhile) is not cleaned again until restart, as in Kafka.
    func runLogCleaner(_ controller: Controller) async {
        let backoff = max(1, config.int("log.cleaner.backoff.ms"))
        var uncleanable: Set<TopicPartition> = []
        while !Task.isCancelled {
            let cleaned = await cleanFilthiestLog(controller, uncleanable: &uncleanable)
            if Task.isCancelled { return }
            if !cleaned { try? await Task.sleep(for: .milliseconds(backoff)) }
        }
    }

    /// One round of the cleaner. - Returns: whether a log was cleaned.
    private func cleanFilthiestLog(_ controller: Controller, uncleanable: inout Set<TopicPartition>) async -> Bool {
        let now = Log.steadyWallClockMs()
        var filthiest: (tp: TopicPartition, partition: Partition, firstDirty: Int64, ratio: Double)?
        for (tp, partition, firstDirty) in await controller.compactedPartitions() where !uncleanable.contains(tp) {
            let ratio = await partition.dirtyRatio(firstDirtyOffset: firstDirty, nowMs: now)
            guard ratio > (await partition.logConfig.minCleanableDirtyRatio), ratio > (filthiest?.ratio ?? 0) else { continue }
            filthiest = (tp, partition, firstDirty, ratio)
        }
        guard let filthiest, let snapshot = await filthiest.partition.cleanerSnapshot(firstDirtyOffset: filthiest.firstDirty, nowMs: now) else {
            return false
        }
        let tp = filthiest.tp
        do {
            let stop = CleanerCancellation()
            let cleaned = try await withTaskCancellationHandler {
                try await NIOThreadPool.singleton.runIfActive {
                    try LogCleaner.clean(snapshot, nowMs: now, isCancelled: { stop.isSet })
                }
            } onCancel: {
                stop.set()
            }
            guard try await filthiest.partition.swapIn(cleaned) else { return false }
            try await controller.recordCleaned(tp, endOffset: cleaned.endOffset)
            let s = cleaned.stats
            logger.info("cleaned log", metadata: [
                "partition": "\(tp)", "dirtyRange": "[\(cleaned.firstDirtyOffset), \(cleaned.endOffset))",
                "dirtyRatio": "\((filthiest.ratio * 1000).rounded() / 1000)",
                "segments": "\(cleaned.segmentsReplaced) -> \(cleaned.groups.count)",
                "bytesBefore": "\(s.bytesRead)", "bytesAfter": "\(s.bytesWritten)",
                "recordsKept": "\(s.recordsKept)", "recordsDropped": "\(s.recordsDropped)",
                "tombstonesDropped": "\(s.tombstonesDropped)", "keys": "\(s.keys)", "durationMs": "\(s.durationMs)",
            ])
            return true
        } catch let aborted as LogCleaner.Aborted {
            logger.debug("log cleaning aborted", metadata: ["partition": "\(tp)", "reason": "\(aborted.reason)"])
        } catch {
            if Task.isCancelled { return false }
            uncleanable.insert(tp)
            logger.error("log cleaning failed; the partition is not cleaned again until restart",
                         metadata: ["partition": "\(tp)", "error": "\(error)"])
        }
        return false
    }
}

/// A flag the cleaner's thread polls; set when the cleaner task is cancelled (shutdown).
private final class CleanerCancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
