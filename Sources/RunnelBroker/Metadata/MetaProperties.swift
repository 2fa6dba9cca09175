import KafkaProtocol
import LogStorage
#if canImport(Glibc)
import Glibc
#endif

/// `meta.properties` in each log directory (KRaft form): `version=1`, `cluster.id`, `node.id` and
/// `directory.id` (KIP-858: a random UUID naming this directory, the same every start, in Kafka's
/// 22-character base64 form). Created on first start; a later start with a different `node.id` is
/// refused, and a file without `directory.id` (written before JBOD) gets one.
public struct MetaProperties: Sendable, Equatable {
    public var clusterID: String
    public var nodeID: Int32
    /// This directory's id (KIP-858), reported to the controller in BrokerRegistration `log_dirs`
    /// and BrokerHeartbeat `offline_log_dirs`.
    public var directoryID: UUIDBytes = .zero

    public static let fileName = "meta.properties"

    /// Loads the file from `directory`, or creates it with a fresh cluster id.
    /// - Throws: ``ConfigError`` when the file disagrees with `nodeID` or is malformed.
    /// - Parameter clusterID: the cluster id this node must belong to (a cluster's nodes all name the
    ///   same one); nil lets a new directory pick a random one.
    public static func loadOrCreate(directory: String, nodeID: Int32, clusterID wanted: String? = nil) throws -> MetaProperties {
        let path = directory + "/" + fileName
        if let text = readText(path) {
            let props = try BrokerConfig.parseProperties(text, path: path)
            let dict = Dictionary(props.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            guard let cluster = dict["cluster.id"], let nodeText = dict["node.id"], let node = Int32(nodeText) else {
                throw ConfigError.unreadableFile(path: path, reason: "missing cluster.id or node.id")
            }
            guard node == nodeID else {
                throw ConfigError.invalidValue(key: "node.id", value: "\(nodeID)",
                                               reason: "\(path) belongs to node.id \(node); use that id or another log.dirs")
            }
            if let wanted, wanted != cluster {
                throw ConfigError.invalidValue(key: "runnel.cluster.id", value: wanted,
                                               reason: "\(path) belongs to cluster \(cluster); use another log.dirs for a node of cluster \(wanted). Unless runnel.cluster.id is set, a cluster's id comes from controller.quorum.voters, so a changed voter list (or another --brokers count for `runnel cluster up`) makes a different cluster: start it in a fresh directory")
            }
            if let idText = dict["directory.id"] {
                guard let id = UUIDBytes(base64: idText) else {
                    throw ConfigError.unreadableFile(path: path, reason: "directory.id \(idText) is not a 22-character base64 UUID")
                }
                return MetaProperties(clusterID: cluster, nodeID: node, directoryID: id)
            }
            let upgraded = MetaProperties(clusterID: cluster, nodeID: node, directoryID: newDirectoryID())
            try write(upgraded, to: path)
            return upgraded
        }
        let meta = MetaProperties(clusterID: wanted ?? UUIDBytes.random().description, nodeID: nodeID, directoryID: newDirectoryID())
        try write(meta, to: path)
        return meta
    }

    /// Loads or creates `meta.properties` in every directory of `directories` (the log directories,
    /// then the metadata log directory if separate). All share one cluster id: `clusterID` when
    /// given, else the one a directory already holds, else a new random one.
    /// - Returns: one entry per directory, in order.
    /// - Throws: ``ConfigError`` when a directory belongs to another node or cluster, or two
    ///   directories carry the same `directory.id` (one was copied from the other).
    public static func loadOrCreateAll(directories: [String], nodeID: Int32, clusterID wanted: String? = nil) throws -> [MetaProperties] {
        var clusterID = wanted
        if clusterID == nil {
            for directory in directories {
                guard let text = readText(directory + "/" + fileName) else { continue }
                let props = try BrokerConfig.parseProperties(text, path: directory + "/" + fileName)
                if let found = props.last(where: { $0.key == "cluster.id" })?.value {
                    clusterID = found
                    break
                }
            }
        }
        var out: [MetaProperties] = []
        var seen: [UUIDBytes: String] = [:]
        for directory in directories {
            let meta = try loadOrCreate(directory: directory, nodeID: nodeID, clusterID: clusterID)
            if let other = seen[meta.directoryID] {
                throw ConfigError.invalidValue(key: "log.dirs", value: directories.joined(separator: ","),
                                               reason: "\(directory) and \(other) have the same directory.id \(meta.directoryID) in meta.properties (one is a copy of the other); give each log directory its own")
            }
            seen[meta.directoryID] = directory
            clusterID = meta.clusterID
            out.append(meta)
        }
        return out
    }

    /// A random directory id outside Kafka's reserved ones (the first 100 UUIDs: `UNASSIGNED`, `LOST`, `MIGRATING`...).
    static func newDirectoryID() -> UUIDBytes {
        while true {
            let id = UUIDBytes.random()
            if id.high != 0 || id.low >= 100 { return id }
        }
    }

    /// Writes `meta` to `path` atomically (temporary file, fsync, rename).
    private static func write(_ meta: MetaProperties, to path: String) throws {
        let text = "#\n# Written by Runnel.\nversion=1\ncluster.id=\(meta.clusterID)\nnode.id=\(meta.nodeID)\ndirectory.id=\(meta.directoryID)\n"
        let tmp = path + ".tmp"
        guard let file = fopen(tmp, "w") else {
            throw ConfigError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        fputs(text, file)
        fflush(file)
        fsync(fileno(file))
        fclose(file)
        guard rename(tmp, path) == 0 else {
            throw ConfigError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
    }

    static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
