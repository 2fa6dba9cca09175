import Glibc
import KafkaProtocol
import Logging
import NIOCore
import SystemPackage

/// The idempotent-producer state of the partition (KIP-98): checked before each append, updated
/// after it, snapshotted to `<offset>.snapshot` when a segment rolls and when the log closes, and
/// rebuilt at open from the newest snapshot at or below the log end plus the batches after it (the
/// log tail). Without any snapshot the whole log is replayed once.
extension Log {
    /// Snapshot files kept besides the newest one.
    static let olderProducerSnapshotsKept = 1

    /// Checks an incoming batch against the producer state.
    /// - Returns: the retained batch it duplicates, one of the producer's last 5 (answer with its
    ///   offsets and do not append); nil to append.
    /// - Throws: ``ProducerStateError`` for a fenced epoch or a sequence gap.
    public func checkProducer(_ header: RecordBatchHeader) throws(ProducerStateError) -> ProducerStateManager.BatchMetadata? {
        try producerState.validate(header)
    }

    /// Forgets producers that have not appended for `expirationMs` (`producer.id.expiration.ms`).
    public func removeExpiredProducers(nowMs: Int64, expirationMs: Int64) {
        producerState.removeExpired(nowMs: nowMs, expirationMs: expirationMs)
    }

    /// Writes the producer state as of `offset` (the log end offset) to `<offset>.snapshot`
    /// atomically and removes older snapshots beyond the one kept.
    /// - Parameter sync: false when a roll's deferred sync (``RolledSegmentSync``) syncs it later.
    @discardableResult
    func writeProducerSnapshot(at offset: Int64, sync: Bool = true) throws -> FilePath {
        let path = directory.appending(ProducerStateSnapshot.fileName(offset: offset))
        try writeFileAtomically(path, bytes: ProducerStateSnapshot.encode(producerState), sync: sync)
        lastProducerSnapshotOffset = offset
        let snapshots = producerSnapshotOffsets().filter { $0 < offset }
        for old in snapshots.dropLast(Self.olderProducerSnapshotsKept) {
            _ = unlink(directory.appending(ProducerStateSnapshot.fileName(offset: old)).string)
        }
        return path
    }

    /// Writes a snapshot at the log end unless the newest one is already there.
    func maybeWriteProducerSnapshotAtEnd() throws {
        guard lastProducerSnapshotOffset != logEndOffset else { return }
        try writeProducerSnapshot(at: logEndOffset)
    }

    /// Offsets of the snapshot files in the directory, ascending.
    func producerSnapshotOffsets() -> [Int64] {
        ((try? listDirectory(directory)) ?? []).compactMap(ProducerStateSnapshot.offset(fromFileName:)).sorted()
    }

    /// Loads the producer state at open: the newest readable snapshot at or below the log end
    /// (newer ones describe batches a crash lost, and are deleted), then the batches after it.
    func loadProducerState() throws {
        var start = logStartOffset
        var state = ProducerStateManager()
        lastProducerSnapshotOffset = nil
        for offset in producerSnapshotOffsets().reversed() {
            let path = directory.appending(ProducerStateSnapshot.fileName(offset: offset))
            if offset > logEndOffset {
                _ = unlink(path.string)
                continue
            }
            do {
                guard let bytes = try readSmallFileBytes(path) else { continue }
                state = try ProducerStateSnapshot.decode(bytes)
                start = max(offset, logStartOffset)
                lastProducerSnapshotOffset = offset
                break
            } catch {
                logger.warning("ignoring an unreadable producer state snapshot", metadata: ["path": "\(path)", "error": "\(error)"])
                _ = unlink(path.string)
            }
        }
        producerState = state
        try replayProducerState(from: start)
    }

    /// Applies the idempotent batches from `offset` to the log end to the producer state.
    private func replayProducerState(from offset: Int64) throws {
        var position = offset
        let now = clock()
        while position < logEndOffset {
            var batches = try read(from: position, maxBytes: 4 << 20, upperBound: logEndOffset)
            guard batches.readableBytes > 0 else { break }
            while let (header, _) = batches.readRecordBatch() {
                let next = header.nextOffset
                if next > position, header.producerID >= 0 {
                    // The append time of replayed batches is unknown: expiry counts from now.
                    producerState.update(header, baseOffset: header.baseOffset, appendTimeMs: now)
                }
                position = max(position, next)
            }
        }
    }
}
