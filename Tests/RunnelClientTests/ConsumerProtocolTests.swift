import NIOCore
import Testing
@testable import RunnelClient

@Suite("Consumer protocol encoding")
struct ConsumerProtocolTests {
    @Test("a v0 subscription as the Java client writes it decodes")
    func decodesJavaV0Subscription() throws {
        // version 0, topics ["orders", "t"], user data null.
        let bytes: [UInt8] = [0, 0, 0, 0, 0, 2, 0, 6] + Array("orders".utf8) + [0, 1, 0x74, 0xff, 0xff, 0xff, 0xff]
        let subscription = try ConsumerProtocol.decodeSubscription(ByteBuffer(bytes: bytes))
        #expect(subscription.topics == ["orders", "t"])
        #expect(subscription.userData == nil)
        #expect(subscription.ownedPartitions.isEmpty)
    }

    @Test("a v3 subscription (owned partitions, generation, rack) decodes; unknown trailing fields are ignored")
    func decodesNewerSubscription() throws {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int16(3))
        buffer.writeInteger(Int32(1)); buffer.writeInteger(Int16(1)); buffer.writeString("t")
        buffer.writeInteger(Int32(2)); buffer.writeBytes([9, 9])                 // user data
        buffer.writeInteger(Int32(1)); buffer.writeInteger(Int16(1)); buffer.writeString("t")
        buffer.writeInteger(Int32(2)); buffer.writeInteger(Int32(0)); buffer.writeInteger(Int32(3))
        buffer.writeInteger(Int32(7))                                             // generation
        buffer.writeInteger(Int16(2)); buffer.writeString("r1")                  // rack
        let subscription = try ConsumerProtocol.decodeSubscription(buffer)
        #expect(subscription.topics == ["t"])
        #expect(subscription.userData == ByteBuffer(bytes: [9, 9]))
        #expect(subscription.ownedPartitions == [TopicPartition(topic: "t", partition: 0), TopicPartition(topic: "t", partition: 3)])
        #expect(subscription.generationID == 7)
    }

    @Test("subscription and assignment round-trip; the assignment bytes are exactly the v0 layout")
    func roundTrips() throws {
        let subscription = ConsumerProtocol.Subscription(topics: ["a", "b"], userData: nil,
                                                         ownedPartitions: [TopicPartition(topic: "a", partition: 1)])
        let decoded = try ConsumerProtocol.decodeSubscription(ConsumerProtocol.encode(subscription))
        #expect(decoded.topics == ["a", "b"] && decoded.ownedPartitions == subscription.ownedPartitions)

        let assignment = ConsumerProtocol.Assignment(partitions: [TopicPartition(topic: "t", partition: 2),
                                                                  TopicPartition(topic: "t", partition: 0)], userData: nil)
        let bytes = ConsumerProtocol.encode(assignment)
        #expect(Array(bytes.readableBytesView) == [0, 0, 0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2,
                                                    0xff, 0xff, 0xff, 0xff])
        #expect(try ConsumerProtocol.decodeAssignment(bytes).partitions == [TopicPartition(topic: "t", partition: 0),
                                                                             TopicPartition(topic: "t", partition: 2)])
    }

    @Test("an empty assignment buffer (a member given nothing) is an empty assignment; truncated input throws")
    func emptyAndTruncated() throws {
        #expect(try ConsumerProtocol.decodeAssignment(ByteBuffer()).partitions.isEmpty)
        #expect(throws: ClientError.self) { try ConsumerProtocol.decodeSubscription(ByteBuffer(bytes: [0, 0, 0, 0, 0, 1, 0, 5])) }
    }
}

@Suite("Assignors")
struct AssignorTests {
    func tp(_ topic: String, _ partition: Int32) -> TopicPartition { TopicPartition(topic: topic, partition: partition) }

    @Test("range: contiguous ranges per topic over members sorted by id, extras to the first")
    func range() {
        let members = [Assignors.Member(memberID: "c", topics: ["t"]), Assignors.Member(memberID: "a", topics: ["t", "u"]),
                       Assignors.Member(memberID: "b", topics: ["t"])]
        let plan = Assignors.range(members: members, partitionCounts: ["t": 7, "u": 2])
        #expect(plan["a"] == [tp("t", 0), tp("t", 1), tp("t", 2), tp("u", 0), tp("u", 1)])
        #expect(plan["b"] == [tp("t", 3), tp("t", 4)])
        #expect(plan["c"] == [tp("t", 5), tp("t", 6)])
    }

