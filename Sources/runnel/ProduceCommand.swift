import ArgumentParser
import Foundation
import KafkaProtocol
import NIOCore
import RunnelClient
import Synchronization

/// `runnel produce TOPIC`: one record per input line, like `kcat -P`.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Send one record per line of stdin (or --file) to a topic.",
        discussion: """
        With --key-separator, the text before the first separator on a line is the key and the rest \
        the value; lines without it get a null key. Records are sent with the idempotent producer \
        (acks=all) unless --acks says otherwise. Exit status 1 if any record fails.
        """
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "Topic to send to.") var topic: String
    @Option(name: .long, help: "Read lines from this file instead of stdin.") var file: String?
    @Option(name: .customLong("key-separator"), help: "Split each line into key and value at the first occurrence.")
    var keySeparator: String?
    @Option(name: .long, help: "A header key=value added to every record; repeatable.") var header: [String] = []
    @Option(name: .long, help: "Send every record to this partition (default: murmur2 of the key, sticky without).")
    var partition: Int32?
    @Option(name: .long, help: "0, 1 or all (default all).") var acks: String?
    @Option(name: .long, help: "none, gzip, snappy, lz4 or zstd (default none).") var compression: String?
    @Option(name: .customLong("linger-ms"), help: "Batch linger in milliseconds (default 5).") var lingerMs: Int?
    @Flag(name: .long, help: "Print 'TOPIC [PARTITION] @ OFFSET key=KEY' to stderr as each record is acknowledged.")
    var verbose = false

    func run() async throws {
        try await runClient {
            var extra: [String: String] = [:]
            if let acks { extra["acks"] = acks }
            if let compression { extra["compression.type"] = compression }
            if let lingerMs { extra["linger.ms"] = "\(lingerMs)" }
            var config = try ProducerConfiguration(properties: try client.propertyMap(extra))
            if !client.properties.contains(where: { $0.hasPrefix("request.timeout.ms=") }) {
                config.client.requestTimeout = .seconds(15)
                config.deliveryTimeout = .seconds(30)
            }
            let headers = try parsePairs(header, option: "--header").map { RecordHeader(key: $0.0, value: $0.1) }
            let input: FileHandle
            if let file {
                guard let handle = FileHandle(forReadingAtPath: file) else {
                    throw CLIError("cannot read --file \(file): no such file or no permission")
                }
                input = handle
            } else {
                input = FileHandle.standardInput
            }
            let producer = Producer(configuration: config)
            let failures = Mutex<(count: Int, first: String?)>((0, nil))
            let verbose = self.verbose
            var sent = 0
            for line in LineReader(handle: input, streaming: file == nil) {
                var key: ByteBuffer?
                var value = line
                if let keySeparator, let range = line.range(of: keySeparator) {
                    key = ByteBuffer(string: String(line[..<range.lowerBound]))
                    value = String(line[range.upperBound...])
                }
                let record = ProducerRecord(topic: topic, partition: partition, key: key,
                                            value: ByteBuffer(string: value), headers: headers)
                let keyText = key.map { " key=" + String(buffer: $0) } ?? ""
                try await producer.send(record) { result in
                    switch result {
                    case .success(let metadata):
                        if verbose { printError("\(metadata.topic) [\(metadata.partition)] @ \(metadata.offset)\(keyText)") }
                    case .failure(let error):
                        failures.withLock { state in
                            state.count += 1
                            if state.first == nil { state.first = "\(error)" }
                        }
                    }
                }
                sent += 1
            }
            await producer.close()
            let (failed, first) = failures.withLock { ($0.count, $0.first) }
            if failed > 0 {
                throw CLIError("\(failed) of \(sent) records failed; first error: \(first ?? "?")")
            }
            printError("Produced \(sent) records to \(topic).")
        }
    }
}

/// Lines of a file handle, without their `\n` (or `\r\n`), read as they arrive.
struct LineReader: Sequence, IteratorProtocol {
    let handle: FileHandle
    /// Whether `handle` is a pipe or terminal (stdin) rather than a file.
    let streaming: Bool
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    init(handle: FileHandle, streaming: Bool) {
        self.handle = handle
        self.streaming = streaming
    }

    mutating func next() -> String? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                var end = newline
                if end > start, buffer[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return String(decoding: buffer[start...], as: UTF8.self)
            }
            buffer.removeFirst(start)
            start = 0
            // From a pipe or terminal: what is there now (at least one byte, empty at the end), so
            // lines that come slowly are sent as they come. From a file: 64 KiB at a time.
            let chunk = streaming ? handle.availableData : handle.readData(ofLength: 64 * 1024)
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
