import Foundation
import KafkaProtocol
import LogStorage
import NIOCore
import Raft
@testable import RunnelBroker
import SystemPackage
import Testing

/// The metadata quorum's on-disk and on-wire forms: entries as record batches, the quorum store's
/// persistence and recovery, and the cluster settings.
@Suite struct QuorumStorageTests {
    static let topicID = UUIDBytes(high: 0x0102_0304_0506_0708, low: 0x090a_0b0c_0d0e_0f10)

    static func dataEntry(_ offset: Int64, epoch: Int32, _ records: [MetadataRecord]) -> LogEntry<MetadataBatch> {
        LogEntry(offset: Offset(offset), epoch: LeaderEpoch(epoch), record: .data(MetadataBatch(records)))
    }

    static let change = LeaderChangeMessage(leaderID: 2, voters: [1, 2, 3], grantingVoters: [2, 3])

    @Test func leaderChangeIsAControlBatchWithKRaftsLayout() throws {
        let entry = LogEntry<MetadataBatch>(offset: 7, epoch: 4, record: .leaderChange(Self.change))
        let batch = MetadataEntryCodec.encode(entry)
        let header = try #require(RecordBatchHeader.peek(batch, at: batch.readerIndex))
        #expect(header.baseOffset == 7)
        #expect(header.partitionLeaderEpoch == 4)
        #expect(header.isControl)
        #expect(header.recordsCount == 1 && header.lastOffsetDelta == 0)
        #expect(RecordBatchHeader.crcMatches(batch, at: batch.readerIndex, header: header))
        let record = try #require(try RecordBatchHeader.uncompressedRecords(of: batch).first)
        // Control key: version 0, type 2 (LEADER_CHANGE).
        #expect(Array(record.key!.readableBytesView) == [0, 0, 0, 2])
        // LeaderChangeMessage v0 (flexible): version, leader 2, voters [1,2,3], granting [2,3], no tags.
        #expect(Array(record.value!.readableBytesView) == [
            0, 0, 0, 0, 0, 2,
            4, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0,
            3, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0,
            0,
        ])
        let decoded = try MetadataEntryCodec.decodeAll(batch)
        #expect(decoded == [entry])
    }

    @Test func dataEntriesRoundTripWithEveryRecord() throws {
        let records: [MetadataRecord] = [
            .topic(name: "orders", topicID: Self.topicID),
            .partition(.init(partitionID: 0, topicID: Self.topicID, replicas: [2], isr: [2], leader: 2, leaderEpoch: 0, partitionEpoch: 0)),
            .config(resourceType: MetadataRecord.topicResourceType, resourceName: "orders", name: "retention.ms", value: "1000"),
            .fenceBroker(brokerID: 3, brokerEpoch: 12),
        ]
        let entries = [Self.dataEntry(0, epoch: 1, records), Self.dataEntry(1, epoch: 1, []),
                       Self.dataEntry(2, epoch: 3, [.removeTopic(topicID: Self.topicID)])]
        var bytes = ByteBuffer()
        for e in entries {
            var b = MetadataEntryCodec.encode(e)
            bytes.writeBuffer(&b)
        }
        #expect(try MetadataEntryCodec.decodeAll(bytes) == entries)
    }

    @Test func aFlippedByteFailsTheCRC() throws {
        var batch = MetadataEntryCodec.encode(Self.dataEntry(0, epoch: 1, [.fenceBroker(brokerID: 1, brokerEpoch: 1)]))
        let last = batch.writerIndex - 1
        batch.setInteger(batch.getInteger(at: last, as: UInt8.self)! ^ 0x40, at: last)
        #expect(throws: ProtocolError.self) { try MetadataEntryCodec.decodeAll(batch) }
    }

    @Test func storePersistsAndReloadsEveryAction() throws {
        try withTemporaryDirectory { dir in
            let path = FilePath(dir).appending("__cluster_metadata-0")
            var expected = RaftPersistentState<MetadataBatch>()
            let actions: [PersistAction<MetadataBatch>] = [
                .setQuorumState(QuorumStateRecord(leaderEpoch: 1, leaderID: nil, votedID: 2)),
                .setQuorumState(QuorumStateRecord(leaderEpoch: 1, leaderID: 2, votedID: 2)),
                .appendEntries([LogEntry(offset: 0, epoch: 1, record: .leaderChange(Self.change)),
                                Self.dataEntry(1, epoch: 1, [.topic(name: "a", topicID: Self.topicID)])]),
                .appendEntries([Self.dataEntry(2, epoch: 1, [.fenceBroker(brokerID: 1, brokerEpoch: 0)]),
                                Self.dataEntry(3, epoch: 1, [.unfenceBroker(brokerID: 1, brokerEpoch: 0)])]),
                .truncateLog(from: 3),
                .appendEntries([Self.dataEntry(3, epoch: 2, [])]),
            ]
            do {
                let store = try QuorumStore(directory: path, logger: quietLogger)
                try store.persist(actions)
                store.close()
            }
            for a in actions { expected.apply(a) }
            let reopened = try QuorumStore(directory: path, logger: quietLogger)
            #expect(reopened.persistentState.quorumState == expected.quorumState)
            #expect(reopened.persistentState.log.entries == expected.log.entries)
            #expect(reopened.persistentState.log.endOffset == 4)
            // A node restarted from it agrees.
            reopened.close()
        }
    }

    @Test func aTornTailIsCutAtStart() throws {
        try withTemporaryDirectory { dir in
            let path = FilePath(dir).appending("__cluster_metadata-0")
            do {
                let store = try QuorumStore(directory: path, logger: quietLogger)
                try store.persist([.appendEntries([Self.dataEntry(0, epoch: 1, []), Self.dataEntry(1, epoch: 1, [])])])
                store.close()
            }
            let logPath = path.appending(QuorumStore.logFileName).string
            let whole = try Data(contentsOf: URL(fileURLWithPath: logPath))
            // Cut the last batch at every byte boundary: the first entry always survives, the
            // second only when whole.
            let firstSize = Int(RecordBatchHeader.peek(ByteBuffer(bytes: whole), at: 0)!.totalSize)
            for cut in stride(from: whole.count - 1, to: firstSize, by: -7) {
                try whole.prefix(cut).write(to: URL(fileURLWithPath: logPath))
                let store = try QuorumStore(directory: path, logger: quietLogger)
                #expect(store.persistentState.log.endOffset == 1)
                store.close()
                #expect(try Data(contentsOf: URL(fileURLWithPath: logPath)).count == firstSize)
            }
        }
    }

    @Test func prefixDeletionAndResetKeepTheStartOffset() throws {
        try withTemporaryDirectory { dir in
            let path = FilePath(dir).appending("__cluster_metadata-0")
            let snapshot = RaftSnapshot(id: SnapshotID(offset: 2, epoch: 1), payload: [1, 2, 3])
            do {
                let store = try QuorumStore(directory: path, logger: quietLogger)
                try store.persist([.appendEntries((0..<4).map { Self.dataEntry($0, epoch: 1, []) }),
                                   .installSnapshot(snapshot), .deleteLogPrefix(before: 2)])
                store.close()
            }
            var store = try QuorumStore(directory: path, logger: quietLogger)
            #expect(store.persistentState.log.startOffset == 2)
            #expect(store.persistentState.log.entries.map(\.offset) == [2, 3])
            #expect(store.persistentState.log.snapshot == snapshot)
            try store.persist([.resetLog(startOffset: 9)])
            store.close()
            store = try QuorumStore(directory: path, logger: quietLogger)
            #expect(store.persistentState.log.startOffset == 9 && store.persistentState.log.entries.isEmpty)
            store.close()
        }
    }

    @Test func clusterSettingsParseAndRefuseWithTheFix() throws {
        let ok = try BrokerConfig(overrides: [
            ("node.id", "2"), ("process.roles", "broker,controller"),
            ("listeners", "PLAINTEXT://localhost:9094,CONTROLLER://localhost:9095"),
            ("controller.quorum.voters", "1@localhost:9093,2@localhost:9095,3@[::1]:9097"),
        ])
        let settings = try #require(try ClusterSettings.parse(ok))
        #expect(settings.roles == [.broker, .controller])
        #expect(settings.voters.map(\.id) == [1, 2, 3] && settings.voter(3)?.host == "::1")
        #expect(settings.controllerListener?.port == 9095)
        #expect(try ok.advertisedListeners.map(\.port) == [9094])
        #expect(settings.clusterID(configured: "") == settings.clusterID(configured: ""))
        #expect(settings.clusterID(configured: "abc") == "abc")
        #expect(try ClusterSettings.parse(BrokerConfig()) == nil)

        func refused(_ overrides: [(key: String, value: String)], _ key: String, _ reason: String) {
            #expect {
                _ = try BrokerConfig(overrides: overrides)
            } throws: { error in
                guard case ConfigError.invalidValue(let k, _, let r) = error else { return false }
                return k == key && r.contains(reason)
            }
        }
        refused([("controller.quorum.voters", "1@localhost:9093")], "controller.quorum.voters", "set process.roles")
        refused([("process.roles", "broker")], "controller.quorum.voters", "needs its voters")
        refused([("process.roles", "broker,leader"), ("controller.quorum.voters", "1@h:1")], "process.roles", "allowed roles")
        refused([("process.roles", "controller"), ("controller.quorum.voters", "2@localhost:9093"),
                 ("listeners", "CONTROLLER://localhost:9093")], "controller.quorum.voters", "is not a voter")
        refused([("process.roles", "broker,controller"), ("controller.quorum.voters", "1@localhost:9093")],
                "listeners", "needs a listener named in controller.listener.names")
        refused([("process.roles", "broker"), ("controller.quorum.voters", "1@localhost")], "controller.quorum.voters", "id@host:port")
        refused([("process.roles", "broker"), ("controller.quorum.voters", "1@a:1,1@b:2")], "controller.quorum.voters", "listed twice")
        refused([("listeners", "SECRET://localhost:9092")], "listeners", "not in listener.security.protocol.map")
        refused([("process.roles", "broker,controller"), ("listeners", "PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093"),
                 ("controller.quorum.voters", "1@localhost:9099")], "controller.quorum.voters", "names port 9099")
    }
}
