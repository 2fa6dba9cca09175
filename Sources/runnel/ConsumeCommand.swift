import ArgumentParser
import Foundation
import RunnelClient

/// `runnel consume TOPIC`: prints records, like `kcat -C`.
struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print the records of a topic.",
        discussion: """
        Without --group every partition (or --partition) is read directly; with --group the \
        consumer joins the group, which assigns partitions and stores committed offsets. \
        By default each record's value is printed on its own line (--format '%s\\n').
        """
    )

    enum Output: String, ExpressibleByArgument { case text, json }

    @OptionGroup var client: ClientOptions
    @Argument(help: "Topic to read.") var topic: String
    @Option(name: .long, help: "Consumer group to join (commits offsets).") var group: String?
    @Flag(name: .customLong("from-beginning"), help: "Start at the log start offset where nothing is committed.")
    var fromBeginning = false
    @Option(name: .long, help: "Start offset: a number, 'beginning' or 'end' (not with --group).") var offset: String?
    @Option(name: .long, help: "Read only this partition (not with --group).") var partition: Int32?
    @Option(name: .customLong("max-messages"), help: "Exit after this many records.") var maxMessages: Int?
    @Flag(name: [.customShort("e"), .customLong("exit-at-end")],
          help: "Exit once every partition is read up to the log end offset it had at the start.")
    var exitAtEnd = false
    @Option(name: .long, help: "kcat-style format: %t %p %o %k %s %K %S %T %h, \\n \\t.") var format: String = "%s\\n"
    @Option(name: .long, help: "text (use --format) or json (one object per line).") var output: Output = .text
    @Option(name: .customLong("timeout-ms"), help: "Exit with status 0 after this long without a record.")
    var timeoutMs: Int?

    func validate() throws {
        if group != nil, offset != nil || partition != nil {
            throw ValidationError("--offset and --partition read partitions directly; they cannot be combined with --group")
        }
        if let offset, Int64(offset) == nil, !["beginning", "end"].contains(offset) {
            throw ValidationError("--offset must be a number, 'beginning' or 'end', got '\(offset)'")
        }
    }

    func run() async throws {
        try await runClient {
            let formatter = try ConsumeFormat(format)
            var extra = ["auto.offset.reset": fromBeginning || offset == "beginning" ? "earliest" : "latest"]
            if let group { extra["group.id"] = group }
            var config = try ConsumerConfiguration(properties: try client.propertyMap(extra))
            if !client.properties.contains(where: { $0.hasPrefix("request.timeout.ms=") }) { config.client.requestTimeout = .seconds(15) }
            let consumer = Consumer(configuration: config)
            let admin = Admin(configuration: config.client)
            let partitions: [TopicPartition]
            if let partition {
                partitions = [TopicPartition(topic: topic, partition: partition)]
            } else {
                partitions = try await admin.partitions(of: topic)
            }
            var endOffsets: [TopicPartition: Int64] = [:]
            if exitAtEnd { endOffsets = try await admin.listOffsets(partitions, spec: .latest) }
            await admin.close()
            if group != nil {
                try await consumer.subscribe(topics: [topic])
            } else {
                try await consumer.assign(partitions)
                if let offset, let number = Int64(offset) {
                    for tp in partitions { try await consumer.seek(tp, to: number) }
                } else if offset == "end" {
                    try await consumer.seek(partitions, to: .latest)
                }
            }
            let stop = StopSignal()
            let out = OutputBuffer()
            var count = 0
            var lastRecord = ContinuousClock.now
            var reachedEnd: Set<TopicPartition> = []
            consuming: while !stop.isSet {
                if let maxMessages, count >= maxMessages { break }
                let records = try await consumer.poll(maxWait: .milliseconds(200))
                for record in records {
                    if let end = endOffsets[record.topicPartition], exitAtEnd, record.offset >= end { continue }
                    if output == .json {
                        out.write(ConsumeFormat.json(record) + "\n")
                    } else {
                        var data = Data()
                        formatter.render(record, into: &data)
                        out.write(data)
                    }
                    count += 1
                    if let maxMessages, count >= maxMessages { break consuming }
                }
                if !records.isEmpty {
                    lastRecord = .now
                    out.flush()
                }
                if exitAtEnd {
                    for tp in await consumer.assignment() {
                        if let position = await consumer.position(tp), position >= endOffsets[tp, default: 0] { reachedEnd.insert(tp) }
                    }
                    let assigned = await consumer.assignment()
                    if !assigned.isEmpty, Set(assigned).isSubset(of: reachedEnd) { break }
                }
                if let timeoutMs, ContinuousClock.now - lastRecord >= .milliseconds(timeoutMs) { break }
            }
            out.flush()
            if group != nil { try? await consumer.commit() }
            await consumer.close()
        }
    }
}
