import KafkaProtocol
@testable import LogStorage
import NIOCore
import Testing

/// The idempotent-producer state of a partition (KIP-98, KIP-360): sequence/epoch checks,
/// duplicate detection over the last 5 batches, expiry, truncation and the snapshot format.
@Suite struct ProducerStateTests {
    typealias Manager = ProducerStateManager

    /// A RecordBatch v2 header as a producer sends it, built with `RecordBatchBuilder` and read back.
    static func batch(producer: Int64 = 7, epoch: Int16 = 0, sequence: Int32, records: Int = 1,
                      timestamp: Int64 = 1_000, attributes: Int16 = 0) throws -> RecordBatchHeader {
        var builder = RecordBatchBuilder(baseTimestamp: timestamp)
        builder.producerID = producer
        builder.producerEpoch = epoch
        builder.baseSequence = sequence
        builder.attributes = attributes
        for i in 0..<records {
            builder.append(key: nil, value: ByteBuffer(string: "value \(i)"), timestamp: timestamp + Int64(i))
        }
        return try #require(RecordBatchHeader.peek(builder.build(), at: 0))
    }

    /// What the broker does per batch: check, then append at the log end and record it.
    struct Partition {
        var state = Manager()
        var logEndOffset: Int64 = 0

        /// The base offset the producer is answered with.
        mutating func produce(_ header: RecordBatchHeader, nowMs: Int64 = 0) throws(ProducerStateError) -> Int64 {
            if let original = try state.check(header) { return original }
            let base = logEndOffset
            state.update(header, baseOffset: base, appendTimeMs: nowMs)
            logEndOffset = base + Int64(header.lastOffsetDelta) + 1
            return base
        }
    }

    // MARK: - Sequences

