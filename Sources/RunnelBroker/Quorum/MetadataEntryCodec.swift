import KafkaProtocol
import NIOCore
import Raft

/// One proposal to the metadata quorum: records that apply together or not at all (one KRaft
/// "atomic batch").
public struct MetadataBatch: Sendable, Equatable {
    public var records: [MetadataRecord]
    /// When the active controller proposed it (ms since the epoch): the batch's timestamp on every
    /// replica, so the replicated log is byte-identical across nodes.
    public var timestampMs: Int64

    public init(_ records: [MetadataRecord], timestampMs: Int64 = 0) {
        self.records = records
        self.timestampMs = timestampMs
    }
}

/// A metadata-quorum log entry as a Kafka record batch (v2), the form it takes on disk
/// (`__cluster_metadata-0/00000000000000000000.log`) and in Fetch responses between controllers.
///
/// Each Raft entry is one batch whose base offset is the entry's offset and whose partition leader
/// epoch is the entry's epoch, so offsets stay dense per entry as the `Raft` target counts them.
/// - A data entry holds one record; its value is the batch's metadata records, each framed as an
///   unsigned varint length and the record's bytes (``MetadataRecord/encoded()``).
/// - The leader-change control record is a control batch (attributes bit 5) with KRaft's control key
///   (version 0, type 2, `LEADER_CHANGE`) and a `LeaderChangeMessage` value (version 0, flexible:
///   LeaderId, Voters, GrantingVoters).
enum MetadataEntryCodec {
    static let leaderChangeControlType: Int16 = 2

    /// Encodes `entry` as one record batch. A data entry carries its proposal time; the
    /// leader-change record, which has none, gets timestamp 0. Every replica writes the same bytes.
    static func encode(_ entry: LogEntry<MetadataBatch>) -> ByteBuffer {
        var builder = RecordBatchBuilder(baseTimestamp: entry.payload?.timestampMs ?? 0)
        builder.baseOffset = entry.offset.rawValue
        builder.partitionLeaderEpoch = entry.epoch.rawValue
        switch entry.record {
        case .data(let batch):
            var value = KafkaWriter(flexible: true)
            value.writeUnsignedVarint(UInt32(batch.records.count))
            for record in batch.records {
                let bytes = record.encoded()
                value.writeUnsignedVarint(UInt32(bytes.readableBytes))
                var copy = bytes
                value.buffer.writeBuffer(&copy)
            }
            builder.append(key: nil, value: value.buffer)
        case .leaderChange(let change):
            builder.attributes = 0x20
            var key = KafkaWriter(flexible: false)
            key.writeInt16(0)
            key.writeInt16(leaderChangeControlType)
            var value = KafkaWriter(flexible: true)
            value.writeInt16(0)
            value.writeInt32(change.leaderID.rawValue)
            value.writeArray(change.voters) { w, id in w.writeInt32(id.rawValue); w.writeTaggedFields() }
            value.writeArray(change.grantingVoters) { w, id in w.writeInt32(id.rawValue); w.writeTaggedFields() }
            value.writeTaggedFields()
            builder.append(key: key.buffer, value: value.buffer)
        }
        return builder.build()
    }

    /// Decodes one batch (as read by `ByteBuffer.readRecordBatch()`) back into its entry.
    /// - Throws: ``ProtocolError`` when the batch is not one this codec wrote.
    static func decode(header: RecordBatchHeader, batch: ByteBuffer) throws -> LogEntry<MetadataBatch> {
        guard header.lastOffsetDelta == 0, header.recordsCount == 1 else {
            throw ProtocolError.invalid("metadata quorum batch at offset \(header.baseOffset) holds \(header.recordsCount) records, expected 1")
        }
        guard let record = try RecordBatchHeader.uncompressedRecords(of: batch).first, let value = record.value else {
            throw ProtocolError.invalid("metadata quorum batch at offset \(header.baseOffset) has no record value")
        }
        let offset = Offset(header.baseOffset)
        let epoch = LeaderEpoch(header.partitionLeaderEpoch)
        if header.isControl {
            var reader = KafkaReader(value, flexible: true)
            _ = try reader.readInt16("version")
            let leader = try reader.readInt32("leader_id")
            let voters = try reader.readArray("voters") { r -> ReplicaID in
                let id = try r.readInt32("voter_id"); _ = try r.readTaggedFields(); return ReplicaID(id)
            }
            let granting = try reader.readArray("granting_voters") { r -> ReplicaID in
                let id = try r.readInt32("voter_id"); _ = try r.readTaggedFields(); return ReplicaID(id)
            }
            let change = LeaderChangeMessage(leaderID: ReplicaID(leader), voters: voters, grantingVoters: granting)
            return LogEntry(offset: offset, epoch: epoch, record: .leaderChange(change))
        }
        var reader = KafkaReader(value, flexible: true)
        let count = try reader.readUnsignedVarint("record count")
        guard Int(count) <= value.readableBytes else { throw ProtocolError.invalid("metadata batch record count \(count) exceeds its bytes") }
        var records: [MetadataRecord] = []
        for _ in 0..<count {
            let length = Int(try reader.readUnsignedVarint("record length"))
            guard let bytes = reader.buffer.readSlice(length: length) else {
                throw ProtocolError.invalid("metadata record of \(length) bytes is cut short")
            }
            if let decoded = try MetadataRecord.decode(bytes) { records.append(decoded) }
        }
        return LogEntry(offset: offset, epoch: epoch, record: .data(MetadataBatch(records, timestampMs: header.baseTimestamp)))
    }

    /// Decodes every whole batch in `bytes` (a Fetch response's records, or a file's contents).
    static func decodeAll(_ bytes: ByteBuffer) throws -> [LogEntry<MetadataBatch>] {
        var bytes = bytes
        var out: [LogEntry<MetadataBatch>] = []
        while let (header, batch) = bytes.readRecordBatch() {
            guard RecordBatchHeader.crcMatches(batch, at: batch.readerIndex, header: header) else {
                throw ProtocolError.invalid("metadata quorum batch at offset \(header.baseOffset) fails its CRC")
            }
            out.append(try decode(header: header, batch: batch))
        }
        return out
    }
}
