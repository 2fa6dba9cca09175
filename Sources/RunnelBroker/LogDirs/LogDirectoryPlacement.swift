import Foundation
import KafkaProtocol
import SystemPackage

/// Where each partition's log lives among the log directories (JBOD): the directory a partition
/// was found in at start, or, for a new one, the online directory holding the fewest partitions,
/// ties going to the first listed (Kafka's default `LogManager.nextLogDirs`).
///
/// A pure value: the controller owns one, scans the directories once at start
/// (``scan(_:)``) and records every placement, so tests can drive it without files.
struct LogDirectoryPlacement: Sendable, Equatable {
    /// Per partition directory name (`<topic>-<partition>`), the index of its log directory.
    private(set) var placements: [String: Int] = [:]
    /// How many log directories there are.
    let directoryCount: Int

    init(directoryCount: Int, placements: [String: Int] = [:]) {
        self.directoryCount = directoryCount
        self.placements = placements
    }

    /// The index of the directory holding `directoryName`, nil if it has none yet.
    func directory(of directoryName: String) -> Int? { placements[directoryName] }

    /// Partitions per directory, by index.
    var counts: [Int] {
        var counts = Array(repeating: 0, count: directoryCount)
        for index in placements.values { counts[index] += 1 }
        return counts
    }

    /// The directory for `directoryName`: where it already is, else the online directory with the
    /// fewest partitions (ties: lowest index), which is then recorded.
    /// - Parameter online: per directory index, whether it may take a new partition.
    /// - Returns: the index, or nil when every directory is offline.
    mutating func place(_ directoryName: String, online: [Bool]) -> Int? {
        if let existing = placements[directoryName] { return existing }
        let counts = counts
        guard let chosen = counts.indices.filter({ online[$0] }).min(by: { (counts[$0], $0) < (counts[$1], $1) }) else { return nil }
        placements[directoryName] = chosen
        return chosen
    }

    /// Forgets `directoryName` (its topic was deleted and its log removed).
    mutating func remove(_ directoryName: String) { placements[directoryName] = nil }

    /// A partition log found in two log directories: which copy is current cannot be told, so the
    /// broker refuses to start (Kafka: "Duplicate log directories found").
    struct DuplicatePartitionError: Error, CustomStringConvertible {
        var partition: String
        var directories: [String]
        var description: String {
            "partition \(partition) is stored in more than one of log.dirs (\(directories.joined(separator: ", "))): "
                + "remove or move away every copy but the one to keep, then start again"
        }
    }

    /// Builds the placement from the partition logs found in `directories` (in `log.dirs` order).
    /// - Throws: ``DuplicatePartitionError`` when a partition is in two of them.
    static func scan(_ directories: [FilePath]) throws -> LogDirectoryPlacement {
        var found: [String: Int] = [:]
        for (index, directory) in directories.enumerated() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.string)) ?? []
            for name in names.sorted() where isPartitionDirectoryName(name) {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: directory.appending(name).string, isDirectory: &isDirectory),
                      isDirectory.boolValue else { continue }
                if let other = found[name] {
                    throw DuplicatePartitionError(partition: name, directories: [directories[other].string, directory.string])
                }
                found[name] = index
            }
        }
        return LogDirectoryPlacement(directoryCount: directories.count, placements: found)
    }

    /// Whether `name` looks like a partition log directory, `<topic>-<partition>`: not hidden, not
    /// a deleted topic's `-delete` leftover, not the metadata log.
    static func isPartitionDirectoryName(_ name: String) -> Bool {
        guard !name.hasPrefix("."), !name.hasSuffix("-delete"), !name.hasSuffix("-future"), name != MetadataLog.directoryName,
              let dash = name.lastIndex(of: "-"), dash != name.startIndex else { return false }
        let digits = name[name.index(after: dash)...]
        return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)
    }
}
