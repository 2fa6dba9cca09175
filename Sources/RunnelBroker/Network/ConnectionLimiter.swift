import Synchronization

/// Counts open client connections, in total and per client IP address, and refuses one that would
/// pass `max.connections` or `max.connections.per.ip` (Kafka's `ConnectionQuotas`).
///
/// A connection is counted by ``admit(ip:)`` when it is accepted and released by ``release(ip:)``
/// when it closes; a refused connection is never counted, so it must not be released. Kafka pauses
/// its acceptor when the broker-wide limit is reached; Runnel closes the new connection instead,
/// as Kafka does for the per-IP limit, so a client sees the same thing for both: a connection
/// closed before any of its requests is handled, and it retries after `reconnect.backoff.ms`.
final class ConnectionLimiter: Sendable {
    /// Why a connection was refused: the limit's key and value, for the log line.
    enum Refusal: Equatable, CustomStringConvertible {
        case maxConnections(Int)
        case maxConnectionsPerIP(Int)

        var description: String {
            switch self {
            case .maxConnections(let limit): return "max.connections (\(limit)) reached"
            case .maxConnectionsPerIP(let limit): return "max.connections.per.ip (\(limit)) reached"
            }
        }
    }

    private struct Counts {
        var total = 0
        var perIP: [String: Int] = [:]
    }

    /// Most connections open at once, from all clients (`max.connections`).
    let maxConnections: Int
    /// Most connections open at once from one IP address (`max.connections.per.ip`).
    let maxConnectionsPerIP: Int
    private let counts = Mutex(Counts())

    /// - Parameters:
    ///   - maxConnections: `max.connections`; default Int32.max, as Kafka's.
    ///   - maxConnectionsPerIP: `max.connections.per.ip`; default Int32.max, as Kafka's.
    init(maxConnections: Int = Int(Int32.max), maxConnectionsPerIP: Int = Int(Int32.max)) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerIP = maxConnectionsPerIP
    }

    /// The limits in `config` (`max.connections`, `max.connections.per.ip`).
    convenience init(config: BrokerConfig) {
        self.init(maxConnections: config.int("max.connections"), maxConnectionsPerIP: config.int("max.connections.per.ip"))
    }

    /// Counts a new connection from `ip`, unless that would pass a limit.
    /// - Returns: nil when the connection is admitted (and counted), else the limit it would pass.
    func admit(ip: String) -> Refusal? {
        counts.withLock { counts in
            // The per-IP limit first, as Kafka checks it: a greedy client is named as such even
            // when it also fills the broker.
            let fromIP = counts.perIP[ip, default: 0]
            guard fromIP < maxConnectionsPerIP else { return .maxConnectionsPerIP(maxConnectionsPerIP) }
            guard counts.total < maxConnections else { return .maxConnections(maxConnections) }
            counts.perIP[ip] = fromIP + 1
            counts.total += 1
            return nil
        }
    }

    /// Uncounts a connection from `ip` that ``admit(ip:)`` admitted, now closed.
    func release(ip: String) {
        counts.withLock { counts in
            guard let fromIP = counts.perIP[ip], fromIP > 0, counts.total > 0 else {
                preconditionFailure("ConnectionLimiter: released a connection from \(ip) that was not admitted (total \(counts.total), from this address \(counts.perIP[ip] ?? 0))")
            }
            // Drop the entry at zero so addresses seen once do not accumulate.
            counts.perIP[ip] = fromIP == 1 ? nil : fromIP - 1
            counts.total -= 1
        }
    }

    /// Connections counted now: in total, and from `ip`.
    func openConnections(ip: String? = nil) -> Int {
        counts.withLock { counts in ip.map { counts.perIP[$0, default: 0] } ?? counts.total }
    }
}
