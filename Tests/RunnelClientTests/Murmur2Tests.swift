import Testing
@testable import RunnelClient

@Suite("Murmur2 partitioner")
struct Murmur2Tests {
    /// The values Kafka's Java client asserts in `UtilsTest.testMurmur2`.
    @Test("hashes match the Java client's known values", arguments: [
        ("21", Int32(-973_932_308)),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
    ])
    func javaVectors(key: String, expected: Int32) {
        #expect(Murmur2.hash(Array(key.utf8)) == expected)
    }

    @Test("every tail length (0-3 bytes after the last block) hashes like kafka-python")
    func tailLengths() {
        // kafka-python's murmur2 (a port of the Java one) gives these unsigned values.
        #expect(UInt32(bitPattern: Murmur2.hash([UInt8]())) == 275_646_681)
        #expect(Murmur2.hash(Array("abc".utf8)) == 479_470_107)
        #expect(UInt32(bitPattern: Murmur2.hash(Array("21".utf8))) == 3_321_034_988)
    }

    @Test("partition is the positive hash modulo the partition count")
    func partitionIsPositiveModulo() {
        let key = Array("foobar".utf8)
        let positive = UInt32(bitPattern: -790_332_482) & 0x7fff_ffff
        for count in 1...64 {
            #expect(Murmur2.partition(forKey: key, partitionCount: count) == Int32(positive % UInt32(count)))
        }
    }
}

@Suite("Sticky partitioner (KIP-480)")
struct StickyPartitionerTests {
    @Test("stays on one partition until its batch closes, then moves to a different one")
    func sticksThenMoves() {
        var sticky = StickyPartitioner()
        let first = sticky.partition(topic: "t", partitionCount: 8)
        for _ in 0..<100 { #expect(sticky.partition(topic: "t", partitionCount: 8) == first) }
        sticky.batchClosed(topic: "t", partition: first, partitionCount: 8)
        let second = sticky.partition(topic: "t", partitionCount: 8)
        #expect(second != first)
        #expect((0..<8).contains(second))
        // A stale notification for a partition the topic already left changes nothing.
        sticky.batchClosed(topic: "t", partition: first, partitionCount: 8)
        #expect(sticky.partition(topic: "t", partitionCount: 8) == second)
    }

    @Test("one partition: always 0")
    func singlePartition() {
        var sticky = StickyPartitioner()
        #expect(sticky.partition(topic: "t", partitionCount: 1) == 0)
        sticky.batchClosed(topic: "t", partition: 0, partitionCount: 1)
        #expect(sticky.partition(topic: "t", partitionCount: 1) == 0)
    }

    @Test("spreads over every partition as batches close")
    func visitsAllPartitions() {
        var sticky = StickyPartitioner()
        var seen: Set<Int32> = []
        for _ in 0..<500 {
            let p = sticky.partition(topic: "t", partitionCount: 4)
            seen.insert(p)
            sticky.batchClosed(topic: "t", partition: p, partitionCount: 4)
        }
        #expect(seen == [0, 1, 2, 3])
    }
}
