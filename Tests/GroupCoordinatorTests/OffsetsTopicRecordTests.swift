import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

// Byte-level vectors for the __consumer_offsets records, written by hand from Kafka's schemas
// (apache/kafka group-coordinator/src/main/resources/common/message/):
//   OffsetCommitKey.json    v0-1: group string, topic string, partition int32
//   OffsetCommitValue.json  v0-4 (flexible 4+): offset int64, leaderEpoch int32 (3+),
//                           metadata string, commitTimestamp int64, expireTimestamp int64 (v1 only)
//   GroupMetadataKey.json   v2: group string
//   GroupMetadataValue.json v0-4 (flexible 4+): protocolType string, generation int32,
//                           protocol string?, leader string?, currentStateTimestamp int64 (2+),
//                           members [memberId, groupInstanceId? (3+), clientId, clientHost,
//                           rebalanceTimeout int32 (1+), sessionTimeout int32, subscription bytes,
//                           assignment bytes]
// Every key and value starts with its int16 version. Non-flexible strings: int16 length; bytes and
// arrays: int32 length. Flexible: unsigned varint length + 1, and a tag buffer after each struct.
// Kafka reads a v0 member's rebalance timeout as its session timeout (GroupMetadataManager.scala
// readGroupMessageValue: `if (version == 0) sessionTimeout`).

private func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }
private func bytes(_ b: ByteBuffer?) -> [UInt8]? { b.map { Array($0.readableBytesView) } }

private let ts123: [UInt8] = [0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B]  // 1_700_000_000_123
private let ts000: [UInt8] = [0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00]  // 1_700_000_000_000
private let offset42: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0x2A]

@Suite("__consumer_offsets records and group placement")
struct OffsetsTopicRecordTests {
    static let offsetKey: [UInt8] = [0x00, 0x01] + [0x00, 0x03] + ascii("grp") + [0x00, 0x06] + ascii("orders") + [0, 0, 0, 7]
    static let groupKey: [UInt8] = [0x00, 0x02] + [0x00, 0x03] + ascii("grp")

    @Test("OffsetCommitKey v1 + OffsetCommitValue v3")
    func offsetCommitV3() throws {
        let value = CommittedOffset(offset: 42, leaderEpoch: 5, metadata: "meta", commitTimestampMs: 1_700_000_000_123)
        let record = OffsetsTopicRecord.offsetCommit(group: "grp", topic: "orders", partition: 7, value: value)
        let expectedValue: [UInt8] = [0x00, 0x03] + offset42 + [0, 0, 0, 5] + [0x00, 0x04] + ascii("meta") + ts123
        let (key, encoded) = record.encode()
        #expect(bytes(key) == Self.offsetKey)
        #expect(bytes(encoded) == expectedValue)
        #expect(try OffsetsTopicRecord.decode(key: buf(Self.offsetKey), value: buf(expectedValue)) == record)
    }

    @Test("GroupMetadataKey v2 + GroupMetadataValue v3 with two members")
    func groupMetadataV3() throws {
        let value = GroupMetadataValue(
            protocolType: "consumer", generationID: 3, protocolName: "range", leaderID: "m1",
            currentStateTimestampMs: 1_700_000_000_000,
            members: [
                .init(memberID: "m1", groupInstanceID: nil, clientID: "c1", clientHost: "/10.0.0.1", rebalanceTimeoutMs: 300_000,
                      sessionTimeoutMs: 45_000, subscription: buf([0xAA, 0xBB]), assignment: buf([0xCC])),
                .init(memberID: "m2", groupInstanceID: "i2", clientID: "c2", clientHost: "/h", rebalanceTimeoutMs: 60_000,
                      sessionTimeoutMs: 10_000, subscription: ByteBuffer(), assignment: ByteBuffer()),
            ])
        var expected: [UInt8] = [0x00, 0x03]
        expected += [0x00, 0x08] + ascii("consumer") + [0, 0, 0, 3] + [0x00, 0x05] + ascii("range") + [0x00, 0x02] + ascii("m1") + ts000
        expected += [0, 0, 0, 2]
        expected += [0x00, 0x02] + ascii("m1") + [0xFF, 0xFF] + [0x00, 0x02] + ascii("c1") + [0x00, 0x09] + ascii("/10.0.0.1")
        expected += [0x00, 0x04, 0x93, 0xE0] + [0x00, 0x00, 0xAF, 0xC8] + [0, 0, 0, 2, 0xAA, 0xBB] + [0, 0, 0, 1, 0xCC]
        expected += [0x00, 0x02] + ascii("m2") + [0x00, 0x02] + ascii("i2") + [0x00, 0x02] + ascii("c2") + [0x00, 0x02] + ascii("/h")
        expected += [0x00, 0x00, 0xEA, 0x60] + [0x00, 0x00, 0x27, 0x10] + [0, 0, 0, 0] + [0, 0, 0, 0]
        let record = OffsetsTopicRecord.groupMetadata(group: "grp", value: value)
        let (key, encoded) = record.encode()
        #expect(bytes(key) == Self.groupKey)
        #expect(bytes(encoded) == expected)
        #expect(try OffsetsTopicRecord.decode(key: buf(Self.groupKey), value: buf(expected)) == record)
    }

