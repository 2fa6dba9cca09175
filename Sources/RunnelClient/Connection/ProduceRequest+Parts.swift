import KafkaProtocol
import NIOCore

extension ProduceRequest {
    /// The request body as buffers to be written one after another, so large record batches
    /// go to the socket as they are (one gathering write) instead of being copied into the body.
    ///
    /// The parts, concatenated, are byte for byte ``KafkaRequest/encoded(apiKey:version:)``:
    /// the fields around the records are written into one buffer and handed out as slices of
    /// it, interleaved with the `records` buffers of at least `minimumDetachedBytes` bytes.
    /// - Parameters:
    ///   - version: the Produce version (flexible from 9).
    ///   - minimumDetachedBytes: records smaller than this are copied into the framing buffer.
    /// - Returns: at least one buffer; empty slices are left out.
    func encodedParts(version: Int16, minimumDetachedBytes: Int) -> [ByteBuffer] {
        var writer = KafkaWriter(flexible: ApiKey.produce.isFlexible(version))
        // Where each detached batch goes: after this many framing bytes.
        var detached: [(framingEnd: Int, records: ByteBuffer)] = []
        if version >= 3 { writer.writeNullableString(transactionalID) }
        writer.writeInt16(acks)
        writer.writeInt32(timeoutMs)
        writer.writeArrayCount(topicData.count)
        for topic in topicData {
            writer.writeString(topic.name)
            writer.writeArrayCount(topic.partitionData.count)
            for partition in topic.partitionData {
                writer.writeInt32(partition.index)
                if let records = partition.records, records.readableBytes >= minimumDetachedBytes {
                    // The length prefix of `writeNullableBytes`, without the bytes.
                    if writer.flexible {
                        writer.writeUnsignedVarint(UInt32(records.readableBytes + 1))
                    } else {
                        writer.writeInt32(Int32(records.readableBytes))
                    }
                    detached.append((writer.buffer.writerIndex, records))
                } else {
                    writer.writeNullableBytes(partition.records)
                }
                writer.writeTaggedFields(partition.taggedFields)
            }
            writer.writeTaggedFields(topic.taggedFields)
        }
        writer.writeTaggedFields(taggedFields)
        let framing = writer.buffer
        guard !detached.isEmpty else { return [framing] }
        var parts: [ByteBuffer] = []
        parts.reserveCapacity(2 * detached.count + 1)
        var start = framing.readerIndex
        for (end, records) in detached {
            if end > start { parts.append(framing.getSlice(at: start, length: end - start)!) }
            parts.append(records)
            start = end
        }
        if framing.writerIndex > start { parts.append(framing.getSlice(at: start, length: framing.writerIndex - start)!) }
        return parts
    }
}
