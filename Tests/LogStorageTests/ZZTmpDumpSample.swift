import Foundation
import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import SystemPackage
import Testing

@Test func zzTmpDumpSample() throws {
    let dir = "/tmp/runnel-dump-sample/orders-0"
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let log = try Log(directory: FilePath(dir), config: LogConfig(segmentBytes: 2000, segmentIndexBytes: 4096, indexIntervalBytes: 200),
                      logger: Logger(label: "x", factory: { _ in SwiftLogNoOpLogHandler() }))
    for i in 0..<30 {
        var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000 + Int64(i) * 10)
        for r in 0..<(i % 4 + 1) {
            builder.append(key: ByteBuffer(string: "key-\(i)-\(r)"), value: ByteBuffer(string: "hello \(i).\(r)"),
                           timestamp: 1_700_000_000_000 + Int64(i) * 10 + Int64(r))
        }
        let batch = builder.build()
        _ = try log.append(batch, header: RecordBatchHeader.peek(batch, at: 0)!, leaderEpoch: 1)
    }
    try log.flush()
}
