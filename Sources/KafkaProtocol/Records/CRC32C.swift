import CISAL
import NIOCore

/// CRC-32C (Castagnoli), the checksum of RecordBatch v2 (Kafka `DefaultRecordBatch.java`, KIP-98).
///
/// Backed by ISA-L's `crc32_iscsi`, which uses SSE4.2/PCLMUL when the CPU has them. ISA-L's
/// function works on the un-inverted register, so the standard value is `~crc32_iscsi(data, ~0)`;
/// the check value for "123456789" is `0xE3069283`.
public enum CRC32C {
    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }

    /// The CRC-32C of the readable bytes of `buffer`.
    public static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0) }
    }

    /// Extends a finished CRC-32C `crc` (of earlier bytes) over `bytes`;
    /// `update(update(0, a), b) == checksum(a + b)`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        var result = ~crc
        var offset = 0
        // crc32_iscsi takes an Int32 length; feed huge buffers in slices.
        while offset < bytes.count {
            let chunk = min(bytes.count - offset, 1 << 30)
            let pointer = UnsafeMutablePointer(mutating: base.advanced(by: offset).assumingMemoryBound(to: UInt8.self))
            result = crc32_iscsi(pointer, Int32(chunk), result)
            offset += chunk
        }
        return ~result
    }
}
