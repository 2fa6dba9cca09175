/// Settings every client (producer, consumer, admin) shares. Defaults follow Kafka's Java client.
public struct ClientConfiguration: Sendable, Equatable {
    /// Brokers to ask for cluster metadata first (`bootstrap.servers`); any one is enough, the rest
    /// are tried in turn. Default `localhost:9092`.
    public var bootstrapServers: [BrokerAddress] = [BrokerAddress(host: "localhost", port: 9092)]
    /// Sent in every request header and shown in broker logs and quotas (`client.id`). Default `runnel`.
    public var clientID: String = "runnel"
    /// How long to wait for a response before failing the request and closing the connection
    /// (`request.timeout.ms`). Default 30 s.
    public var requestTimeout: Duration = .seconds(30)
    /// How long a TCP connect may take (`socket.connection.setup.timeout.ms`). Default 10 s.
    public var connectTimeout: Duration = .seconds(10)
    /// First wait before reconnecting to a broker after a failure (`reconnect.backoff.ms`); doubles
    /// per failure up to ``reconnectBackoffMax``. Default 50 ms.
    public var reconnectBackoff: Duration = .milliseconds(50)
    /// Longest wait between reconnect attempts (`reconnect.backoff.max.ms`). Default 1 s.
    public var reconnectBackoffMax: Duration = .seconds(1)
    /// Wait before retrying a failed request (`retry.backoff.ms`). Default 100 ms.
    public var retryBackoff: Duration = .milliseconds(100)
    /// Metadata older than this is refreshed even without an error (`metadata.max.age.ms`). Default 5 min.
    public var metadataMaxAge: Duration = .seconds(300)
    /// How connections are secured (`security.protocol`). Default PLAINTEXT.
    public var securityProtocol: SecurityProtocol = .plaintext
    /// TLS settings, used when ``securityProtocol`` is SSL or SASL_SSL (`ssl.*`).
    public var tls = TLSSettings()
    /// SASL authentication of every connection (`security.protocol=SASL_PLAINTEXT` or `SASL_SSL`
    /// with `sasl.mechanism`, `sasl.username`, `sasl.password`); nil for none. Default nil.
    public var sasl: SaslConfiguration? = nil

    /// The defaults above.
    public init() {}

    /// Settings from Kafka property names; see ``ClientConfiguration/init(properties:)-swift.init``.
    public init(bootstrapServers: [BrokerAddress], clientID: String = "runnel") {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
    }
}

/// How many replicas must have a record before the producer's send completes (`acks`).
public enum Acks: Int16, Sendable, Equatable {
    /// `acks=0`: the broker sends no response; offsets are unknown (-1).
    case none = 0
    /// `acks=1`: the partition leader has appended the record.
    case leader = 1
    /// `acks=all` (-1): every in-sync replica has the record. Required for idempotence.
    case all = -1
}

/// Where a consumer starts when its group has no committed offset or the offset is out of range
/// (`auto.offset.reset`).
public enum OffsetResetPolicy: String, Sendable, Equatable {
    /// The log start offset.
    case earliest
    /// The log end offset (only records produced from now on).
    case latest
    /// Fail with ``ClientError/broker(code:message:context:)`` OFFSET_OUT_OF_RANGE.
    case none
}

/// Which records a consumer sees of transactions (`isolation.level`, KIP-98).
public enum IsolationLevel: Int8, Sendable, Equatable {
    /// Everything up to the high watermark, including records of open and aborted transactions.
    case readUncommitted = 0
    /// Only up to the last stable offset; records of aborted transactions are skipped.
    case readCommitted = 1
}
