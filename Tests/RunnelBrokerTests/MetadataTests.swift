import Foundation
import KafkaProtocol
import LogStorage
import NIOCore
@testable import RunnelBroker
import SystemPackage
import Testing

let idA = UUIDBytes(high: 0x0011_2233_4455_6677, low: 0x8899_AABB_CCDD_EEFF)
let idB = UUIDBytes(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10)

func partitionRecord(_ p: Int32, _ id: UUIDBytes, leaderEpoch: Int32 = 0) -> MetadataRecord {
    .partition(.init(partitionID: p, topicID: id, replicas: [1], isr: [1], leader: 1, leaderEpoch: leaderEpoch, partitionEpoch: 0))
}

/// KRaft metadata record framing and fields.
@Suite struct MetadataRecordTests {
    static let allCases: [MetadataRecord] = [
        .topic(name: "orders", topicID: idA),
        .topic(name: String(repeating: "x", count: 249), topicID: idB),
        .partition(.init(partitionID: 0, topicID: idA, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0)),
        .partition(.init(partitionID: 7, topicID: idB, replicas: [3, 1, 2], isr: [1, 3], leader: 3, leaderEpoch: 12, partitionEpoch: 40)),
        .partition(.init(partitionID: 2, topicID: idB, replicas: [], isr: [], leader: -1, leaderEpoch: -1, partitionEpoch: 0)),
        .config(resourceType: MetadataRecord.topicResourceType, resourceName: "orders", name: "segment.bytes", value: "1048576"),
        .config(resourceType: MetadataRecord.topicResourceType, resourceName: "orders", name: "segment.bytes", value: nil),
        .config(resourceType: 4, resourceName: "1", name: "log.segment.bytes", value: ""),
        .removeTopic(topicID: idA),
        .producerIDs(brokerID: 1, brokerEpoch: 0, nextProducerID: 5000),
    ]

    @Test(arguments: allCases)
    func roundTrip(_ record: MetadataRecord) throws {
        let bytes = record.encoded()
        #expect(try MetadataRecord.decode(bytes) == record)
        #expect(bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) == 1, "frame version 1")
    }

    @Test func topicRecordBytes() {
        let expected: [UInt8] = [
            0x01,                    // frame version (unsigned varint)
            0x02,                    // api key: TopicRecord
            0x00,                    // record version 0
            0x04, 0x66, 0x6F, 0x6F,  // compact string "foo" (length + 1)
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
            0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, // topic id
            0x00,                    // empty tagged fields
        ]
        let bytes = MetadataRecord.topic(name: "foo", topicID: idA).encoded()
        #expect(Array(bytes.readableBytesView) == expected)
    }

    @Test func removeTopicAndConfigRecordBytes() {
        let remove = MetadataRecord.removeTopic(topicID: idB).encoded()
        #expect(Array(remove.readableBytesView) == [0x01, 0x09, 0x00] + idB.bytes + [0x00])
        let config = MetadataRecord.config(resourceType: 2, resourceName: "t", name: "k", value: nil).encoded()
        // type int8 2, compact "t", compact "k", null compact string (0), tags.
        #expect(Array(config.readableBytesView) == [0x01, 0x04, 0x00, 0x02, 0x02, 0x74, 0x02, 0x6B, 0x00, 0x00])
        let partition = MetadataRecord.partition(.init(partitionID: 1, topicID: idB, replicas: [1], isr: [1],
                                                       leader: 1, leaderEpoch: 2, partitionEpoch: 3)).encoded()
        let expected: [UInt8] = [0x01, 0x03, 0x00, 0, 0, 0, 1] + idB.bytes
            + [0x02, 0, 0, 0, 1] + [0x02, 0, 0, 0, 1] + [0x01] + [0x01]   // replicas, isr, removing, adding
            + [0, 0, 0, 1] + [0, 0, 0, 2] + [0, 0, 0, 3] + [0x00]         // leader, epochs, tags
        #expect(Array(partition.readableBytesView) == expected)
    }

    @Test func unknownRecordTypesAreSkipped() throws {
        // Api key 12 (FeatureLevelRecord) is a record type Runnel does not use (it is skipped on replay).
        #expect(try MetadataRecord.decode(ByteBuffer(bytes: [0x01, 0x0C, 0x00, 0x00])) == nil)
    }

    @Test func badFrameVersionOrTruncatedBytesThrow() {
        var wrongFrame = MetadataRecord.removeTopic(topicID: idA).encoded()
        wrongFrame.setInteger(UInt8(0), at: 0)
        #expect(throws: (any Error).self) { try MetadataRecord.decode(wrongFrame) }
        let full = MetadataRecord.topic(name: "foo", topicID: idA).encoded()
        #expect(throws: (any Error).self) { try MetadataRecord.decode(full.getSlice(at: 0, length: 10)!) }
    }
}

