import KafkaProtocol

/// Reads Kafka-style `name=value` properties, remembering which were used so that
/// ``finish()`` can reject the unknown ones.
struct PropertyReader {
    private let properties: [String: String]
    private var used: Set<String> = []

    init(_ properties: [String: String]) { self.properties = properties }

    mutating func string(_ name: String) -> String? {
        used.insert(name)
        return properties[name]
    }

    mutating func int(_ name: String, range: ClosedRange<Int> = 0...Int.max) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text.trimmedWhitespace), range.contains(value) else {
            throw ClientError.invalidConfiguration(property: name, value: text,
                                                   reason: "expected an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    mutating func milliseconds(_ name: String) throws -> Duration? {
        try int(name).map { .milliseconds($0) }
    }

    mutating func bool(_ name: String) throws -> Bool? {
        guard let text = string(name) else { return nil }
        switch text.trimmedWhitespace.lowercased() {
        case "true": return true
        case "false": return false
        default: throw ClientError.invalidConfiguration(property: name, value: text, reason: "expected true or false")
        }
    }

    mutating func oneOf<T>(_ name: String, _ choices: [String: T]) throws -> T? {
        guard let text = string(name) else { return nil }
        guard let value = choices[text.trimmedWhitespace.lowercased()] else {
            throw ClientError.invalidConfiguration(property: name, value: text,
                                                   reason: "expected one of \(choices.keys.sorted().joined(separator: ", "))")
        }
        return value
    }

    /// Marks properties that other clients use but that change nothing here, so they are accepted.
    mutating func ignore(_ names: [String]) { used.formUnion(names) }

    /// - Throws: ``ClientError/unknownProperty(_:)`` for the first (alphabetically) unused property.
    func finish() throws {
        if let unknown = properties.keys.filter({ !used.contains($0) }).sorted().first {
            throw ClientError.unknownProperty(unknown)
        }
    }
}

extension ClientConfiguration {
    /// Settings from Kafka property names (`bootstrap.servers`, `client.id`, `request.timeout.ms`,
    /// `socket.connection.setup.timeout.ms`, `reconnect.backoff.ms`, `reconnect.backoff.max.ms`,
    /// `retry.backoff.ms`, `metadata.max.age.ms`, `security.protocol`, the `ssl.*` keys of
    /// ``TLSSettings`` and SASL's `sasl.mechanism`, `sasl.username`, `sasl.password`); others keep
    /// their defaults.
    /// - Throws: ``ClientError/unknownProperty(_:)`` or ``ClientError/invalidConfiguration(property:value:reason:)``.
    public init(properties: [String: String]) throws {
        var reader = PropertyReader(properties)
        try self.init(reading: &reader)
        try reader.finish()
    }

    init(reading reader: inout PropertyReader) throws {
        self.init()
        if let servers = reader.string("bootstrap.servers") { bootstrapServers = try BrokerAddress.parseList(servers) }
        if let id = reader.string("client.id") { clientID = id }
        if let v = try reader.milliseconds("request.timeout.ms") { requestTimeout = v }
        if let v = try reader.milliseconds("socket.connection.setup.timeout.ms") { connectTimeout = v }
        if let v = try reader.milliseconds("reconnect.backoff.ms") { reconnectBackoff = v }
        if let v = try reader.milliseconds("reconnect.backoff.max.ms") { reconnectBackoffMax = v }
        if let v = try reader.milliseconds("retry.backoff.ms") { retryBackoff = v }
        if let v = try reader.milliseconds("metadata.max.age.ms") { metadataMaxAge = v }
        try readSecurity(&reader)
        sasl = try SaslConfiguration.read(from: &reader)
        reader.ignore(["client.dns.lookup", "socket.keepalive.enable", "api.version.request"])
    }
}

