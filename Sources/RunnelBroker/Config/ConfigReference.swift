/// Renders `docs/configuration.md` from ``ConfigDefinitions`` so the reference cannot drift from
/// the code (`runnel config-reference > docs/configuration.md`; a test compares the two).
public enum ConfigReference {
    public static func markdown() -> String {
        var out = """
        # Configuration reference

        Generated from `Sources/RunnelBroker/Config/ConfigDefinitions.swift` by `runnel config-reference`;
        do not edit by hand. Keys are Kafka's names; keys that Kafka does not have start with `runnel.`.
        Broker keys go in `server.properties` or `--override key=value`; topic keys go in CreateTopics
        configs (for example `kafka-topics.sh --config` or an AdminClient `NewTopic`) and default to
        the broker key named in their row.

        ## Broker keys

        | key | type | default | valid values | description |
        |---|---|---|---|---|

        """
        for def in ConfigDefinitions.broker { out += row(def, defaultFrom: nil) }
        out += """

        ## Topic keys

        | key | type | default | valid values | description |
        |---|---|---|---|---|

        """
        for def in ConfigDefinitions.topic { out += row(def, defaultFrom: def.brokerKey) }
        return out
    }

    private static func row(_ def: ConfigDefinition, defaultFrom brokerKey: String?) -> String {
        let defaultText = def.defaultValue.map { "`\($0)`" } ?? "null"
        let source = brokerKey.map { " (from `\($0)`)" } ?? ""
        let allowed = def.type == .boolean ? "true, false" : def.validator.allowedDescription
        return "| `\(def.name)` | \(def.type.rawValue) | \(defaultText)\(source) | \(allowed) | \(def.documentation) |\n"
    }
}
