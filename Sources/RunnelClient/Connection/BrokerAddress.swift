/// A broker's `host:port` as given in `bootstrap.servers` or advertised in Metadata.
public struct BrokerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[ipv6]:port` or a bare `host` (port 9092).
    /// - Returns: `nil` when the port is not a number in 1...65535 or the host is empty.
    public init?(parsing text: String) {
        let trimmed = text.trimmedWhitespace
        var host = trimmed
        var port = 9092
        if trimmed.hasPrefix("["), let close = trimmed.firstIndex(of: "]") {
            host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            let rest = trimmed[trimmed.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let p = Int(rest.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = trimmed.lastIndex(of: ":") {
            host = String(trimmed[..<colon])
            guard let p = Int(trimmed[trimmed.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        self.host = host
        self.port = port
    }

    /// Parses a comma-separated `bootstrap.servers` list.
    /// - Throws: ``ClientError/invalidConfiguration(property:value:reason:)`` for an empty list or a bad entry.
    public static func parseList(_ text: String, property: String = "bootstrap.servers") throws -> [BrokerAddress] {
        let parts = text.split(separator: ",").map(String.init).filter { !$0.trimmedWhitespace.isEmpty }
        guard !parts.isEmpty else {
            throw ClientError.invalidConfiguration(property: property, value: text, reason: "expected host:port[,host:port...]")
        }
        return try parts.map {
            guard let address = BrokerAddress(parsing: $0) else {
                throw ClientError.invalidConfiguration(property: property, value: text,
                                                       reason: "'\($0)' is not host:port with a port in 1-65535")
            }
            return address
        }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and newlines.
    var trimmedWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