    @Test("GroupMetadataValue v3 of an Empty group: null protocol and leader, no members")
    func emptyGroupMetadataV3() {
        let value = GroupMetadataValue(protocolType: "consumer", generationID: 4, protocolName: nil, leaderID: nil,
                                       currentStateTimestampMs: 1_700_000_000_000, members: [])
        let expected: [UInt8] = [0x00, 0x03, 0x00, 0x08] + ascii("consumer") + [0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFF] + ts000 + [0, 0, 0, 0]
        #expect(bytes(OffsetsTopicRecord.groupMetadata(group: "grp", value: value).encode().value) == expected)
    }

    static let valueVersions: [(String, [UInt8], CommittedOffset)] = [
        ("v0", [0x00, 0x00] + offset42 + [0x00, 0x01] + ascii("m") + ts123,
         CommittedOffset(offset: 42, leaderEpoch: -1, metadata: "m", commitTimestampMs: 1_700_000_000_123)),
        ("v1 (expireTimestamp)", [0x00, 0x01] + offset42 + [0x00, 0x01] + ascii("m") + ts123 + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
         CommittedOffset(offset: 42, leaderEpoch: -1, metadata: "m", commitTimestampMs: 1_700_000_000_123)),
        ("v2", [0x00, 0x02] + offset42 + [0x00, 0x00] + ts123,
         CommittedOffset(offset: 42, leaderEpoch: -1, metadata: "", commitTimestampMs: 1_700_000_000_123)),
        ("v4 flexible", [0x00, 0x04] + offset42 + [0, 0, 0, 9] + [0x03] + ascii("ab") + ts123 + [0x00],
         CommittedOffset(offset: 42, leaderEpoch: 9, metadata: "ab", commitTimestampMs: 1_700_000_000_123)),
        ("v4 flexible with an unknown tagged field", [0x00, 0x04] + offset42 + [0, 0, 0, 9] + [0x01] + ts123 + [0x01, 0x05, 0x01, 0x7F],
         CommittedOffset(offset: 42, leaderEpoch: 9, metadata: "", commitTimestampMs: 1_700_000_000_123)),
    ]

    @Test("OffsetCommitValue versions 0, 1, 2 and 4 decode", arguments: valueVersions)
    func offsetValueVersions(_ name: String, _ value: [UInt8], _ expected: CommittedOffset) throws {
        let decoded = try OffsetsTopicRecord.decode(key: buf(Self.offsetKey), value: buf(value))
        #expect(decoded == .offsetCommit(group: "grp", topic: "orders", partition: 7, value: expected), "\(name)")
    }

    @Test("GroupMetadataValue v0, v1, v2 and v4 (flexible) decode")
    func groupValueVersions() throws {
        let head: [UInt8] = [0x00, 0x08] + ascii("consumer") + [0, 0, 0, 2] + [0x00, 0x05] + ascii("range") + [0x00, 0x02] + ascii("m1")
        let m1: [UInt8] = [0x00, 0x02] + ascii("m1") + [0x00, 0x02] + ascii("c1") + [0x00, 0x02] + ascii("/h")
        let session: [UInt8] = [0x00, 0x00, 0x27, 0x10]
        let rebalance: [UInt8] = [0x00, 0x00, 0xEA, 0x60]
        let payload: [UInt8] = [0, 0, 0, 1, 0xAA] + [0, 0, 0, 1, 0xBB]
        func member(instance: String?, rebalance: Int32, subscription: [UInt8] = [0xAA], assignment: [UInt8] = [0xBB]) -> GroupMetadataValue.Member {
            .init(memberID: "m1", groupInstanceID: instance, clientID: "c1", clientHost: "/h", rebalanceTimeoutMs: rebalance,
                  sessionTimeoutMs: 10_000, subscription: buf(subscription), assignment: buf(assignment))
        }
        func value(_ ts: Int64, _ m: GroupMetadataValue.Member) -> GroupMetadataValue {
            GroupMetadataValue(protocolType: "consumer", generationID: 2, protocolName: "range", leaderID: "m1",
                               currentStateTimestampMs: ts, members: [m])
        }
        let v0: [UInt8] = [0x00, 0x00] + head + [0, 0, 0, 1] + m1 + session + payload
        let v1: [UInt8] = [0x00, 0x01] + head + [0, 0, 0, 1] + m1 + rebalance + session + payload
        let v2: [UInt8] = [0x00, 0x02] + head + ts000 + [0, 0, 0, 1] + m1 + rebalance + session + payload
        var v4: [UInt8] = [0x00, 0x04, 0x09] + ascii("consumer") + [0, 0, 0, 2, 0x06] + ascii("range") + [0x03] + ascii("m1") + ts000
        v4 += [0x02]  // one member
        v4 += [0x03] + ascii("m1") + [0x03] + ascii("i1") + [0x03] + ascii("c1") + [0x03] + ascii("/h") + rebalance + session
        v4 += [0x02, 0xAA] + [0x02, 0xBB] + [0x00]  // subscription, assignment, member tag buffer
        v4 += [0x00]  // top-level tag buffer
        let cases: [([UInt8], GroupMetadataValue)] = [
            (v0, value(-1, member(instance: nil, rebalance: 10_000))),
            (v1, value(-1, member(instance: nil, rebalance: 60_000))),
            (v2, value(1_700_000_000_000, member(instance: nil, rebalance: 60_000))),
            (v4, value(1_700_000_000_000, member(instance: "i1", rebalance: 60_000))),
        ]
        for (i, (bytes, expected)) in cases.enumerated() {
            let decoded = try OffsetsTopicRecord.decode(key: buf(Self.groupKey), value: buf(bytes))
            #expect(decoded == .groupMetadata(group: "grp", value: expected), "case \(i)")
        }
    }