    @Test func inOrderBatchesAreAppendedAndRecorded() throws {
        var p = Partition()
        #expect(try p.produce(Self.batch(sequence: 0, records: 3)) == 0)
        #expect(try p.produce(Self.batch(sequence: 3, records: 2)) == 3)
        #expect(try p.produce(Self.batch(producer: 9, sequence: 0)) == 5, "producers are independent")
        #expect(try p.produce(Self.batch(sequence: 5, records: 1, timestamp: 4_000)) == 6)
        #expect(p.logEndOffset == 7)
        #expect(p.state.count == 2)
        let entry = try #require(p.state.entry(for: 7))
        #expect(entry.epoch == 0)
        #expect(entry.lastSequence == 5)
        #expect(entry.lastOffset == 6)
        #expect(entry.batches == [
            Manager.BatchMetadata(firstSequence: 0, lastSequence: 2, firstOffset: 0, lastOffset: 2, maxTimestamp: 1_002),
            Manager.BatchMetadata(firstSequence: 3, lastSequence: 4, firstOffset: 3, lastOffset: 4, maxTimestamp: 1_001),
            Manager.BatchMetadata(firstSequence: 5, lastSequence: 5, firstOffset: 6, lastOffset: 6, maxTimestamp: 4_000),
        ])
    }

    @Test func exactDuplicateOfEachOfTheLastFiveBatchesReturnsItsOriginalOffset() throws {
        var p = Partition()
        var offsets: [Int32: Int64] = [:]
        // A batch of another producer in between, so producer offsets differ from sequences.
        _ = try p.produce(Self.batch(producer: 1, sequence: 0, records: 3))
        for i in 0..<7 {
            let seq = Int32(i * 2)
            offsets[seq] = try p.produce(Self.batch(sequence: seq, records: 2))
        }
        let end = p.logEndOffset
        #expect(p.state.entry(for: 7)?.batches.count == 5)
        for seq in stride(from: Int32(4), through: 12, by: 2) {
            let header = try Self.batch(sequence: seq, records: 2)
            let original = try #require(offsets[seq])
            #expect(try p.state.check(header) == original, "retry of the batch at sequence \(seq)")
            #expect(p.state.duplicate(of: header)?.firstOffset == original)
            #expect(try p.produce(header) == original)
        }
        #expect(p.logEndOffset == end, "duplicates are not appended")
        // Same first sequence but a different last sequence is not a duplicate.
        #expect(throws: ProducerStateError.self) { try p.state.check(Self.batch(sequence: 12, records: 1)) }
    }

    @Test func retryOfTheSixthOldestBatchIsOutOfOrder() throws {
        var p = Partition()
        for seq in Int32(0)..<6 { _ = try p.produce(Self.batch(sequence: seq)) }
        // Retained are sequences 1...5: the retry of 1 is still a duplicate, of 0 no longer.
        #expect(try p.state.check(Self.batch(sequence: 1)) == 1)
        let error = #expect(throws: ProducerStateError.self) { try p.state.check(Self.batch(sequence: 0)) }
        #expect(error == .outOfOrderSequence(producerID: 7, epoch: 0, firstSequence: 0, expectedSequence: 6))
        #expect(error?.kafkaErrorCode == .outOfOrderSequenceNumber)
        #expect(error?.kafkaErrorCode.rawValue == 45)
    }

    @Test func aGapIsOutOfOrder() throws {
        var p = Partition()
        _ = try p.produce(Self.batch(sequence: 0, records: 4))
        let error = #expect(throws: ProducerStateError.self) { try p.produce(Self.batch(sequence: 5)) }
        #expect(error == .outOfOrderSequence(producerID: 7, epoch: 0, firstSequence: 5, expectedSequence: 4))
        #expect(p.logEndOffset == 4, "nothing was appended")
        #expect(try p.produce(Self.batch(sequence: 4)) == 4)
    }

    @Test func aLowerEpochIsRejectedWithInvalidProducerEpoch() throws {
        var p = Partition()
        _ = try p.produce(Self.batch(epoch: 3, sequence: 0))
        let error = #expect(throws: ProducerStateError.self) { try p.state.check(Self.batch(epoch: 2, sequence: 1)) }
        #expect(error == .invalidProducerEpoch(producerID: 7, epoch: 2, currentEpoch: 3))
        #expect(error?.kafkaErrorCode == .invalidProducerEpoch)
        #expect(error?.kafkaErrorCode.rawValue == 47)
        #expect(error?.message.contains("producer 7") == true)
        // Even a batch matching a retained sequence range is fenced when its epoch is older.
        #expect(throws: ProducerStateError.invalidProducerEpoch(producerID: 7, epoch: 2, currentEpoch: 3)) {
            try p.state.check(Self.batch(epoch: 2, sequence: 0))
        }
    }

    @Test func aHigherEpochMustStartAtSequenceZero() throws {
        var p = Partition()
        for seq in Int32(0)..<3 { _ = try p.produce(Self.batch(epoch: 0, sequence: seq)) }
        let error = #expect(throws: ProducerStateError.self) { try p.state.check(Self.batch(epoch: 1, sequence: 3)) }
        #expect(error == .outOfOrderSequence(producerID: 7, epoch: 1, firstSequence: 3, expectedSequence: 0))
        #expect(try p.produce(Self.batch(epoch: 1, sequence: 0, records: 2)) == 3)
        let entry = try #require(p.state.entry(for: 7))
        #expect(entry.epoch == 1)
        #expect(entry.batches.map(\.firstSequence) == [0], "the new epoch replaces the old batches")
        // The old epoch is fenced now, even for a retry of one of its batches.
        #expect(throws: ProducerStateError.invalidProducerEpoch(producerID: 7, epoch: 0, currentEpoch: 1)) {
            try p.state.check(Self.batch(epoch: 0, sequence: 2))
        }
        #expect(try p.state.check(Self.batch(epoch: 1, sequence: 2)) == nil)
    }

    @Test func sequencesWrapFromInt32MaxToZero() throws {
        #expect(Manager.lastSequence(baseSequence: 5, lastOffsetDelta: 0) == 5)
        #expect(Manager.lastSequence(baseSequence: 5, lastOffsetDelta: 4) == 9)
        #expect(Manager.lastSequence(baseSequence: .max, lastOffsetDelta: 1) == 0)
        #expect(Manager.lastSequence(baseSequence: .max - 1, lastOffsetDelta: 3) == 1)
        #expect(Manager.isInSequence(last: .max, next: 0))
        #expect(!Manager.isInSequence(last: .max, next: 1))
        #expect(!Manager.isInSequence(last: 0, next: 0))

        var p = Partition()
        _ = try p.produce(Self.batch(sequence: .max - 1, records: 2)) // last sequence Int32.max
        #expect(p.state.entry(for: 7)?.lastSequence == .max)
        #expect(throws: ProducerStateError.outOfOrderSequence(producerID: 7, epoch: 0, firstSequence: 1, expectedSequence: 0)) {
            try p.state.check(Self.batch(sequence: 1))
        }
        #expect(try p.produce(Self.batch(sequence: 0)) == 2, "Int32.max is followed by 0")
        // A batch that itself wraps: Int32.max, 0, 1.
        var q = Partition()
        _ = try q.produce(Self.batch(sequence: .max, records: 3))
        #expect(q.state.entry(for: 7)?.batches.last?.lastSequence == 1)
        #expect(try q.state.check(Self.batch(sequence: .max, records: 3)) == 0, "the wrapped batch is found as a duplicate")
        #expect(try q.produce(Self.batch(sequence: 2)) == 3)
    }

    @Test func anUnknownProducerAcceptsAnySequence() throws {
        var p = Partition()
        #expect(try p.state.check(Self.batch(producer: 42, epoch: 5, sequence: 1_234)) == nil)
        _ = try p.produce(Self.batch(producer: 42, epoch: 5, sequence: 1_234, records: 2))
        #expect(p.state.entry(for: 42)?.lastSequence == 1_235)
        // From then on it is checked.
        #expect(throws: ProducerStateError.self) { try p.state.check(Self.batch(producer: 42, epoch: 5, sequence: 0)) }
    }

    @Test func nonIdempotentAndControlBatchesAreIgnored() throws {
        var p = Partition()
        for _ in 0..<3 {
            let header = try Self.batch(producer: -1, epoch: -1, sequence: -1, records: 2)
            #expect(try p.state.check(header) == nil)
            _ = try p.produce(header)
        }
        #expect(p.logEndOffset == 6)
        #expect(p.state.count == 0)
        #expect(p.state.isEmpty)
        // A transaction marker carries a producer id but no sequence; it is not a data batch.
        let marker = try Self.batch(producer: 7, epoch: 0, sequence: -1, attributes: 0x30)
        #expect(try p.state.check(marker) == nil)
        p.state.update(marker, baseOffset: 6, appendTimeMs: 0)
        #expect(p.state.count == 0)
    }

    @Test func updateKeepsFiveBatchesAndAcceptsAnythingWhenRebuilding() throws {
        var state = Manager()
        // Out-of-order sequences and a lower epoch, as replaying a log may meet after truncation.
        state.update(try Self.batch(epoch: 2, sequence: 10), baseOffset: 0, appendTimeMs: 1)
        state.update(try Self.batch(epoch: 1, sequence: 50), baseOffset: 1, appendTimeMs: 2)
        #expect(state.entry(for: 7)?.epoch == 1, "a different epoch replaces the state, unvalidated")
        #expect(state.entry(for: 7)?.batches.map(\.firstSequence) == [50])
        for i in 0..<8 {
            state.update(try Self.batch(epoch: 1, sequence: Int32(100 + i * 7)), baseOffset: Int64(2 + i), appendTimeMs: Int64(3 + i))
        }
        let entry = try #require(state.entry(for: 7))
        #expect(entry.batches.count == Manager.batchesToRetain)
        #expect(entry.batches.map(\.firstSequence) == [121, 128, 135, 142, 149])
        #expect(entry.batches.map(\.firstOffset) == [5, 6, 7, 8, 9])
        #expect(entry.lastAppendTimeMs == 10)
    }

    // MARK: - Expiry and truncation

    @Test func producersExpireAfterTheExpirationTime() throws {
        var p = Partition()
        let expiration: Int64 = 86_400_000
        _ = try p.produce(Self.batch(producer: 1, sequence: 0), nowMs: 1_000)
        _ = try p.produce(Self.batch(producer: 2, sequence: 0), nowMs: 5_000)
        _ = try p.produce(Self.batch(producer: 1, sequence: 1), nowMs: 2_000) // refreshes producer 1
        p.state.removeExpired(nowMs: 2_000 + expiration - 1, expirationMs: expiration)
        #expect(p.state.count == 2)
        p.state.removeExpired(nowMs: 2_000 + expiration, expirationMs: expiration)
        #expect(p.state.entry(for: 1) == nil, "idle for exactly the expiration time")
        #expect(p.state.entry(for: 2) != nil)
        #expect(p.state.count == 1)
        // The expired producer is unknown again: any sequence goes (KIP-360).
        #expect(try p.state.check(Self.batch(producer: 1, sequence: 77)) == nil)
        p.state.removeExpired(nowMs: 5_000 + expiration, expirationMs: expiration)
        #expect(p.state.isEmpty)
    }

    @Test func truncationDropsBatchesAtOrAboveTheOffset() throws {
        var p = Partition()
        _ = try p.produce(Self.batch(producer: 1, sequence: 0, records: 2)) // 0-1
        _ = try p.produce(Self.batch(producer: 1, sequence: 2, records: 2)) // 2-3
        _ = try p.produce(Self.batch(producer: 1, sequence: 4, records: 2)) // 4-5
        _ = try p.produce(Self.batch(producer: 2, sequence: 0, records: 1)) // 6
        p.state.removeBatches(from: 7)
        #expect(p.state.count == 2, "nothing at or above 7")
        p.state.removeBatches(from: 4)
        #expect(p.state.entry(for: 1)?.batches.map(\.firstOffset) == [0, 2])
        #expect(p.state.entry(for: 2) == nil, "a producer left without batches is dropped")
        #expect(p.state.count == 1)
        // The producer's retry of the truncated batch is in sequence again.
        #expect(try p.state.check(Self.batch(producer: 1, sequence: 4, records: 2)) == nil)
        // A batch straddling the truncation point goes too.
        p.state.removeBatches(from: 3)
        #expect(p.state.entry(for: 1)?.batches.map(\.firstOffset) == [0])
        #expect(p.state.entry(for: 1)?.lastSequence == 1)
        p.state.removeBatches(from: 0)
        #expect(p.state.isEmpty)
    }

    // MARK: - Snapshot

    static func sampleState() throws -> Manager {
        var p = Partition()
        for seq in Int32(0)..<7 { _ = try p.produce(Self.batch(producer: 1, sequence: seq * 3, records: 3, timestamp: 10_000 + Int64(seq)), nowMs: 50) }
        _ = try p.produce(Self.batch(producer: 99, epoch: 4, sequence: .max - 1, records: 4), nowMs: 60)
        _ = try p.produce(Self.batch(producer: 5, epoch: 0, sequence: 0), nowMs: 70)
        _ = try p.produce(Self.batch(producer: 5, epoch: 1, sequence: 0, records: 2), nowMs: 80)
        _ = try p.produce(Self.batch(producer: Int64.max, epoch: .max, sequence: 17), nowMs: -1)
        return p.state
    }

    @Test func snapshotRoundTripsTheWholeState() throws {
        let state = try Self.sampleState()
        #expect(state.count == 4)
        let bytes = ProducerStateSnapshot.encode(state)
        let decoded = try ProducerStateSnapshot.decode(bytes)
        #expect(decoded == state)
        #expect(ProducerStateSnapshot.encode(decoded) == bytes, "encoding is deterministic")
        // All 5 batches survive, so a retry of the oldest retained one is still a duplicate.
        #expect(decoded.entry(for: 1)?.batches.count == 5)
        let oldestRetained = try #require(state.entry(for: 1)?.batches.first)
        #expect(try decoded.check(Self.batch(producer: 1, sequence: oldestRetained.firstSequence, records: 3)) == oldestRetained.firstOffset)

        let empty = ProducerStateSnapshot.encode(Manager())
        #expect(empty.readableBytes == 10)
        #expect(try ProducerStateSnapshot.decode(empty) == Manager())
    }

    @Test func snapshotBytesFollowTheDocumentedLayout() throws {
        var state = Manager()
        state.update(try Self.batch(producer: 0x0102, epoch: 3, sequence: 8, records: 2, timestamp: 77), baseOffset: 40, appendTimeMs: 123)
        let bytes = ProducerStateSnapshot.encode(state)
        #expect(bytes.readableBytes == 10 + 19 + 32)
        #expect(bytes.getInteger(at: 0, endianness: .big, as: Int16.self) == ProducerStateSnapshot.version)
        let content = try #require(bytes.getSlice(at: 6, length: bytes.readableBytes - 6))
        #expect(bytes.getInteger(at: 2, endianness: .big, as: UInt32.self) == CRC32C.checksum(content))
        #expect(bytes.getInteger(at: 6, endianness: .big, as: Int32.self) == 1)   // producer count
        #expect(bytes.getInteger(at: 10, endianness: .big, as: Int64.self) == 0x0102) // producer id
        #expect(bytes.getInteger(at: 18, endianness: .big, as: Int16.self) == 3)  // epoch
        #expect(bytes.getInteger(at: 20, endianness: .big, as: Int64.self) == 123) // last append time
        #expect(bytes.getInteger(at: 28, as: Int8.self) == 1)                      // batch count
        #expect(bytes.getInteger(at: 29, endianness: .big, as: Int32.self) == 8)  // first sequence
        #expect(bytes.getInteger(at: 33, endianness: .big, as: Int32.self) == 9)  // last sequence
        #expect(bytes.getInteger(at: 37, endianness: .big, as: Int64.self) == 40) // first offset
        #expect(bytes.getInteger(at: 45, endianness: .big, as: Int64.self) == 41) // last offset
        #expect(bytes.getInteger(at: 53, endianness: .big, as: Int64.self) == 78) // max timestamp
    }

    @Test func anyFlippedByteIsDetected() throws {
        let bytes = ProducerStateSnapshot.encode(try Self.sampleState())
        for index in 0..<bytes.readableBytes {
            var corrupt = bytes
            corrupt.setInteger(bytes.getInteger(at: index, as: UInt8.self)! ^ 0x10, at: index)
            #expect(throws: ProducerStateSnapshotError.self, "flipped byte \(index)") {
                try ProducerStateSnapshot.decode(corrupt)
            }
        }
        var versionFlipped = bytes
        versionFlipped.setInteger(Int16(1), at: 0, endianness: .big) // Kafka's own version
        #expect(throws: ProducerStateSnapshotError.unsupportedVersion(1)) { try ProducerStateSnapshot.decode(versionFlipped) }
        var bodyFlipped = bytes
        bodyFlipped.setInteger(bytes.getInteger(at: 30, as: UInt8.self)! ^ 1, at: 30)
        let error = #expect(throws: ProducerStateSnapshotError.self) { try ProducerStateSnapshot.decode(bodyFlipped) }
        guard case .crcMismatch = error else {
            Issue.record("expected a CRC mismatch, got \(String(describing: error))")
            return
        }
    }

    @Test func aTruncatedOrExtendedSnapshotIsDetected() throws {
        let bytes = ProducerStateSnapshot.encode(try Self.sampleState())
        for length in 0..<bytes.readableBytes {
            let torn = try #require(bytes.getSlice(at: 0, length: length))
            #expect(throws: ProducerStateSnapshotError.self, "first \(length) bytes") { try ProducerStateSnapshot.decode(torn) }
        }
        #expect(throws: ProducerStateSnapshotError.truncated(size: 9)) {
            try ProducerStateSnapshot.decode(bytes.getSlice(at: 0, length: 9)!)
        }
        var extended = bytes
        extended.writeInteger(UInt8(0))
        #expect(throws: ProducerStateSnapshotError.self) { try ProducerStateSnapshot.decode(extended) }
        // A zero-filled file (preallocated, never written) is refused too.
        #expect(throws: ProducerStateSnapshotError.self) {
            try ProducerStateSnapshot.decode(ByteBuffer(repeating: 0, count: bytes.readableBytes))
        }
    }

    @Test func snapshotWithAValidCRCButBadStructureIsMalformed() throws {
        // A batch count of 0 with a correct CRC: structure, not the checksum, refuses it.
        var bytes = ByteBuffer()
        bytes.writeInteger(ProducerStateSnapshot.version, endianness: .big)
        bytes.writeInteger(UInt32(0), endianness: .big)
        bytes.writeInteger(Int32(1), endianness: .big)
        bytes.writeInteger(Int64(7), endianness: .big)
        bytes.writeInteger(Int16(0), endianness: .big)
        bytes.writeInteger(Int64(0), endianness: .big)
        bytes.writeInteger(Int8(0))
        bytes.writeRepeatingByte(0, count: 32)
        let crc = CRC32C.checksum(bytes.getSlice(at: 6, length: bytes.readableBytes - 6)!)
        bytes.setInteger(crc, at: 2, endianness: .big)
        let error = #expect(throws: ProducerStateSnapshotError.self) { try ProducerStateSnapshot.decode(bytes) }
        guard case .malformed = error else {
            Issue.record("expected malformed, got \(String(describing: error))")
            return
        }
    }

    @Test func snapshotFileNamesRoundTrip() {
        #expect(ProducerStateSnapshot.fileName(offset: 0) == "00000000000000000000.snapshot")
        #expect(ProducerStateSnapshot.fileName(offset: 1_234) == "00000000000000001234.snapshot")
        #expect(ProducerStateSnapshot.fileName(offset: .max) == "09223372036854775807.snapshot")
        for offset: Int64 in [0, 1, 1_234, 99_999_999_999, .max] {
            #expect(ProducerStateSnapshot.offset(fromFileName: ProducerStateSnapshot.fileName(offset: offset)) == offset)
        }
        #expect(ProducerStateSnapshot.offset(fromFileName: "42.snapshot") == 42, "any digit count, like Kafka")
        for name in ["00000000000000001234.snapshot.deleted", "00000000000000001234.log", ".snapshot",
                     "abc.snapshot", "-0000000000000000001.snapshot", "99999999999999999999.snapshot",
                     "00000000000000001234.snapshot.swap"] {
            #expect(ProducerStateSnapshot.offset(fromFileName: name) == nil, "\(name)")
        }
    }
}
