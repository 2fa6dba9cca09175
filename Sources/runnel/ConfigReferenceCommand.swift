import ArgumentParser
import RunnelBroker

/// `runnel config-reference`: prints the configuration reference (docs/configuration.md) as Markdown.
struct ConfigReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config-reference",
        abstract: "Print the reference of every configuration key as Markdown."
    )

    func run() throws {
        print(ConfigReference.markdown(), terminator: "")
    }
}