    @Test("roundrobin: dealt in turn, skipping members not subscribed")
    func roundRobin() {
        let members = [Assignors.Member(memberID: "a", topics: ["t"]), Assignors.Member(memberID: "b", topics: ["t", "u"])]
        let plan = Assignors.roundRobin(members: members, partitionCounts: ["t": 3, "u": 2])
        #expect(plan["a"] == [tp("t", 0), tp("t", 2)])
        #expect(plan["b"] == [tp("t", 1), tp("u", 0), tp("u", 1)])
    }

    @Test("cooperative-sticky: balanced, owners keep theirs, and nothing moves straight between owners")
    func cooperativeSticky() {
        // First generation: nobody owns anything; 6 partitions over 3 members, 2 each.
        let fresh = ["a", "b", "c"].map { Assignors.Member(memberID: $0, topics: ["t"]) }
        let first = Assignors.cooperativeSticky(members: fresh, partitionCounts: ["t": 6])
        #expect(first.values.map(\.count).sorted() == [2, 2, 2])
        #expect(Set(first.values.flatMap { $0 }).count == 6)

        // "a" owned everything and "b" joins: "a" keeps its fair share (3), the other 3 are
        // revoked from "a" but not yet given to "b" (cooperative rule).
        let joined = [Assignors.Member(memberID: "a", topics: ["t"], ownedPartitions: (0..<6).map { tp("t", $0) }),
                      Assignors.Member(memberID: "b", topics: ["t"])]
        let second = Assignors.cooperativeSticky(members: joined, partitionCounts: ["t": 6])
        #expect(second["a"] == [tp("t", 0), tp("t", 1), tp("t", 2)])
        #expect(second["b"] == [])
        // Next generation: "a" now owns only 3; "b" gets the rest.
        let settled = [Assignors.Member(memberID: "a", topics: ["t"], ownedPartitions: second["a"]!),
                       Assignors.Member(memberID: "b", topics: ["t"])]
        let third = Assignors.cooperativeSticky(members: settled, partitionCounts: ["t": 6])
        #expect(third["a"] == [tp("t", 0), tp("t", 1), tp("t", 2)])
        #expect(third["b"] == [tp("t", 3), tp("t", 4), tp("t", 5)])
    }

    @Test("cooperative-sticky: quotas differ by at most one; a partition two members claim goes to the less loaded claimer")
    func cooperativeStickyQuotas() {
        // 7 partitions, 3 members: quotas 3, 2, 2. "a" owns 4, "b" owns 3, "c" is new.
        let members = [Assignors.Member(memberID: "a", topics: ["t"], ownedPartitions: (0..<4).map { tp("t", $0) }),
                       Assignors.Member(memberID: "b", topics: ["t"], ownedPartitions: (4..<7).map { tp("t", $0) }),
                       Assignors.Member(memberID: "c", topics: ["t"])]
        let first = Assignors.cooperativeSticky(members: members, partitionCounts: ["t": 7])
        #expect(first["a"] == [tp("t", 0), tp("t", 1), tp("t", 2)])
        #expect(first["b"] == [tp("t", 4), tp("t", 5)])
        #expect(first["c"] == [])  // t-3 and t-6 are revoked first
        let next = [Assignors.Member(memberID: "a", topics: ["t"], ownedPartitions: first["a"]!),
                    Assignors.Member(memberID: "b", topics: ["t"], ownedPartitions: first["b"]!),
                    Assignors.Member(memberID: "c", topics: ["t"])]
        let second = Assignors.cooperativeSticky(members: next, partitionCounts: ["t": 7])
        #expect(second["a"] == first["a"] && second["b"] == first["b"])
        #expect(second["c"] == [tp("t", 3), tp("t", 6)])

        // Stale claims: both say they own t-0; ownership does not decide, load does.
        let stale = [Assignors.Member(memberID: "a", topics: ["t"], ownedPartitions: [tp("t", 0)]),
                     Assignors.Member(memberID: "b", topics: ["t"], ownedPartitions: [tp("t", 0), tp("t", 1)])]
        let plan = Assignors.cooperativeSticky(members: stale, partitionCounts: ["t": 2])
        #expect(plan["a"] == [tp("t", 0)] && plan["b"] == [tp("t", 1)])
    }
}
