import KafkaProtocol
import LogStorage
#if canImport(Glibc)
import Glibc
#endif

/// `meta.properties` in the log directory (KRaft form): `version=1`, `cluster.id`, `node.id`.
/// Created on first start; a later start with a different `node.id` is refused.
public struct MetaProperties: Sendable, Equatable {
    public var clusterID: String
    public var nodeID: Int32

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
            return MetaProperties(clusterID: cluster, nodeID: node)
        }
        let meta = MetaProperties(clusterID: wanted ?? UUIDBytes.random().description, nodeID: nodeID)
        let text = "#\n# Written by Runnel on first start.\nversion=1\ncluster.id=\(meta.clusterID)\nnode.id=\(nodeID)\n"
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
        return meta
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
