import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Where `/metrics` is served: `runnel.metrics.listener` as `http://host:port/path`.
public struct MetricsEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var path: String

    /// Parses `http://host:port/path` (path defaults to `/metrics`); `nil` for an empty value,
    /// which turns the endpoint off.
    /// - Throws: ``ConfigError/invalidValue(key:value:reason:)`` for anything else.
    public static func parse(_ text: String) throws -> MetricsEndpoint? {
        let t = text.trimmingWhitespace()
        if t.isEmpty { return nil }
        func invalid() -> ConfigError {
            .invalidValue(key: "runnel.metrics.listener", value: text,
                          reason: "expected http://host:port/path, e.g. http://localhost:9644/metrics, or empty to turn metrics off")
        }
        guard t.lowercased().hasPrefix("http://") else { throw invalid() }
        let rest = t.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]),
              (0...65535).contains(port) else { throw invalid() }
        var host = String(authority[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return MetricsEndpoint(host: host, port: port, path: path.isEmpty ? "/metrics" : String(path))
    }

    public var description: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }
}

/// A minimal HTTP/1.1 server for Prometheus scrapes: `GET <path>` answers the text exposition
/// (content type `text/plain; version=0.0.4`) produced by `render`, anything else 404 or 405.
/// Each response closes its connection.
struct MetricsServer {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    let endpoint: MetricsEndpoint
    let logger: Logger
    let render: @Sendable () async -> String

    func bind(group: any EventLoopGroup) async throws -> NIOAsyncChannel<Connection, Never> {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: endpoint.host.isEmpty ? "0.0.0.0" : endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Serves scrapes until the listener closes or the task is cancelled.
    func serve(_ listener: NIOAsyncChannel<Connection, Never>) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await listener.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await handle(connection) }
                }
            }
        }
    }

    private func handle(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let h): head = h
                    case .body: continue
                    case .end:
                        guard let head else { return }
                        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
                        let (status, body): (HTTPResponseStatus, String)
                        if path != endpoint.path {
                            (status, body) = (.notFound, "not found: metrics are at \(endpoint.path)\n")
                        } else if head.method != .GET && head.method != .HEAD {
                            (status, body) = (.methodNotAllowed, "use GET\n")
                        } else {
                            (status, body) = (.ok, await render())
                        }
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
                        headers.add(name: "Content-Length", value: String(body.utf8.count))
                        headers.add(name: "Connection", value: "close")
                        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: status, headers: headers)))
                        if head.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body)))) }
                        try await outbound.write(.end(nil))
                        return
                    }
                }
            }
        } catch {
            logger.debug("metrics connection ended", metadata: ["error": "\(error)"])
        }
    }
}
