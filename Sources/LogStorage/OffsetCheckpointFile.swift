import SystemPackage

/// Kafka's offset checkpoint files (`CheckpointFile`): `recovery-point-offset-checkpoint`,
/// `log-start-offset-checkpoint` and `cleaner-offset-checkpoint` in each log directory.
/// Format: line 1 the version `0`, line 2 the entry count, then `topic partition offset` per line.
/// Written atomically (temporary file, fsync, rename, fsync of the directory).
public enum OffsetCheckpointFile {
    public static let recoveryPoint = "recovery-point-offset-checkpoint"
    public static let logStartOffset = "log-start-offset-checkpoint"
    public static let cleanerOffset = "cleaner-offset-checkpoint"
    /// The high watermark of each partition (Kafka's name).
    public static let replicationOffset = "replication-offset-checkpoint"

    /// A partition's directory name, `<topic>-<partition>`, and its offset.
    public struct Entry: Hashable, Sendable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public init(topic: String, partition: Int32, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }
    }

    /// Writes `entries` to `directory/name` atomically.
    /// - Throws: ``StorageError/io(operation:path:errno:)``.
    public static func write(_ entries: [Entry], directory: FilePath, name: String) throws {
        var text = "0\n\(entries.count)\n"
        for e in entries.sorted(by: { ($0.topic, $0.partition) < ($1.topic, $1.partition) }) {
            text += "\(e.topic) \(e.partition) \(e.offset)\n"
        }
        try writeFileAtomically(directory.appending(name), contents: text)
    }

    /// Reads `directory/name`; an absent file gives an empty map.
    /// - Throws: ``StorageError/corrupt(path:position:reason:)`` for a malformed file.
    public static func read(directory: FilePath, name: String) throws -> [String: Int64] {
        let path = directory.appending(name)
        guard let text = try readSmallFile(path) else { return [:] }
        let lines = text.split(separator: "\n")
        guard lines.count >= 2, lines[0] == "0", let count = Int(lines[1]), lines.count - 2 == count else {
            throw StorageError.corrupt(path: path.string, position: 0, reason: "malformed checkpoint header")
        }
        var out: [String: Int64] = [:]
        for line in lines.dropFirst(2) {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let partition = Int32(parts[1]), let offset = Int64(parts[2]) else {
                throw StorageError.corrupt(path: path.string, position: 0, reason: "malformed checkpoint entry '\(line)'")
            }
            out["\(parts[0])-\(partition)"] = offset
        }
        return out
    }
}
