#if canImport(Glibc)
import Glibc
#endif
import KafkaProtocol

extension RequestHandlers {
    /// DescribeLogDirs v0-4 (KIP-113, KIP-827): every log directory (`log.dirs`, in configured
    /// order) with the size of each hosted replica's segments stored in it, its offset lag (how far
    /// its log end offset is behind the partition's high watermark as this broker knows it: 0 on the
    /// leader, the distance a follower still has to fetch otherwise, as Kafka's `getLogEndOffsetLag`)
    /// and, from v4, the volume's total and usable bytes. Null topics = every partition; requested
    /// partitions not hosted here are left out, as in Kafka. A directory an I/O error took offline
    /// answers KAFKA_STORAGE_ERROR with no topics, as Kafka's does; the others answer normally.
    func describeLogDirs(_ request: DescribeLogDirsRequest, version: Int16) async -> DescribeLogDirsResponse {
        // Needs DESCRIBE on the cluster; refused, no directory is listed (the error shows from v3).
        if let refused = clusterAuthorizationError(.describe) { return DescribeLogDirsResponse(errorCode: refused, results: []) }
        let image = await controller.image
        var wanted: [(String, [Int32])] = []
        if let topics = request.topics {
            for t in topics { wanted.append((t.topic, t.partitions)) }
        } else {
            for (name, topic) in image.topics.sorted(by: { $0.key < $1.key }) {
                wanted.append((name, topic.partitions.keys.sorted()))
            }
        }
        let directories = controller.logDirectories
        var byDirectory = Array(repeating: [DescribeLogDirsResponse.Topic](), count: directories.count)
        for (name, indexes) in wanted {
            var partitions = Array(repeating: [DescribeLogDirsResponse.Partition](), count: directories.count)
            for index in indexes {
                let tp = TopicPartition(name, index)
                guard let partition = await controller.partition(tp), let directory = await controller.logDirectory(of: tp),
                      let slot = directories.firstIndex(where: { $0 === directory }) else { continue }
                let size = await partition.sizeBytes
                let lag = await partition.offsetLag
                partitions[slot].append(.init(partitionIndex: index, partitionSize: size, offsetLag: lag))
            }
            for slot in directories.indices where !partitions[slot].isEmpty {
                byDirectory[slot].append(.init(name: name, partitions: partitions[slot]))
            }
        }
        return DescribeLogDirsResponse(results: directories.enumerated().map { slot, directory in
            let path = Self.absolutePath(directory.path.string)
            if directory.isOffline { return .init(errorCode: .kafkaStorageError, logDir: path, topics: []) }
            let space = Self.volumeSpace(path)
            return .init(logDir: path, topics: byDirectory[slot], totalBytes: space?.total ?? -1, usableBytes: space?.usable ?? -1)
        })
    }

    static func absolutePath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Total and available bytes of the file system holding `path` (statvfs), nil if unknown.
    static func volumeSpace(_ path: String) -> (total: Int64, usable: Int64)? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let block = Int64(stats.f_frsize)
        return (Int64(stats.f_blocks) * block, Int64(stats.f_bavail) * block)
    }
}
