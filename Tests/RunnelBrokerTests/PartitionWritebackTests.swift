import LogStorage
import Logging
import SystemPackage
@testable import RunnelBroker
import Synchronization
import Testing

/// When a partition starts the page cache's writeback: every 4 MiB appended, one at a time.
struct PartitionWritebackTests {
    /// Queues jobs until the test runs them.
    final class QueueRunner: Sendable {
        let jobs = Mutex<[@Sendable () -> Void]>([])
        var runner: LogFlusher.Runner { { job in self.jobs.withLock { $0.append(job) } } }
        func runAll() -> Int {
            let queued = jobs.withLock { jobs in defer { jobs = [] }; return jobs }
            queued.forEach { $0() }
            return queued.count
        }
    }

    struct NoHandle: Error {}

    @Test func aStartIsDueEveryIntervalAndOnlyOneRunsAtATime() {
        let queue = QueueRunner()
        let writeback = PartitionWriteback(runner: queue.runner)
        let handleAsked = Mutex(0)
        let quarter = PartitionWriteback.intervalBytes / 4
        // The handle closure throws: the start is abandoned, and the next one can go.
        let ask: () throws -> SegmentSyncHandle = { handleAsked.withLock { $0 += 1 }; throw NoHandle() }

        for _ in 0..<3 { writeback.appended(bytes: quarter, handle: ask) }
        #expect(handleAsked.withLock { $0 } == 0)
        writeback.appended(bytes: quarter, handle: ask)
        #expect(handleAsked.withLock { $0 } == 1)
        #expect(queue.runAll() == 0)  // no handle, nothing queued
        writeback.appended(bytes: PartitionWriteback.intervalBytes, handle: ask)
        #expect(handleAsked.withLock { $0 } == 2)
    }

    @Test func aQueuedStartHoldsTheNextOneBack() throws {
        try withTemporaryDirectory { dir in
            let log = try Log(directory: FilePath(dir), config: LogConfig(), logger: Logger(label: "test"))
            defer { log.close() }
            let queue = QueueRunner()
            let writeback = PartitionWriteback(runner: queue.runner)
            let interval = PartitionWriteback.intervalBytes
            writeback.appended(bytes: interval) { try log.activeSyncHandle() }
            writeback.appended(bytes: interval) { try log.activeSyncHandle() }  // due, but one is queued
            #expect(queue.runAll() == 1)
            writeback.appended(bytes: interval) { try log.activeSyncHandle() }
            #expect(queue.runAll() == 1)
        }
    }
}
