import Foundation
import KafkaProtocol

extension Controller {
    /// Removes partition directories this broker holds but the metadata image does not place here
    /// (topics deleted, or deleted and created again, while the broker was down, in any log directory; Kafka's "stray
    /// logs", KIP-858). Called once the active controller has unfenced this broker, which means it
    /// applied the metadata log up to its own registration, so the image is complete enough to
    /// judge. A directory is only removed if it has a `partition.metadata` file (it is a partition
    /// log) and no open partition owns it.
    func removeStrayPartitions() {
        guard cluster != nil, hostsPartitions else { return }
        let owned = Set(partitions.keys.map(\.directoryName))
        for directory in logDirectories where !directory.isOffline {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path.string) else { continue }
            for name in names.sorted() where !owned.contains(name) && name != MetadataLog.directoryName && !name.hasPrefix(".") {
                let dir = directory.path.appending(name)
                guard let text = MetaProperties.readText(dir.appending("partition.metadata").string),
                      let idLine = text.split(separator: "\n").first(where: { $0.hasPrefix("topic_id:") })
                else { continue }
                let topicID = idLine.dropFirst("topic_id:".count).trimmingCharacters(in: .whitespaces)
                let doomed = directory.path.appending("\(name).\(topicID)-delete").string
                if rename(dir.string, doomed) == 0 {
                    try? FileManager.default.removeItem(atPath: doomed)
                    placement.remove(name)
                    logger.info("removed a stray partition log: not placed on this broker in the metadata image",
                                metadata: ["log.dir": "\(directory.path)", "dir": "\(name)", "topic.id": "\(topicID)"])
                }
            }
        }
    }
}
