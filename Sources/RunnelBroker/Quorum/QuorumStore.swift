import Foundation
import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import Raft
import SystemPackage

/// The metadata quorum's durable state under `log.dirs/__cluster_metadata-0/` (KIP-595
/// "Persistent state"):
/// - `quorum-state`: epoch, leader and vote, rewritten atomically (`epoch leader voted`, `-1` for none);
/// - `00000000000000000000.log`: the log entries as record batches (``MetadataEntryCodec``), appended
///   and fsynced before the step's messages leave; a torn tail found at start is cut;
/// - `log-start-offset`: where the log starts after a snapshot or a reset;
/// - `snapshot.checkpoint`: the latest snapshot (`offset epoch` line, then its payload).
///
/// A mirror of everything persisted is kept as a `RaftPersistentState`, so truncations and prefix
/// deletions know byte positions, and a rewrite needs no re-read.
final class QuorumStore {
    static let logFileName = "00000000000000000000.log"
    let directory: FilePath
    private let logFile: AppendOnlyFile
    private var mirror: RaftPersistentState<MetadataBatch>
    /// Byte position of each entry in the log file, by offset (dense from the log start).
    private var positions: [Int64] = []
    private let logger: Logger

    /// Opens the store, recovering the log (a batch that fails its CRC or is cut short ends it).
    /// - Throws: ``StorageError`` when the directory cannot be used.
    init(directory: FilePath, logger: Logger) throws {
        self.directory = directory
        self.logger = logger
        try FileManager.default.createDirectory(atPath: directory.string, withIntermediateDirectories: true)
        var quorumState: QuorumStateRecord?
        if let text = try readSmallFileBytes(directory.appending("quorum-state")).flatMap({ String(buffer: $0) }) {
            let parts = text.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
            guard parts.count == 3 else {
                throw StorageError.corrupt(path: directory.appending("quorum-state").string, position: 0, reason: "expected 'epoch leader voted'")
            }
            quorumState = QuorumStateRecord(leaderEpoch: LeaderEpoch(parts[0]), leaderID: parts[1] < 0 ? nil : ReplicaID(parts[1]),
                                            votedID: parts[2] < 0 ? nil : ReplicaID(parts[2]))
        }
        var snapshot: RaftSnapshot?
        if var bytes = try readSmallFileBytes(directory.appending("snapshot.checkpoint")),
           let offset = bytes.readInteger(as: Int64.self), let epoch = bytes.readInteger(as: Int32.self) {
            snapshot = RaftSnapshot(id: SnapshotID(offset: Offset(offset), epoch: LeaderEpoch(epoch)),
                                    payload: bytes.readBytes(length: bytes.readableBytes) ?? [])
        }
        var startOffset = Offset(0)
        if let text = try readSmallFileBytes(directory.appending("log-start-offset")).flatMap({ String(buffer: $0) }),
           let value = Int64(text.trimmingWhitespace()) {
            startOffset = Offset(value)
        }
        logFile = try AppendOnlyFile(path: directory.appending(Self.logFileName))
        let contents = try logFile.read(at: 0, length: Int(logFile.size))
        var entries: [LogEntry<MetadataBatch>] = []
        var reader = contents
        var validEnd: Int64 = 0
        while let (header, batch) = reader.readRecordBatch() {
            guard RecordBatchHeader.crcMatches(batch, at: batch.readerIndex, header: header),
                  let entry = try? MetadataEntryCodec.decode(header: header, batch: batch),
                  entry.offset == startOffset + Int64(entries.count)
            else { break }
            positions.append(validEnd)
            entries.append(entry)
            validEnd += Int64(header.totalSize)
        }
        if validEnd < logFile.size {
            logger.warning("cut a torn tail off the metadata quorum log",
                           metadata: ["bytes": "\(logFile.size - validEnd)", "entries.kept": "\(entries.count)"])
            try logFile.truncate(to: validEnd)
            try logFile.sync()
        }
        let log = try RaftLog(snapshot: snapshot, startOffset: startOffset, entries: entries)
        mirror = RaftPersistentState(quorumState: quorumState, log: log)
    }

    /// What a restarted node is given.
    var persistentState: RaftPersistentState<MetadataBatch> { mirror }

    /// Makes `actions` durable, in order.
    /// - Throws: ``StorageError`` on I/O failure; the process must then stop before sending anything.
    func persist(_ actions: [PersistAction<MetadataBatch>]) throws {
        guard !actions.isEmpty else { return }
        var logDirty = false
        for action in actions {
            mirror.apply(action)
            switch action {
            case .setQuorumState(let record):
                let text = "\(record.leaderEpoch.rawValue) \(record.leaderID?.rawValue ?? -1) \(record.votedID?.rawValue ?? -1)\n"
                try writeFileAtomically(directory.appending("quorum-state"), contents: text)
            case .appendEntries(let entries):
                for entry in entries {
                    positions.append(logFile.size)
                    try logFile.append(MetadataEntryCodec.encode(entry))
                }
                logDirty = true
            case .truncateLog(let from):
                let index = Int(mirror.log.startOffset.distance(to: from))
                if index >= 0, index < positions.count {
                    try logFile.truncate(to: positions[index])
                    positions.removeSubrange(index...)
                    logDirty = true
                }
            case .installSnapshot(let snapshot):
                var bytes = ByteBuffer()
                bytes.writeInteger(snapshot.id.offset.rawValue)
                bytes.writeInteger(snapshot.id.epoch.rawValue)
                bytes.writeBytes(snapshot.payload)
                try writeFileAtomically(directory.appending("snapshot.checkpoint"), bytes: bytes)
            case .deleteLogPrefix, .resetLog:
                try rewriteLog()
                logDirty = false
            }
        }
        if logDirty { try logFile.sync() }
    }

    /// Rewrites the log file from the mirror (after a prefix deletion or a reset), start offset first.
    private func rewriteLog() throws {
        try writeFileAtomically(directory.appending("log-start-offset"), contents: "\(mirror.log.startOffset.rawValue)\n")
        try logFile.truncate(to: 0)
        positions.removeAll()
        for entry in mirror.log.entries {
            positions.append(logFile.size)
            try logFile.append(MetadataEntryCodec.encode(entry))
        }
        try logFile.sync()
    }

    func close() { logFile.close() }
}
