import NIOCore
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
    /// Per-address exceptions to `maxConnectionsPerIP` (`max.connections.per.ip.overrides`), by
    /// address in the form `SocketAddress.ipAddress` gives.
    let perIPOverrides: [String: Int]
    private let counts = Mutex(Counts())

    /// - Parameters:
    ///   - maxConnections: `max.connections`; default Int32.max, as Kafka's.
    ///   - maxConnectionsPerIP: `max.connections.per.ip`; default Int32.max, as Kafka's.
    ///   - perIPOverrides: `max.connections.per.ip.overrides`, by IP address.
    init(maxConnections: Int = Int(Int32.max), maxConnectionsPerIP: Int = Int(Int32.max), perIPOverrides: [String: Int] = [:]) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.perIPOverrides = perIPOverrides
    }

    /// The limits in `config` (`max.connections`, `max.connections.per.ip`,
    /// `max.connections.per.ip.overrides`, whose host names are resolved here, once).
    /// - Throws: ``ConfigError/invalidValue(key:value:reason:)`` for an override host that does not resolve.
    convenience init(config: BrokerConfig) throws {
        let raw = config.string("max.connections.per.ip.overrides") ?? ""
        var overrides: [String: Int] = [:]
        for (host, count) in Self.parseOverrides(raw) ?? [] {
            do {
                overrides[try Self.address(of: host)] = count
            } catch {
                throw ConfigError.invalidValue(key: "max.connections.per.ip.overrides", value: raw, reason: "cannot resolve host '\(host)': \(error)")
            }
        }
        self.init(maxConnections: config.int("max.connections"), maxConnectionsPerIP: config.int("max.connections.per.ip"),
                  perIPOverrides: overrides)
    }

    /// Splits `host:count,host:count` (the count after the last colon, so IPv6 addresses need no
    /// brackets); nil when a pair is malformed or a count is negative. Empty input is no overrides.
    static func parseOverrides(_ text: String) -> [(host: String, count: Int)]? {
        var out: [(host: String, count: Int)] = []
        for pair in text.split(separator: ",") {
            let item = String(pair).trimmingWhitespace()
            guard let colon = item.lastIndex(of: ":") else { return nil }
            let host = String(item[..<colon]).trimmingWhitespace()
            guard !host.isEmpty, let count = Int(String(item[item.index(after: colon)...]).trimmingWhitespace()), count >= 0 else { return nil }
            out.append((host, count))
        }
        return out
    }

    /// The address `host` names, written as connections' remote addresses are: a literal as is
    /// (normalised), a name resolved (blocking; start-up only).
    static func address(of host: String) throws -> String {
        if let literal = try? SocketAddress(ipAddress: host, port: 0), let ip = literal.ipAddress { return ip }
        guard let ip = try SocketAddress.makeAddressResolvingHost(host, port: 0).ipAddress else {
            throw ConfigError.invalidValue(key: "max.connections.per.ip.overrides", value: host, reason: "not an IP address")
        }
        return ip
    }

    /// Counts a new connection from `ip`, unless that would pass a limit.
    /// - Returns: nil when the connection is admitted (and counted), else the limit it would pass.
    func admit(ip: String) -> Refusal? {
        counts.withLock { counts in
            // The per-IP limit first, as Kafka checks it: a greedy client is named as such even
            // when it also fills the broker.
            let fromIP = counts.perIP[ip, default: 0]
            let limit = perIPOverrides[ip] ?? maxConnectionsPerIP
            guard fromIP < limit else { return .maxConnectionsPerIP(limit) }
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
