import CZlib
import NIOCore

/// CRC-32 (IEEE 802.3, the zlib/`java.util.zip.CRC32` polynomial), the checksum of legacy
/// messages, magic 0 and 1 (Kafka protocol guide, "Message sets"; Kafka `LegacyRecord.java`).
///
/// RecordBatch v2 uses CRC-32C instead (``CRC32C``). Backed by zlib's `crc32`; the check value
/// for "123456789" is `0xCBF43926`.
public enum CRC32 {
    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        var crc: uLong = 0
        var offset = 0
        // zlib's crc32 takes a 32-bit length; feed huge buffers in slices.
        while offset < bytes.count {
            let chunk = min(bytes.count - offset, 1 << 30)
            crc = crc32(crc, base.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(chunk))
            offset += chunk
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// The CRC-32 of the readable bytes of `buffer`.
    public static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0) }
    }
}
