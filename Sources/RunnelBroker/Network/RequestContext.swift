import NIOCore
import Logging

/// What a handler knows about the connection a request came in on.
struct RequestContext: Sendable {
    /// The client's address, for log lines.
    var peer: String
    /// The client's IP address as Kafka reports it in DescribeGroups (`/127.0.0.1`).
    var clientHost: String = "/unknown"
    /// A logger with the peer in its metadata.
    var logger: Logger
    /// Who the connection acts as: `User:ANONYMOUS` until TLS client authentication or SASL
    /// says otherwise. Authorization (ACLs) checks this principal.
    var principal: KafkaPrincipal = .anonymous
    /// The name of the listener the connection came in on (`PLAINTEXT`, `SASL_SSL`, `INTERNAL`...).
    var listenerName: String = "PLAINTEXT"
    /// Whether responses can carry record sets by reference to their segment files, sent with
    /// `sendfile(2)` (``ResponsePartWriter``): true on plaintext listeners, false under TLS.
    var sendsFiles = false
    /// Told `true` when a request parks in a long wait (``RequestTimer/parked(_:)``) and `false`
    /// when it is back at work, so its address's fair share leaves it out meanwhile
    /// (``SourceAddressFairness``); nil for requests nothing counts.
    var onParked: (@Sendable (_ parked: Bool) -> Void)? = nil
}

/// What the connection does after a request.
enum RouterOutcome: Sendable {
    /// Send these bytes (size prefix, header and body included).
    case respond(ResponseBytes)
    /// Send these bytes, and hold the connection for a quota's throttle time (KIP-13, KIP-219).
    case respondThrottled(ResponseBytes, QuotaThrottle)
    /// Send nothing (Produce with acks=0).
    case noResponse
    /// Close the connection, logging `reason`.
    case close(reason: String)
}

/// How long a client over its quota is held, and whether it backs off by itself.
struct QuotaThrottle: Sendable, Equatable {
    /// The throttle time, also reported in the response's `throttle_time_ms`.
    var time: Duration
    /// True for request versions whose clients wait `throttle_time_ms` themselves before sending
    /// again (KIP-219: Produce v6+, Fetch v8+): the response goes out at once and the broker mutes
    /// the connection. False for older versions: the broker delays the response instead.
    var clientBacksOff: Bool
}
