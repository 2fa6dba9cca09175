import LogStorage
@testable import RunnelBroker
import Synchronization
import SystemPackage
import Testing

/// ``CheckpointWriter``: checkpoint files are written by the runner (a thread pool in the broker),
/// never inline, and a write of an older snapshot never replaces a newer one.
struct CheckpointWriterTests {
    /// A runner that holds every job until the test releases it, then runs it on the test's task;
    /// the writer's call returns once its job has run.
    final class HeldRunner: Sendable {
        private struct State {
            var held: [(id: Int, job: @Sendable () throws -> Void)] = []
            var nextID = 0
            var finished: [Int: (any Error)?] = [:]
        }
        private let state = Mutex(State())

        var runner: CheckpointWriter.Runner {
            { [self] job in
                let id = state.withLock { state in
                    defer { state.nextID += 1 }
                    state.held.append((state.nextID, job))
                    return state.nextID
                }
                while true {
                    if let outcome = state.withLock({ $0.finished.removeValue(forKey: id) }) {
                        if let error = outcome { throw error }
                        return
                    }
                    await Task.yield()
                }
            }
        }

        var pending: Int { state.withLock { $0.held.count } }

        /// Runs the held jobs, newest first (the order that could put an old snapshot last).
        func releaseNewestFirst() {
            let held = state.withLock { state in
                defer { state.held.removeAll() }
                return state.held
            }
            for (id, job) in held.reversed() {
                var failure: (any Error)?
                do { try job() } catch { failure = error }
                state.withLock { $0.finished[id] = .some(failure) }
            }
        }
    }

    static func entry(_ offset: Int64) -> [OffsetCheckpointFile.Entry] {
        [.init(topic: "t", partition: 0, offset: offset)]
    }

    @Test func writesGoThroughTheRunnerNotInline() async throws {
        try await withTemporaryDirectory { dir in
            let held = HeldRunner()
            let writer = CheckpointWriter(directory: FilePath(dir), runner: held.runner)
            let ticket = writer.ticket()
            let write = Task { try await writer.write([.init(name: OffsetCheckpointFile.recoveryPoint, entries: Self.entry(42))], ticket: ticket) }
            while held.pending == 0 { await Task.yield() }
            // The caller is suspended, not blocked, and nothing is on disk yet.
            #expect(try OffsetCheckpointFile.read(directory: FilePath(dir), name: OffsetCheckpointFile.recoveryPoint).isEmpty)
            held.releaseNewestFirst()
            try await write.value
            #expect(try OffsetCheckpointFile.read(directory: FilePath(dir), name: OffsetCheckpointFile.recoveryPoint) == ["t-0": 42])
        }
    }

    @Test func anOlderSnapshotWrittenLastDoesNotReplaceANewerOne() async throws {
        try await withTemporaryDirectory { dir in
            let held = HeldRunner()
            let writer = CheckpointWriter(directory: FilePath(dir), runner: held.runner)
            let name = OffsetCheckpointFile.replicationOffset
            let older = writer.ticket()
            let newer = writer.ticket()
            #expect(older < newer)
            let first = Task { try await writer.write([.init(name: name, entries: Self.entry(10))], ticket: older) }
            while held.pending < 1 { await Task.yield() }
            let second = Task { try await writer.write([.init(name: name, entries: Self.entry(20))], ticket: newer) }
            while held.pending < 2 { await Task.yield() }
            held.releaseNewestFirst()
            try await first.value
            try await second.value
            #expect(try OffsetCheckpointFile.read(directory: FilePath(dir), name: name) == ["t-0": 20])
        }
    }

    @Test func eachFileKeepsItsOwnOrder() async throws {
        try await withTemporaryDirectory { dir in
            // Inline runner: the order of writes is the order of calls.
            let writer = CheckpointWriter(directory: FilePath(dir), runner: { job in try job() })
            let older = writer.ticket()
            let newer = writer.ticket()
            try await writer.write([.init(name: OffsetCheckpointFile.cleanerOffset, entries: Self.entry(7))], ticket: newer)
            // Another file's newer snapshot does not stop this older one of a different file.
            try await writer.write([.init(name: OffsetCheckpointFile.logStartOffset, entries: Self.entry(3)),
                                    .init(name: OffsetCheckpointFile.cleanerOffset, entries: Self.entry(5))], ticket: older)
            #expect(try OffsetCheckpointFile.read(directory: FilePath(dir), name: OffsetCheckpointFile.logStartOffset) == ["t-0": 3])
            #expect(try OffsetCheckpointFile.read(directory: FilePath(dir), name: OffsetCheckpointFile.cleanerOffset) == ["t-0": 7])
        }
    }

    /// Shutdown writes its checkpoints from a cancelled task: the thread pool runner still runs them.
    @Test func aCancelledCallerStillGetsItsCheckpointWritten() async throws {
        try await withTemporaryDirectory { dir in
            let writer = CheckpointWriter(directory: FilePath(dir))
            let task = Task<Void, any Error> {
                while !Task.isCancelled { await Task.yield() }
                try await writer.write([.init(name: OffsetCheckpointFile.recoveryPoint, entries: Self.entry(9))], ticket: writer.ticket())
            }
            task.cancel()
            try await task.value
            #expect(try OffsetCheckpointFile.read(directory: FilePath(dir), name: OffsetCheckpointFile.recoveryPoint) == ["t-0": 9])
        }
    }
}
