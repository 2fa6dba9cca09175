import KafkaProtocol

/// Errors thrown by ``Producer``, ``Consumer`` and ``Admin``.
///
/// Each case's `description` names the problem and, where there is one, the fix; the CLI prints it
/// as is.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No TCP connection to `address` could be made (refused, unresolvable host, connect timeout).
    case brokerUnreachable(address: String, reason: String)
    /// None of the bootstrap servers answered.
    case noBrokerReachable(addresses: [String], reason: String)
    /// The connection closed before the response to an `api` request arrived.
    case connectionClosed(address: String)
    /// No response to an `api` request within the request timeout (`request.timeout.ms`).
    case requestTimedOut(api: String, address: String, timeout: Duration)
    /// The broker does not implement any version of `api` that this client speaks.
    case unsupportedVersion(api: String, address: String)
    /// The broker answered with `code` (a Kafka protocol error code).
    case broker(code: ErrorCode, message: String?, context: String)
    /// The topic does not exist (UNKNOWN_TOPIC_OR_PARTITION from Metadata).
    case unknownTopic(String)
    /// The partition does not exist in the topic.
    case unknownPartition(topic: String, partition: Int32)
    /// A configuration property is not known to this client.
    case unknownProperty(String)
    /// A configuration property has a value this client cannot use.
    case invalidConfiguration(property: String, value: String, reason: String)
    /// A record is larger than `max.request.size` or `buffer.memory`.
    case recordTooLarge(sizeBytes: Int, limitBytes: Int)
    /// The record was not acknowledged within `delivery.timeout.ms`.
    case deliveryTimedOut(topic: String, partition: Int32, timeout: Duration)
    /// The producer, consumer or admin client was closed.
    case closed
    /// An operation was called with an argument it cannot use.
    case invalidArgument(String)
    /// The broker's response could not be decoded.
    case malformedResponse(api: String, reason: String)

    public var description: String {
        switch self {
        case .brokerUnreachable(let address, let reason):
            return "broker \(address) is unreachable (\(reason)); check bootstrap.servers (--bootstrap-server) and that the broker is running"
        case .noBrokerReachable(let addresses, let reason):
            return "no broker reachable at \(addresses.joined(separator: ",")) (\(reason)); check bootstrap.servers (--bootstrap-server or RUNNEL_BOOTSTRAP_SERVERS) and that the broker is running"
        case .connectionClosed(let address):
            return "connection to \(address) closed before the response arrived"
        case .requestTimedOut(let api, let address, let timeout):
            return "\(api) request to \(address) timed out after \(timeout.milliseconds) ms; raise request.timeout.ms or check the broker's health"
        case .unsupportedVersion(let api, let address):
            return "broker \(address) supports no version of \(api) that this client speaks"
        case .broker(let code, let message, let context):
            return "\(context): \(code)\(message.map { " (\($0))" } ?? "")"
        case .unknownTopic(let topic):
            return "topic '\(topic)' does not exist; create it first (runnel topic create \(topic)) or check the name"
        case .unknownPartition(let topic, let partition):
            return "partition \(partition) does not exist in topic '\(topic)'; runnel topic describe \(topic) lists its partitions"
        case .unknownProperty(let name):
            return "unknown configuration property '\(name)'; docs/client.md lists the supported ones"
        case .invalidConfiguration(let property, let value, let reason):
            return "invalid value '\(value)' for '\(property)': \(reason)"
        case .recordTooLarge(let size, let limit):
            return "record of \(size) bytes is larger than the limit of \(limit) bytes; raise max.request.size / buffer.memory or send smaller records"
        case .deliveryTimedOut(let topic, let partition, let timeout):
            return "record for \(topic)-\(partition) not acknowledged within delivery.timeout.ms (\(timeout.milliseconds) ms)"
        case .closed:
            return "the client is closed"
        case .invalidArgument(let reason):
            return reason
        case .malformedResponse(let api, let reason):
            return "malformed \(api) response: \(reason)"
        }
    }

    /// Whether the operation may succeed if tried again (after a metadata refresh or reconnect).
    public var isRetriable: Bool {
        switch self {
        case .brokerUnreachable, .noBrokerReachable, .connectionClosed, .requestTimedOut: return true
        case .broker(let code, _, _): return code.isRetriable
        default: return false
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down (Kafka's `*.ms` properties and wire fields).
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whole nanoseconds, clamped to `Int64`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? Int64.max : product &+ attoseconds / 1_000_000_000
    }

    /// Whole milliseconds clamped to `Int32` for wire fields such as `timeout_ms`.
    var milliseconds32: Int32 { Int32(clamping: milliseconds) }
}