extension ProducerConfiguration {
    /// Settings from Kafka producer property names: the ``ClientConfiguration`` ones plus `acks`
    /// (`0`, `1`, `all`, `-1`), `linger.ms`, `batch.size`, `compression.type` (`none`, `gzip`,
    /// `snappy`, `lz4`, `zstd`), `enable.idempotence`, `max.in.flight.requests.per.connection`,
    /// `delivery.timeout.ms` (librdkafka: `message.timeout.ms`), `buffer.memory`,
    /// `max.request.size`, `partitioner` (`murmur2_random`, `sticky`).
    /// - Throws: ``ClientError/unknownProperty(_:)`` or ``ClientError/invalidConfiguration(property:value:reason:)``,
    ///   also for `enable.idempotence=true` with `acks` other than `all`, or more than 5 requests in flight.
    public init(properties: [String: String]) throws {
        var reader = PropertyReader(properties)
        self.init()
        client = try ClientConfiguration(reading: &reader)
        if let v = try reader.oneOf("acks", ["0": Acks.none, "1": .leader, "all": .all, "-1": .all]) { acks = v }
        if let v = try reader.milliseconds("linger.ms") { linger = v }
        if let v = try reader.int("batch.size", range: 1...Int(Int32.max)) { batchSizeBytes = v }
        if let text = reader.string("compression.type") {
            guard let codec = CompressionCodec(name: text.trimmedWhitespace) else {
                throw ClientError.invalidConfiguration(property: "compression.type", value: text,
                                                       reason: "expected one of none, gzip, snappy, lz4, zstd")
            }
            compression = codec
        }
        let idempotenceGiven = try reader.bool("enable.idempotence")
        if let v = idempotenceGiven { enableIdempotence = v }
        if let v = try reader.int("max.in.flight.requests.per.connection", range: 1...1000) { maxInFlightRequestsPerConnection = v }
        if let v = try reader.milliseconds("delivery.timeout.ms") { deliveryTimeout = v }
        if let v = try reader.milliseconds("message.timeout.ms") { deliveryTimeout = v }
        if let v = try reader.int("buffer.memory", range: 1...Int.max) { bufferMemoryBytes = v }
        if let v = try reader.int("max.request.size", range: 1...Int(Int32.max)) { maxRequestSizeBytes = v }
        if let v = try reader.oneOf("partitioner", ["murmur2_random": PartitionerKind.murmur2Sticky,
                                                    "sticky": .sticky]) { partitioner = v }
        reader.ignore(["retries", "key.serializer", "value.serializer"])
        try reader.finish()
        if enableIdempotence, acks != .all {
            // As the Java client: an explicit conflict is an error, an implied one turns idempotence off.
            guard idempotenceGiven != true else {
                throw ClientError.invalidConfiguration(property: "acks", value: "\(acks.rawValue)",
                                                       reason: "enable.idempotence=true requires acks=all")
            }
            enableIdempotence = false
        }
        if enableIdempotence, maxInFlightRequestsPerConnection > 5 {
            throw ClientError.invalidConfiguration(property: "max.in.flight.requests.per.connection",
                                                   value: "\(maxInFlightRequestsPerConnection)",
                                                   reason: "must be at most 5 with enable.idempotence=true")
        }
    }
}

extension ConsumerConfiguration {
    /// Settings from Kafka consumer property names: the ``ClientConfiguration`` ones plus
    /// `group.id`, `group.instance.id`, `auto.offset.reset` (`earliest`, `latest`, `none`; also
    /// librdkafka's `smallest`, `beginning`, `largest`, `end`), `enable.auto.commit`,
    /// `auto.commit.interval.ms`, `session.timeout.ms`, `heartbeat.interval.ms`,
    /// `max.poll.interval.ms`, `partition.assignment.strategy` (comma-separated `range`,
    /// `roundrobin`, `cooperative-sticky`), `isolation.level`, `fetch.min.bytes`,
    /// `fetch.max.bytes`, `max.partition.fetch.bytes`, `fetch.max.wait.ms`
    /// (librdkafka: `fetch.wait.max.ms`).
    /// - Throws: ``ClientError/unknownProperty(_:)`` or ``ClientError/invalidConfiguration(property:value:reason:)``.
    public init(properties: [String: String]) throws {
        var reader = PropertyReader(properties)
        self.init()
        client = try ClientConfiguration(reading: &reader)
        groupID = reader.string("group.id")
        groupInstanceID = reader.string("group.instance.id")
        if let v = try reader.oneOf("auto.offset.reset", [
            "earliest": OffsetResetPolicy.earliest, "smallest": .earliest, "beginning": .earliest,
            "latest": .latest, "largest": .latest, "end": .latest, "none": .none, "error": .none,
        ]) { autoOffsetReset = v }
        if let v = try reader.bool("enable.auto.commit") { enableAutoCommit = v }
        if let v = try reader.milliseconds("auto.commit.interval.ms") { autoCommitInterval = v }
        if let v = try reader.milliseconds("session.timeout.ms") { sessionTimeout = v }
        if let v = try reader.milliseconds("heartbeat.interval.ms") { heartbeatInterval = v }
        if let v = try reader.milliseconds("max.poll.interval.ms") { rebalanceTimeout = v }
        if let text = reader.string("partition.assignment.strategy") {
            assignors = try text.split(separator: ",").map {
                guard let kind = AssignorKind(rawValue: $0.trimmedWhitespace.lowercased()) else {
                    throw ClientError.invalidConfiguration(property: "partition.assignment.strategy", value: text,
                                                           reason: "expected range, roundrobin or cooperative-sticky")
                }
                return kind
            }
            if assignors.isEmpty {
                throw ClientError.invalidConfiguration(property: "partition.assignment.strategy", value: text,
                                                       reason: "name at least one assignor")
            }
        }
        if let v = try reader.oneOf("isolation.level", ["read_uncommitted": IsolationLevel.readUncommitted,
                                                        "read_committed": .readCommitted]) { isolationLevel = v }
        if let v = try reader.int("fetch.min.bytes", range: 0...Int(Int32.max)) { fetchMinBytes = v }
        if let v = try reader.int("fetch.max.bytes", range: 1...Int(Int32.max)) { fetchMaxBytes = v }
        if let v = try reader.int("max.partition.fetch.bytes", range: 1...Int(Int32.max)) { maxPartitionFetchBytes = v }
        if let v = try reader.milliseconds("fetch.max.wait.ms") { fetchMaxWait = v }
        if let v = try reader.milliseconds("fetch.wait.max.ms") { fetchMaxWait = v }
        reader.ignore(["key.deserializer", "value.deserializer"])
        try reader.finish()
    }
}
