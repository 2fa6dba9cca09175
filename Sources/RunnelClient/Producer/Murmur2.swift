/// MurmurHash2, 32-bit, as Kafka's Java client computes it for keyed records
/// (`org.apache.kafka.common.utils.Utils.murmur2`: seed `0x9747b28c`, four-byte little-endian
/// blocks). librdkafka's `murmur2` and `murmur2_random` partitioners use the same function, so
/// the same key lands on the same partition from every client.
public enum Murmur2 {
    /// The signed 32-bit hash of `bytes`.
    public static func hash<Bytes: Collection>(_ bytes: Bytes) -> Int32 where Bytes.Element == UInt8 {
        let m: UInt32 = 0x5bd1_e995
        let length = bytes.count
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        var iterator = bytes.makeIterator()
        for _ in 0..<(length / 4) {
            var k = UInt32(iterator.next()!)
            k |= UInt32(iterator.next()!) << 8
            k |= UInt32(iterator.next()!) << 16
            k |= UInt32(iterator.next()!) << 24
            k &*= m
            k ^= k >> 24
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = Array(IteratorSequence(iterator))
        switch tail.count {
        case 3:
            h ^= UInt32(tail[2]) << 16
            fallthrough
        case 2:
            h ^= UInt32(tail[1]) << 8
            fallthrough
        case 1:
            h ^= UInt32(tail[0])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The partition for a key among `partitionCount`: `(hash & 0x7fffffff) % partitionCount`
    /// (Java `Utils.toPositive`, `BuiltInPartitioner.partitionForKey`).
    public static func partition<Bytes: Collection>(forKey key: Bytes, partitionCount: Int) -> Int32 where Bytes.Element == UInt8 {
        precondition(partitionCount > 0, "a topic has at least one partition")
        return Int32((UInt32(bitPattern: hash(key)) & 0x7fff_ffff) % UInt32(partitionCount))
    }
}
