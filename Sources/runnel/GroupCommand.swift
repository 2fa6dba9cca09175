import ArgumentParser
import RunnelClient

/// `runnel group list|describe|reset-offsets|delete`, like `kafka-consumer-groups.sh`.
struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "List, describe, reset and delete consumer groups.",
        subcommands: [List.self, Describe.self, ResetOffsets.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List groups with their state and protocol type.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                let groups = try await admin.listGroups()
                await admin.close()
                var table = [["GROUP", "STATE", "PROTOCOL-TYPE"]]
                table += groups.map { [$0.groupID, $0.state.isEmpty ? "-" : $0.state, $0.protocolType.isEmpty ? "-" : $0.protocolType] }
                printTable(table)
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a group's state, members and, per partition, committed offset, log end offset and lag.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Group id.") var group: String

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                guard let description = try await admin.describeGroups([group]).first else {
                    throw CLIError("group '\(group)' not found")
                }
                if description.state == "Dead" {
                    throw CLIError("group '\(group)' does not exist; runnel group list shows the groups")
                }
                let committed = try await admin.groupOffsets(group)
                var owners: [TopicPartition: GroupMemberDescription] = [:]
                for member in description.members { for tp in member.assignment { owners[tp] = member } }
                let partitions = Set(committed.keys).union(owners.keys).sorted()
                let ends = partitions.isEmpty ? [:] : try await admin.listOffsets(partitions, spec: .latest)
                await admin.close()
                print("Group: \(group)\tState: \(description.state)\tAssignor: \(description.assignor.isEmpty ? "-" : description.assignor)\tMembers: \(description.members.count)")
                var table = [["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]]
                for tp in partitions {
                    let current = committed[tp]
                    let end = ends[tp]
                    let lag = current.flatMap { c in end.map { max(0, $0 - c) } }
                    let owner = owners[tp]
                    table.append([tp.topic, "\(tp.partition)", current.map(String.init) ?? "-", end.map(String.init) ?? "-",
                                  lag.map(String.init) ?? "-", owner?.memberID ?? "-", owner?.host ?? "-", owner?.clientID ?? "-"])
                }
                printTable(table)
            }
        }
    }

    struct ResetOffsets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-offsets",
            abstract: "Move a group's committed offsets (a dry run unless --execute).",
            discussion: "The group must have no active members: stop its consumers first.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Group id.") var group: String
        @Option(name: .long, help: "Topic whose partitions to reset.") var topic: String
        @Flag(name: .customLong("to-earliest"), help: "Reset to the log start offset.") var toEarliest = false
        @Flag(name: .customLong("to-latest"), help: "Reset to the log end offset.") var toLatest = false
        @Option(name: .customLong("to-offset"), help: "Reset to this offset.") var toOffset: Int64?
        @Option(name: .customLong("to-timestamp"), help: "Reset to the first offset at or after this time (ms since epoch).")
        var toTimestamp: Int64?
        @Flag(name: .long, help: "Apply the change (default: only show it).") var execute = false

        func validate() throws {
            let chosen = [toEarliest, toLatest, toOffset != nil, toTimestamp != nil].filter { $0 }.count
            guard chosen == 1 else {
                throw ValidationError("give exactly one of --to-earliest, --to-latest, --to-offset, --to-timestamp")
            }
        }

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                let partitions = try await admin.partitions(of: topic)
                var targets: [TopicPartition: Int64]
                if let toOffset {
                    let starts = try await admin.listOffsets(partitions, spec: .earliest)
                    let ends = try await admin.listOffsets(partitions, spec: .latest)
                    targets = Dictionary(uniqueKeysWithValues: partitions.map {
                        ($0, min(max(toOffset, starts[$0] ?? 0), ends[$0] ?? toOffset))
                    })
                } else if let toTimestamp {
                    let found = try await admin.listOffsets(partitions, spec: .timestamp(toTimestamp))
                    let ends = try await admin.listOffsets(partitions, spec: .latest)
                    targets = Dictionary(uniqueKeysWithValues: partitions.map { tp in
                        (tp, found[tp].flatMap { $0 >= 0 ? $0 : nil } ?? ends[tp] ?? 0)
                    })
                } else {
                    targets = try await admin.listOffsets(partitions, spec: toEarliest ? .earliest : .latest)
                }
                if execute { try await admin.alterGroupOffsets(group, offsets: targets) }
                await admin.close()
                var table = [["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]]
                table += targets.keys.sorted().map { [group, $0.topic, "\($0.partition)", "\(targets[$0]!)"] }
                printTable(table)
                if !execute { print("Dry run: nothing changed; add --execute to commit these offsets.") }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete groups that have no active members.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Group ids.") var groups: [String]

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                do {
                    try await admin.deleteGroups(groups)
                } catch ClientError.broker(code: .nonEmptyGroup, _, let context) {
                    throw CLIError("\(context): the group has active members; stop its consumers first")
                } catch ClientError.broker(code: .groupIDNotFound, _, let context) {
                    throw CLIError("\(context): no such group; runnel group list shows the groups")
                }
                await admin.close()
                for group in groups { print("Deleted group \(group).") }
            }
        }
    }
}

/// Prints rows as left-aligned columns separated by two spaces.
func printTable(_ rows: [[String]]) {
    guard let columns = rows.map(\.count).max() else { return }
    var widths = Array(repeating: 0, count: columns)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    for row in rows {
        let cells = row.enumerated().map { i, cell in
            i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}
