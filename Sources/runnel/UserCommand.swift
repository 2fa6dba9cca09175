import ArgumentParser
import Foundation
import RunnelClient

/// `runnel user set-password|describe|delete`: SCRAM credentials in the metadata log
/// (KIP-554), like `kafka-configs.sh --entity-type users --alter --add-config SCRAM-SHA-512=...`.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Set, describe and delete users' SCRAM credentials (SCRAM-SHA-256, SCRAM-SHA-512).",
        discussion: "PLAIN users are not stored here: they are user_<name> entries of the broker's JAAS configuration.",
        subcommands: [SetPassword.self, Describe.self, Delete.self]
    )

    static func mechanism(_ text: String) throws -> SaslConfiguration.Mechanism {
        guard let mechanism = SaslConfiguration.Mechanism(rawValue: text.uppercased()), mechanism != .plain else {
            throw ValidationError("--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, got '\(text)'")
        }
        return mechanism
    }

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Create or replace a user's SCRAM credential (the password is read from stdin unless --password is given).",
            discussion: "The salted password is derived here (PBKDF2, random 32-byte salt); the password itself is never sent.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "User name.") var name: String
        @Option(name: .long, help: "SCRAM-SHA-256 or SCRAM-SHA-512.") var mechanism: String = "SCRAM-SHA-512"
        @Option(name: .long, help: "PBKDF2 iterations, 4096 to 16384.") var iterations: Int = 4096
        @Option(name: .long, help: "The password (visible in the process list: prefer stdin).") var password: String?

        func validate() throws {
            _ = try UserCommand.mechanism(mechanism)
            guard (4096...16384).contains(iterations) else { throw ValidationError("--iterations must be in 4096...16384") }
        }

        func run() async throws {
            try await runClient {
                let secret = try password ?? Self.readPassword()
                let admin = Admin(configuration: try client.clientConfiguration())
                do {
                    try await admin.setScramPassword(user: name, password: secret, mechanism: try UserCommand.mechanism(mechanism),
                                                     iterations: iterations)
                    await admin.close()
                } catch {
                    await admin.close()
                    throw error
                }
                print("Set \(mechanism.uppercased()) credential for user \(name) (\(iterations) iterations).")
            }
        }

        /// The first line of stdin, without its line break.
        static func readPassword() throws -> String {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw CLIError("no password given: pass --password or write it to stdin")
            }
            return line
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users' SCRAM mechanisms and iteration counts (never secrets).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "User names (default: every user with a SCRAM credential).") var names: [String] = []

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                let users: [String: [ScramCredentialInfo]]
                do {
                    users = try await admin.describeScramCredentials(users: names.isEmpty ? nil : names)
                    await admin.close()
                } catch {
                    await admin.close()
                    throw error
                }
                var table = [["USER", "MECHANISM", "ITERATIONS"]]
                for user in users.keys.sorted() {
                    for info in users[user] ?? [] { table.append([user, info.mechanism.rawValue, "\(info.iterations)"]) }
                }
                printTable(table)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user's SCRAM credential for one mechanism.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "User name.") var name: String
        @Option(name: .long, help: "SCRAM-SHA-256 or SCRAM-SHA-512.") var mechanism: String

        func validate() throws { _ = try UserCommand.mechanism(mechanism) }

        func run() async throws {
            try await runClient {
                let admin = Admin(configuration: try client.clientConfiguration())
                do {
                    try await admin.deleteScramCredential(user: name, mechanism: try UserCommand.mechanism(mechanism))
                    await admin.close()
                } catch {
                    await admin.close()
                    throw error
                }
                print("Deleted \(mechanism.uppercased()) credential of user \(name).")
            }
        }
    }
}