/// Applying records to the in-memory image.
@Suite struct MetadataImageTests {
    @Test func topicsPartitionsAndConfigs() throws {
        var image = MetadataImage()
        image.apply(.topic(name: "a", topicID: idA))
        image.apply(partitionRecord(0, idA))
        image.apply(partitionRecord(1, idA, leaderEpoch: 4))
        image.apply(.config(resourceType: 2, resourceName: "a", name: "segment.bytes", value: "2048"))
        image.apply(.config(resourceType: 2, resourceName: "a", name: "max.message.bytes", value: "100"))
        image.apply(.topic(name: "b", topicID: idB))

        let a = try #require(image.topics["a"])
        #expect(a.name == "a")
        #expect(a.topicID == idA)
        #expect(a.partitions.keys.sorted() == [0, 1])
        #expect(a.partitions[1] == MetadataImage.PartitionImage(partitionID: 1, replicas: [1], isr: [1], leader: 1,
                                                                 leaderEpoch: 4, partitionEpoch: 0))
        #expect(a.configs == ["segment.bytes": "2048", "max.message.bytes": "100"])
        #expect(image.topic(id: idA)?.name == "a")
        #expect(image.topic(id: idB)?.partitions.isEmpty == true)

        // A null value deletes a config; a later value replaces one; broker configs are not topic configs.
        image.apply(.config(resourceType: 2, resourceName: "a", name: "max.message.bytes", value: nil))
        image.apply(.config(resourceType: 2, resourceName: "a", name: "segment.bytes", value: "4096"))
        image.apply(.config(resourceType: 4, resourceName: "a", name: "log.segment.bytes", value: "1"))
        #expect(image.topics["a"]?.configs == ["segment.bytes": "4096"])
        // A partition change replaces the partition.
        image.apply(partitionRecord(1, idA, leaderEpoch: 5))
        #expect(image.topics["a"]?.partitions[1]?.leaderEpoch == 5)
    }

    @Test func removeTopic() {
        var image = MetadataImage()
        image.apply(.topic(name: "a", topicID: idA))
        image.apply(partitionRecord(0, idA))
        image.apply(.topic(name: "b", topicID: idB))
        image.apply(.removeTopic(topicID: idA))
        #expect(image.topics.keys.sorted() == ["b"])
        #expect(image.topic(id: idA) == nil)
        // The name can be reused with a new ID.
        let idC = UUIDBytes(high: 3, low: 3)
        image.apply(.topic(name: "a", topicID: idC))
        image.apply(partitionRecord(0, idC))
        #expect(image.topics["a"]?.topicID == idC)
        #expect(image.topics["a"]?.partitions.count == 1)
    }

    @Test func recordsForUnknownTopicsAreIgnored() {
        var image = MetadataImage()
        image.apply(.topic(name: "a", topicID: idA))
        let before = image
        image.apply(partitionRecord(0, idB))
        image.apply(.config(resourceType: 2, resourceName: "nope", name: "segment.bytes", value: "100"))
        image.apply(.removeTopic(topicID: idB))
        #expect(image == before)
        // Records that follow a removal are ignored too.
        image.apply(.removeTopic(topicID: idA))
        image.apply(partitionRecord(0, idA))
        image.apply(.config(resourceType: 2, resourceName: "a", name: "segment.bytes", value: "100"))
        #expect(image == MetadataImage())
    }
}

/// The `__cluster_metadata-0` log: append, reopen, replay, torn tail.
@Suite struct MetadataLogTests {
    static let changes: [[MetadataRecord]] = [
        [.topic(name: "a", topicID: idA), partitionRecord(0, idA), partitionRecord(1, idA)],
        [.topic(name: "b", topicID: idB), .config(resourceType: 2, resourceName: "b", name: "segment.bytes", value: "1048576"),
         partitionRecord(0, idB)],
        [.config(resourceType: 2, resourceName: "a", name: "message.timestamp.type", value: "LogAppendTime")],
        [.removeTopic(topicID: idA)],
    ]

    static func image(of changes: [[MetadataRecord]]) -> MetadataImage {
        var image = MetadataImage()
        for change in changes { for record in change { image.apply(record) } }
        return image
    }

