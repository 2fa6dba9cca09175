import Foundation
@testable import LogStorage
import NIOCore
import SystemPackage
import Testing

/// The leader epoch history (KIP-101): assignment, Kafka's `endOffsetFor` and the
/// `leader-epoch-checkpoint` file.
@Suite struct LeaderEpochCacheTests {
    typealias Entry = LeaderEpochCache.Entry

    @Test func assignAppendsOnlyNewerEpochs() {
        var cache = LeaderEpochCache()
        #expect(cache.latestEpoch == nil)
        var changed = cache.assign(epoch: 0, startOffset: 0)
        #expect(changed)
        changed = cache.assign(epoch: 0, startOffset: 5)
        #expect(!changed, "same epoch again changes nothing")
        changed = cache.assign(epoch: 2, startOffset: 10)
        #expect(changed)
        changed = cache.assign(epoch: 1, startOffset: 20)
        #expect(!changed, "an older epoch is ignored")
        #expect(cache.entries == [Entry(epoch: 0, startOffset: 0), Entry(epoch: 2, startOffset: 10)])
        #expect(cache.latestEpoch == 2)
        // A newer epoch starting at or before existing entries replaces them.
        changed = cache.assign(epoch: 5, startOffset: 10)
        #expect(changed)
        #expect(cache.entries == [Entry(epoch: 0, startOffset: 0), Entry(epoch: 5, startOffset: 10)])
        changed = cache.assign(epoch: 6, startOffset: 3)
        #expect(changed)
        #expect(cache.entries == [Entry(epoch: 0, startOffset: 0), Entry(epoch: 6, startOffset: 3)])
    }

    @Test func truncateDropsEntriesStartingAtOrAfterTheOffset() {
        var cache = LeaderEpochCache(entries: [Entry(epoch: 2, startOffset: 10), Entry(epoch: 4, startOffset: 30),
                                               Entry(epoch: 7, startOffset: 50)])
        cache.truncate(from: 31)
        #expect(cache.entries.map(\.epoch) == [2, 4])
        cache.truncate(from: 30)
        #expect(cache.entries.map(\.epoch) == [2])
        cache.truncate(from: 0)
        #expect(cache.entries.isEmpty)
    }

    struct EndOffsetCase: Sendable, CustomTestStringConvertible {
        var requested: Int32
        var epoch: Int32
        var endOffset: Int64
        var testDescription: String { "epoch \(requested) → (\(epoch), \(endOffset))" }
    }

    /// Kafka `LeaderEpochFileCache.endOffsetFor` with history [(2, 10), (4, 30), (7, 50)] and LEO 80.
    @Test(arguments: [
        EndOffsetCase(requested: 7, epoch: 7, endOffset: 80),   // the latest epoch ends at the log end offset
        EndOffsetCase(requested: 4, epoch: 4, endOffset: 50),   // a known epoch ends where the next starts
        EndOffsetCase(requested: 2, epoch: 2, endOffset: 30),
        EndOffsetCase(requested: 5, epoch: 4, endOffset: 50),   // unknown epoch in between: floor epoch, next start
        EndOffsetCase(requested: 6, epoch: 4, endOffset: 50),
        EndOffsetCase(requested: 3, epoch: 2, endOffset: 30),
        EndOffsetCase(requested: 1, epoch: 1, endOffset: 10),   // below the history: requested epoch, first start (Kafka)
        EndOffsetCase(requested: 0, epoch: 0, endOffset: 10),
        EndOffsetCase(requested: 8, epoch: -1, endOffset: -1),  // above the latest: undefined
        EndOffsetCase(requested: 100, epoch: -1, endOffset: -1),
        EndOffsetCase(requested: -1, epoch: -1, endOffset: -1), // UNDEFINED_EPOCH
    ])
    func endOffsetFor(_ c: EndOffsetCase) {
        let cache = LeaderEpochCache(entries: [Entry(epoch: 2, startOffset: 10), Entry(epoch: 4, startOffset: 30),
                                               Entry(epoch: 7, startOffset: 50)])
        let result = cache.endOffset(for: c.requested, logEndOffset: 80)
        #expect(result.epoch == c.epoch)
        #expect(result.endOffset == c.endOffset)
    }

