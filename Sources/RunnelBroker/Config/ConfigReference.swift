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

        Dynamic broker keys can be changed at run time with AlterConfigs or IncrementalAlterConfigs
        (for example `kafka-configs.sh --alter --entity-type brokers --entity-default`) for the whole
        cluster (resource name "") or one broker (its id), without a restart; the change is kept in
        the metadata log. Topic keys are always dynamic.

        ## Broker keys

        | key | type | default | valid values | dynamic | topic override | description |
        |---|---|---|---|---|---|---|

        """
        let overrideOf = Dictionary(ConfigDefinitions.topic.compactMap { def in def.brokerKey.map { ($0, def.name) } },
                                    uniquingKeysWith: { first, _ in first })
        for def in ConfigDefinitions.broker {
            let dynamic = ConfigDefinitions.dynamicBrokerKeys.contains(def.name) ? "cluster-wide, per broker" : "read-only"
            out += row(def, defaultFrom: nil, extra: [dynamic, overrideOf[def.name].map { "`\($0)`" } ?? ""])
        }
        out += """

        ## Topic keys

        | key | type | default | valid values | description |
        |---|---|---|---|---|

        """
        for def in ConfigDefinitions.topic { out += row(def, defaultFrom: def.brokerKey, extra: []) }
        return out
    }

    private static func row(_ def: ConfigDefinition, defaultFrom brokerKey: String?, extra: [String]) -> String {
        let defaultText = def.defaultValue.map { "`\($0)`" } ?? "null"
        let source = brokerKey.map { " (from `\($0)`)" } ?? ""
        let allowed = def.type == .boolean ? "true, false" : def.validator.allowedDescription
        let middle = extra.map { " \($0) |" }.joined()
        return "| `\(def.name)` | \(def.type.rawValue) | \(defaultText)\(source) | \(allowed) |\(middle) \(def.documentation) |\n"
    }
}
