import ArgumentParser
import Foundation
import LogStorage

/// `runnel log …`: offline tools for a partition's log files.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Inspect log segment files offline.",
        subcommands: [LogDumpCommand.self]
    )
}

/// `runnel log dump [--print-data] [--records] [--skip-index-check] PATH...`: prints the record
/// batches of segment files and checks them and their indexes, like Kafka's `kafka-dump-log.sh`.
///
/// Exit codes: 0 when every file is valid; 1 when a segment holds a corrupt batch, records that
/// cannot be decoded, or an index is inconsistent; 2 on a usage error or an unreadable file.
struct LogDumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print and check the record batches of segment files and their indexes.",
        discussion: """
        PATH is a segment file <base offset>.log, or one of its indexes <base offset>.index or \
        <base offset>.timeindex. For a .log every record batch is printed and validated (header, \
        magic, length, CRC-32C, ascending offsets) up to the first invalid byte, then its sibling \
        indexes are checked. For an index its entries are printed and checked against the sibling .log.

        Exit status: 0 everything is valid; 1 corruption or index problems were found; \
        2 usage error or unreadable file.
        """
    )

    @Flag(name: .customLong("print-data"), help: "Print every record with its key and value as text (implies --records).")
    var printData = false

    @Flag(name: .long, help: "Print every record (offset, timestamp, sizes, headers), decompressing batches.")
    var records = false

    @Flag(name: .customLong("skip-index-check"), help: "Do not check the .index and .timeindex files.")
    var skipIndexCheck = false

    @Argument(help: ArgumentHelp("Segment (.log), offset index (.index) or time index (.timeindex) files.",
                                 valueName: "path"))
    var paths: [String]

    func run() throws {
        var status: Int32 = 0
        for (i, path) in paths.enumerated() {
            if i > 0 { print("") }
            status = max(status, dump(path))
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// Dumps one file; returns its exit status (0, 1 or 2).
    private func dump(_ path: String) -> Int32 {
        guard [".log", ".index", ".timeindex"].contains(where: { path.hasSuffix($0) }) else {
            warn("\(path): not a .log, .index or .timeindex file")
            return 2
        }
        guard access(path, R_OK) == 0 else {
            warn("cannot read \(path): \(String(cString: strerror(errno)))")
            return 2
        }
        do {
            if path.hasSuffix(".log") { return try dumpLog(path) }
            if path.hasSuffix(".timeindex") { return try dumpIndex(path, suffix: ".timeindex") }
            return try dumpIndex(path, suffix: ".index")
        } catch {
            warn("cannot read \(path): \(error)")
        }
        return 2
    }

    // MARK: - .log

    private func dumpLog(_ path: String) throws -> Int32 {
        let inspector = SegmentInspector(path: path, options: .init(includeRecords: records, includeData: printData))
        var locations: [SegmentIndexChecker.BatchLocation] = []
        var status: Int32 = 0
        print("Dumping \(path)")
        print("Log starting offset: \(inspector.segmentBaseOffset.map(String.init) ?? "unknown")")
        let summary = try inspector.inspect { batch in
            print(Self.describe(batch))
            if let problem = batch.problem { print("corrupt batch at position \(batch.position): \(problem)") }
            printRecords(of: batch)
            if let error = batch.recordsError {
                print("undecodable records in batch at position \(batch.position): \(error)")
            }
            if !skipIndexCheck { locations.append(.init(batch)) }
        }
        if let stop = summary.scanStop { print(stop) }
        if summary.corruption != nil || summary.undecodableBatches > 0 { status = 1 }
        print("batches: \(summary.batchCount) records: \(summary.recordCount) bytes: \(summary.scannedBytes)")
        if let first = summary.corruption {
            var notes: [String] = []
            let n = summary.invalidBatchCount
            if n > 0 { notes.append("\(n) invalid batch\(n == 1 ? "" : "es")") }
            if summary.scanStop != nil { notes.append("unreadable from position \(summary.scannedBytes)") }
            print("valid up to position \(first.position) of \(summary.fileSize) bytes: \(notes.joined(separator: ", "))")
        }
        if !skipIndexCheck {
            let base = inspector.segmentBaseOffset ?? locations.first?.baseOffset ?? 0
            let stem = String(path.dropLast(".log".count))
            for suffix in [".index", ".timeindex"] {
                let indexPath = stem + suffix
                let kind = String(suffix.dropFirst())
                guard FileManager.default.fileExists(atPath: indexPath) else {
                    print("\(kind): none (no \((indexPath as NSString).lastPathComponent))")
                    continue
                }
                let result: IndexCheckResult
                do {
                    result = try check(indexPath, base: base, batches: locations, summary: summary).result
                } catch {
                    warn("cannot read \(indexPath): \(error)")
                    status = 2
                    continue
                }
                printResult(result)
                if !result.isConsistent { status = max(status, 1) }
            }
        }
        return status
    }

    private func printRecords(of batch: SegmentInspector.Batch) {
        guard let records = batch.records else { return }
        for record in records {
            var line = "| offset: \(record.offset) \(batch.timestampType): \(record.timestamp) keySize: \(record.keySize) "
                + "valueSize: \(record.valueSize) sequence: \(record.sequence) headerKeys: [\(record.headerKeys.joined(separator: ","))]"
            if printData {
                line += " key: \(record.key ?? "null") payload: \(record.value ?? "null")"
            }
            print(line)
        }
    }

    /// A batch in `kafka-dump-log.sh`'s format.
    static func describe(_ b: SegmentInspector.Batch) -> String {
        "baseOffset: \(b.baseOffset) lastOffset: \(b.lastOffset) count: \(b.recordCount) "
            + "baseSequence: \(b.baseSequence) lastSequence: \(b.lastSequence) producerId: \(b.producerID) "
            + "producerEpoch: \(b.producerEpoch) partitionLeaderEpoch: \(b.partitionLeaderEpoch) "
            + "isTransactional: \(b.isTransactional) isControl: \(b.isControl) position: \(b.position) "
            + "\(b.timestampType): \(b.maxTimestamp) size: \(b.sizeBytes) magic: \(b.magic) "
            + "compresscodec: \(b.codecName) crc: \(b.storedCRC) isvalid: \(b.isValid)"
    }

    // MARK: - Index files

    private enum IndexContents {
        case offsets(IndexFileContents<SegmentIndexChecker.OffsetEntry>)
        case times(IndexFileContents<SegmentIndexChecker.TimeEntry>)
    }

    /// Reads and checks the index at `indexPath` against already inspected batches.
    private func check(_ indexPath: String, base: Int64, batches: [SegmentIndexChecker.BatchLocation],
                       summary: SegmentInspector.Summary) throws -> (contents: IndexContents, result: IndexCheckResult) {
        if indexPath.hasSuffix(".timeindex") {
            let contents = try SegmentIndexChecker.readTimeIndex(path: indexPath)
            return (.times(contents), SegmentIndexChecker.checkTimeIndex(contents, segmentBaseOffset: base, batches: batches,
                                                                        logIsTruncated: summary.scanStop != nil))
        }
        let contents = try SegmentIndexChecker.readOffsetIndex(path: indexPath)
        return (.offsets(contents), SegmentIndexChecker.checkOffsetIndex(contents, segmentBaseOffset: base, batches: batches,
                                                                          logSize: summary.fileSize, scannedBytes: summary.scannedBytes))
    }

    /// Prints the entries of an index file and, unless skipped, checks it against the sibling `.log`.
    private func dumpIndex(_ path: String, suffix: String) throws -> Int32 {
        let name = (path as NSString).lastPathComponent
        let base = SegmentInspector.baseOffset(fromFileName: name) ?? 0
        print("Dumping \(path)")
        var status: Int32 = 0
        let contents: IndexContents
        var result: IndexCheckResult?
        var logCorruption: SegmentInspector.Corruption?
        if skipIndexCheck {
            contents = suffix == ".index" ? .offsets(try SegmentIndexChecker.readOffsetIndex(path: path))
                                          : .times(try SegmentIndexChecker.readTimeIndex(path: path))
        } else {
            let logPath = String(path.dropLast(suffix.count)) + ".log"
            var locations: [SegmentIndexChecker.BatchLocation] = []
            let summary: SegmentInspector.Summary
            do {
                summary = try SegmentInspector(path: logPath).inspect { locations.append(.init($0)) }
            } catch {
                warn("cannot check \(path) against \(logPath): \(error)")
                return 2
            }
            logCorruption = summary.corruption
            (contents, result) = try check(path, base: base, batches: locations, summary: summary)
        }
        let trailing: Int
        switch contents {
        case .offsets(let index):
            let count = result?.entryCount ?? index.entries.lastIndex { $0 != .init(relativeOffset: 0, position: 0) }.map { $0 + 1 } ?? 0
            for entry in index.entries[..<count] {
                print("offset: \(base &+ Int64(entry.relativeOffset)) position: \(entry.position)")
            }
            trailing = index.entries.count - count
        case .times(let index):
            let count = result?.entryCount ?? index.entries.lastIndex { $0 != .init(timestamp: 0, relativeOffset: 0) }.map { $0 + 1 } ?? 0
            for entry in index.entries[..<count] {
                print("timestamp: \(entry.timestamp) offset: \(base &+ Int64(entry.relativeOffset))")
            }
            trailing = index.entries.count - count
        }
        if let logCorruption {
            print("log: \(logCorruption)")
            status = 1
        }
        if let result {
            printResult(result)
            if !result.isConsistent { status = 1 }
        } else if trailing > 0 {
            print("(\(trailing) trailing zero entries: preallocated)")
        }
        return status
    }

    private func printResult(_ result: IndexCheckResult) {
        let trailing = result.trailingZeroEntries > 0
            ? ", \(result.trailingZeroEntries) trailing zero entries (preallocated)" : ""
        if result.isConsistent {
            print("\(result.kind): consistent (\(result.entryCount) entries\(trailing))")
        } else {
            let n = result.problems.count
            print("\(result.kind): \(n) problem\(n == 1 ? "" : "s") (\(result.entryCount) entries\(trailing))")
            for problem in result.problems { print("\(result.kind): \(problem)") }
        }
    }

    private func warn(_ message: String) {
        FileHandle.standardError.write(Data("runnel log dump: \(message)\n".utf8))
    }
}