    @Test func endOffsetOfAnEmptyHistoryIsUndefined() {
        let result = LeaderEpochCache().endOffset(for: 0, logEndOffset: 10)
        #expect(result.epoch == -1)
        #expect(result.endOffset == -1)
    }

    @Test func checkpointFileIsWrittenAndReloaded() throws {
        try withTemporaryDirectory { root throws in
            let dir = root.appending("epochs-0")
            let expected = [Entry(epoch: 0, startOffset: 0), Entry(epoch: 3, startOffset: 3), Entry(epoch: 5, startOffset: 6)]
            do {
                let log = try openLog(dir)
                defer { log.close() }
                try log.append(makeBatch(recordCount: 2, seed: 0), epoch: 0)   // 0-1
                try log.append(makeBatch(recordCount: 1, seed: 1), epoch: 0)   // 2
                try log.append(makeBatch(recordCount: 3, seed: 2), epoch: 3)   // 3-5
                try log.append(makeBatch(recordCount: 2, seed: 3), epoch: 5)   // 6-7
                try log.append(makeBatch(recordCount: 1, seed: 4), epoch: 5)   // 8
                #expect(log.leaderEpochCache.entries == expected)
            }
            let text = try String(contentsOfFile: dir.appending("leader-epoch-checkpoint").string, encoding: .utf8)
            #expect(text == "0\n3\n0 0\n3 3\n5 6\n")
            #expect(!FileManager.default.fileExists(atPath: dir.appending("leader-epoch-checkpoint.tmp").string))

            let log = try openLog(dir)
            defer { log.close() }
            #expect(log.leaderEpochCache.entries == expected)
            let ofThree = log.leaderEpochCache.endOffset(for: 3, logEndOffset: log.logEndOffset)
            #expect(ofThree.epoch == 3 && ofThree.endOffset == 6)
            let ofFive = log.leaderEpochCache.endOffset(for: 5, logEndOffset: log.logEndOffset)
            #expect(ofFive.epoch == 5 && ofFive.endOffset == 9)

            // A new leader epoch is recorded at the log end offset and persisted.
            try log.assignLeaderEpoch(8)
            try log.append(makeBatch(recordCount: 1, seed: 5), epoch: 8)
            let updated = try String(contentsOfFile: dir.appending("leader-epoch-checkpoint").string, encoding: .utf8)
            #expect(updated == "0\n4\n0 0\n3 3\n5 6\n8 9\n")
        }
    }

    @Test func assignLeaderEpochPersistsOnlyChanges() throws {
        try withTemporaryDirectory { root throws in
            let dir = root.appending("epochs-1")
            let log = try openLog(dir)
            defer { log.close() }
            let path = dir.appending("leader-epoch-checkpoint").string
            try log.assignLeaderEpoch(0)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "0\n1\n0 0\n")
            try log.append(makeBatch(recordCount: 4, seed: 0), epoch: 0)
            try log.assignLeaderEpoch(0)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "0\n1\n0 0\n")
            try log.assignLeaderEpoch(2)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "0\n2\n0 0\n2 4\n")
        }
    }

    @Test func malformedCheckpointIsIgnoredOnOpen() throws {
        try withTemporaryDirectory { root throws in
            let dir = root.appending("epochs-2")
            try FileManager.default.createDirectory(atPath: dir.string, withIntermediateDirectories: true)
            try "0\n2\n0 0\n".write(toFile: dir.appending("leader-epoch-checkpoint").string, atomically: true, encoding: .utf8)
            let log = try openLog(dir)
            defer { log.close() }
            #expect(log.leaderEpochCache.entries.isEmpty)
        }
    }
}
