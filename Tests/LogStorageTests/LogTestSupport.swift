import Foundation
import KafkaProtocol
import Logging
@testable import LogStorage
import NIOCore
import SystemPackage

/// A logger that drops everything (recovery logs warnings on purpose in these tests).
let quietLogger = Logger(label: "runnel.tests.logstorage", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runs `body` with a fresh, empty temporary directory that is removed afterwards.
func withTemporaryDirectory<T>(_ body: (FilePath) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-logstorage-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(FilePath(url.path))
}

/// Opens (creating) a log in `directory`.
func openLog(_ directory: FilePath, segmentBytes: Int = 1_073_741_824, indexIntervalBytes: Int = 4096) throws -> Log {
    try Log(directory: directory, config: LogConfig(segmentBytes: segmentBytes, indexIntervalBytes: indexIntervalBytes),
            logger: quietLogger)
}

/// The header of the batch at the reader index of `batch`.
func batchHeader(_ batch: ByteBuffer) -> RecordBatchHeader {
    guard let header = RecordBatchHeader.peek(batch, at: batch.readerIndex) else { fatalError("not a record batch") }
    return header
}

/// An uncompressed batch of `recordCount` records with a mix of null and non-null keys and values
/// and of headers; `seed` varies the content so batches differ.
func makeBatch(recordCount: Int, seed: Int, baseTimestamp: Int64 = 1_700_000_000_000, timestamps: [Int64]? = nil) -> ByteBuffer {
    var builder = RecordBatchBuilder(baseTimestamp: baseTimestamp)
    for i in 0..<recordCount {
        let key: ByteBuffer? = i % 3 == 2 ? nil : ByteBuffer(string: "key-\(seed)-\(i)")
        let value: ByteBuffer? = i % 4 == 3 ? nil : ByteBuffer(string: String(repeating: "value\(seed);", count: i + 1))
        var headers: [Record.Header] = []
        if i % 2 == 1 {
            headers = [Record.Header(key: "h\(i)", value: ByteBuffer(string: "hv-\(seed)")), Record.Header(key: "nullable", value: nil)]
        }
        builder.append(key: key, value: value, headers: headers, timestamp: timestamps?[i] ?? baseTimestamp + Int64(i))
    }
    return builder.build()
}

/// Splits `bytes` into whole batches; returns `nil` if anything is left over (a partial batch).
func splitBatches(_ bytes: ByteBuffer) -> [ByteBuffer]? {
    var out: [ByteBuffer] = []
    var position = bytes.readerIndex
    while position < bytes.writerIndex {
        guard let header = RecordBatchHeader.peek(bytes, at: position),
              position + header.totalSize <= bytes.writerIndex,
              let slice = bytes.getSlice(at: position, length: header.totalSize)
        else { return nil }
        out.append(slice)
        position += header.totalSize
    }
    return out
}

/// The base offsets of the whole batches in `bytes`, or `nil` if a partial batch is left over.
func baseOffsets(_ bytes: ByteBuffer) -> [Int64]? {
    splitBatches(bytes)?.map { batchHeader($0).baseOffset }
}

/// The bytes from the magic byte to the end: everything the broker does not rewrite on append.
func unassignedPart(_ batch: ByteBuffer) -> ByteBuffer? {
    batch.getSlice(at: batch.readerIndex + RecordBatchHeader.Field.magic,
                   length: batch.readableBytes - RecordBatchHeader.Field.magic)
}

/// The 20-digit zero-padded segment file name of `baseOffset`.
func segmentFileName(_ baseOffset: Int64) -> String {
    let digits = String(baseOffset)
    return String(repeating: "0", count: 20 - digits.count) + digits + ".log"
}

/// Names of the `.log` files in `directory`, sorted.
func logFileNames(_ directory: FilePath) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.string).filter { $0.hasSuffix(".log") }.sorted()
}

func fileSize(_ path: FilePath) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path.string)
    return (attributes[.size] as? NSNumber)?.intValue ?? -1
}

func fileBytes(_ path: FilePath) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path.string))
}

extension Log {
    /// Appends `batch` with its own header, as a partition does after validation.
    @discardableResult
    func append(_ batch: ByteBuffer, epoch: Int32) throws -> Int64 {
        try append(batch, header: batchHeader(batch), leaderEpoch: epoch)
    }

    /// Every batch in the log, read front to back in fetch-sized steps.
    func readAllBatches(maxBytes: Int = 1 << 20) throws -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        var offset = logStartOffset
        while offset < logEndOffset {
            let bytes = try read(from: offset, maxBytes: maxBytes, upperBound: logEndOffset)
            guard let batches = splitBatches(bytes), let last = batches.last else { break }
            out.append(contentsOf: batches)
            offset = batchHeader(last).nextOffset
        }
        return out
    }
}