    @Test func replayAfterReopenAndAfterATornTail() throws {
        try withTemporaryDirectory { dir throws in
            let segment = "\(dir)/\(MetadataLog.directoryName)/00000000000000000000.log"
            var sizeBeforeLast = 0
            do {
                let log = try MetadataLog(logDirectory: FilePath(dir), logger: quietLogger)
                #expect(try log.replay() == MetadataImage())
                for (i, change) in Self.changes.enumerated() {
                    if i == Self.changes.count - 1 {
                        sizeBeforeLast = (try FileManager.default.attributesOfItem(atPath: segment)[.size] as? NSNumber)?.intValue ?? -1
                    }
                    try log.append(change, nowMs: 1_700_000_000_000 + Int64(i))
                }
                try log.append([], nowMs: 0) // nothing to write
                #expect(log.logEndOffset == Int64(Self.changes.map(\.count).reduce(0, +)))
                #expect(try log.replay() == Self.image(of: Self.changes))
                log.close()
            }
            do {
                let log = try MetadataLog(logDirectory: FilePath(dir), logger: quietLogger)
                defer { log.close() }
                let image = try log.replay()
                #expect(image == Self.image(of: Self.changes))
                #expect(image.topics.keys.sorted() == ["b"])
                #expect(image.topics["b"]?.configs == ["segment.bytes": "1048576"])
            }

            // Tear the last batch (the RemoveTopicRecord) in half.
            let fullSize = (try FileManager.default.attributesOfItem(atPath: segment)[.size] as? NSNumber)?.intValue ?? -1
            #expect(sizeBeforeLast > 0 && fullSize > sizeBeforeLast)
            let handle = try #require(FileHandle(forWritingAtPath: segment))
            try handle.truncate(atOffset: UInt64(sizeBeforeLast + (fullSize - sizeBeforeLast) / 2))
            try handle.close()

            let log = try MetadataLog(logDirectory: FilePath(dir), logger: quietLogger)
            defer { log.close() }
            let image = try log.replay()
            #expect(image == Self.image(of: Array(Self.changes.dropLast())))
            #expect(image.topics.keys.sorted() == ["a", "b"])
            #expect(image.topics["a"]?.configs == ["message.timestamp.type": "LogAppendTime"])
            #expect(image.topics["a"]?.partitions.count == 2)
            #expect(log.logEndOffset == Int64(Self.changes.dropLast().map(\.count).reduce(0, +)))
        }
    }
}

/// `meta.properties`.
@Suite struct MetaPropertiesTests {
    @Test func createdOnceThenReloaded() throws {
        try withTemporaryDirectory { dir throws in
            let first = try MetaProperties.loadOrCreate(directory: dir, nodeID: 3)
            #expect(first.nodeID == 3)
            #expect(first.clusterID.count == 22)
            let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            #expect(first.clusterID.allSatisfy { alphabet.contains($0) })
            #expect(UUIDBytes(base64: first.clusterID) != nil)

            let text = try readText("\(dir)/meta.properties")
            let props = Dictionary(try BrokerConfig.parseProperties(text, path: "meta.properties").map { ($0.key, $0.value) },
                                   uniquingKeysWith: { $1 })
            #expect(props == ["version": "1", "cluster.id": first.clusterID, "node.id": "3", "directory.id": first.directoryID.description])
            #expect(first.directoryID != .zero)
            #expect(!fileExists("\(dir)/meta.properties.tmp"))

            let second = try MetaProperties.loadOrCreate(directory: dir, nodeID: 3)
            #expect(second == first)
            #expect(try readText("\(dir)/meta.properties") == text)
        }
    }

    @Test func differentNodeIDIsRefused() throws {
        try withTemporaryDirectory { dir throws in
            let meta = try MetaProperties.loadOrCreate(directory: dir, nodeID: 1)
            let error = #expect(throws: ConfigError.self) { try MetaProperties.loadOrCreate(directory: dir, nodeID: 2) }
            guard case .invalidValue(let key, let value, _)? = error else {
                Issue.record("expected invalidValue, got \(String(describing: error))")
                return
            }
            #expect(key == "node.id")
            #expect(value == "2")
            // The file is untouched.
            #expect(try MetaProperties.loadOrCreate(directory: dir, nodeID: 1) == meta)
        }
    }

    @Test func fileWithoutDirectoryIDGetsOneThatStays() throws {
        try withTemporaryDirectory { dir throws in
            try "version=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\nnode.id=1\n".write(toFile: "\(dir)/meta.properties", atomically: true, encoding: .utf8)
            let upgraded = try MetaProperties.loadOrCreate(directory: dir, nodeID: 1)
            #expect(upgraded.clusterID == "MkU3OEVBNTcwNTJENDM2Qk")
            #expect(upgraded.directoryID != .zero)
            #expect(try MetaProperties.loadOrCreate(directory: dir, nodeID: 1) == upgraded)
        }
    }

    @Test func fileWithoutClusterIDIsRefused() throws {
        try withTemporaryDirectory { dir throws in
            try "version=1\nnode.id=1\n".write(toFile: "\(dir)/meta.properties", atomically: true, encoding: .utf8)
            #expect(throws: ConfigError.self) { try MetaProperties.loadOrCreate(directory: dir, nodeID: 1) }
        }
    }
}

/// Kafka's topic name rule.
@Suite struct TopicNameTests {
    @Test(arguments: ["", ".", "..", String(repeating: "a", count: 250), "a b", "é", "a/b", "a\\b", "a:b", "a\u{0}b", "tab\t"])
    func illegal(_ name: String) {
        #expect(TopicName.problem(name) != nil)
    }

    @Test(arguments: ["a.b_c-D9", String(repeating: "z", count: 249), "a", "...", ".a", "__consumer_offsets", "0"])
    func legal(_ name: String) {
        #expect(TopicName.problem(name) == nil)
    }
}
