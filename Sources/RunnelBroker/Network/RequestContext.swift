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
}

/// What the connection does after a request.
enum RouterOutcome: Sendable {
    /// Send these bytes (size prefix, header and body included).
    case respond(ByteBuffer)
    /// Send nothing (Produce with acks=0).
    case noResponse
    /// Close the connection, logging `reason`.
    case close(reason: String)
}