    @Test("tombstones: a null value encodes and decodes as a deletion")
    func tombstones() throws {
        let offset = OffsetsTopicRecord.offsetCommit(group: "grp", topic: "orders", partition: 7, value: nil).encode()
        #expect(bytes(offset.key) == Self.offsetKey)
        #expect(offset.value == nil)
        #expect(try OffsetsTopicRecord.decode(key: buf(Self.offsetKey), value: nil) == .offsetCommit(group: "grp", topic: "orders", partition: 7, value: nil))
        let group = OffsetsTopicRecord.groupMetadata(group: "grp", value: nil).encode()
        #expect(bytes(group.key) == Self.groupKey)
        #expect(group.value == nil)
        #expect(try OffsetsTopicRecord.decode(key: buf(Self.groupKey), value: nil) == .groupMetadata(group: "grp", value: nil))
    }

    @Test("key versions: 0 is an offset commit like 1; unknown versions are skipped (nil)")
    func keyVersions() throws {
        let v0Key: [UInt8] = [0x00, 0x00] + Array(Self.offsetKey.dropFirst(2))
        #expect(try OffsetsTopicRecord.decode(key: buf(v0Key), value: nil) == .offsetCommit(group: "grp", topic: "orders", partition: 7, value: nil))
        for version: UInt8 in [3, 4, 5, 9] {
            let key: [UInt8] = [0x00, version] + [0x00, 0x03] + ascii("grp")
            #expect(try OffsetsTopicRecord.decode(key: buf(key), value: buf([0x00, 0x00])) == nil)
        }
    }

    // Java String.hashCode: s[0]*31^(n-1) + … + s[n-1] over UTF-16 code units, Int32 wrapping.
    // Values computed independently from that formula.
    @Test("javaStringHash matches Java's String.hashCode",
          arguments: [
              ("", Int32(0)), ("a", 97), ("ab", 3105), ("hello", 99_162_322), ("group-1", 293_427_299),
              ("my-group", -1_906_497_762), ("console-consumer-12345", 158_455_506),
              ("grüppe", -1_233_264_812),  // ü = U+00FC, one UTF-16 unit
              ("g😀", 1_871_882),  // U+1F600 = surrogate pair D83D DE00
              ("polygenelubricants", Int32.min),
          ])
    func javaHash(_ s: String, _ expected: Int32) {
        #expect(GroupCoordinator.javaStringHash(s) == expected)
    }

    @Test("partition(for:) is Utils.abs(hashCode) % partitions, with Integer.MIN_VALUE → 0",
          arguments: [
              ("", Int32(0), Int32(0)), ("a", 47, 6), ("hello", 22, 0), ("group-1", 49, 4), ("my-group", 12, 1),
              ("grüppe", 12, 3), ("g😀", 32, 5), ("polygenelubricants", 0, 0),
          ])
    func partitionFor(_ group: String, _ of50: Int32, _ of7: Int32) {
        let fifty = GroupCoordinator(partitionCount: 50, store: NoStore(), limits: .test(), logger: .init(label: "test"))
        let seven = GroupCoordinator(partitionCount: 7, store: NoStore(), limits: .test(), logger: .init(label: "test"))
        #expect(fifty.partition(for: group) == of50)
        #expect(seven.partition(for: group) == of7)
    }
}

/// A store the placement tests never touch.
struct NoStore: OffsetsTopicStore {
    func append(partition: Int32, records: [(key: ByteBuffer, value: ByteBuffer?)], timestampMs: Int64) async throws -> Int64 {
        throw OffsetsTopicStoreError(errorCode: .notCoordinator, description: "no store")
    }

    func read(partition: Int32, from offset: Int64, maxBytes: Int) async throws
        -> (records: [(offset: Int64, key: ByteBuffer?, value: ByteBuffer?)], nextOffset: Int64, logEndOffset: Int64) {
        ([], 0, 0)
    }
}
