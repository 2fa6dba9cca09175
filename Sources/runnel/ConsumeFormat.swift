import Foundation
import NIOCore
import RunnelClient

/// Renders consumed records with kcat's `-f` format tokens: `%t` topic, `%p` partition, `%o`
/// offset, `%k` key, `%s` value, `%K`/`%S` key/value length (-1 for null), `%T` timestamp (ms),
/// `%h` headers as `k=v,k2=v2`, `%%` a percent sign; `\n`, `\t`, `\r` and `\\` escapes.
struct ConsumeFormat {
    enum Piece: Equatable {
        case text(String)
        case topic, partition, offset, key, value, keyLength, valueLength, timestamp, headers
    }

    let pieces: [Piece]

    /// - Throws: `CLIError` for an unknown `%` token.
    init(_ format: String) throws {
        var pieces: [Piece] = []
        var text = ""
        var iterator = format.makeIterator()
        func flush() { if !text.isEmpty { pieces.append(.text(text)); text = "" } }
        while let c = iterator.next() {
            if c == "\\" {
                switch iterator.next() {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "r": text.append("\r")
                case "\\": text.append("\\")
                case let other?: text.append("\\"); text.append(other)
                case nil: text.append("\\")
                }
            } else if c == "%" {
                let token: Piece
                switch iterator.next() {
                case "t": token = .topic
                case "p": token = .partition
                case "o": token = .offset
                case "k": token = .key
                case "s": token = .value
                case "K": token = .keyLength
                case "S": token = .valueLength
                case "T": token = .timestamp
                case "h": token = .headers
                case "%": text.append("%"); continue
                case let other:
                    throw CLIError("unknown --format token '%\(other.map(String.init) ?? "")'; use %t %p %o %k %s %K %S %T %h or %%")
                }
                flush()
                pieces.append(token)
            } else {
                text.append(c)
            }
        }
        flush()
        self.pieces = pieces
    }

    func render(_ record: ConsumerRecord, into out: inout Data) {
        for piece in pieces {
            switch piece {
            case .text(let text): out.append(contentsOf: text.utf8)
            case .topic: out.append(contentsOf: record.topic.utf8)
            case .partition: out.append(contentsOf: "\(record.partition)".utf8)
            case .offset: out.append(contentsOf: "\(record.offset)".utf8)
            case .key: if let key = record.key { out.append(contentsOf: key.readableBytesView) }
            case .value: if let value = record.value { out.append(contentsOf: value.readableBytesView) }
            case .keyLength: out.append(contentsOf: "\(record.key?.readableBytes ?? -1)".utf8)
            case .valueLength: out.append(contentsOf: "\(record.value?.readableBytes ?? -1)".utf8)
            case .timestamp: out.append(contentsOf: "\(record.timestamp)".utf8)
            case .headers:
                out.append(contentsOf: record.headers.map { header in
                    "\(header.key)=\(header.value.map { String(buffer: $0) } ?? "")"
                }.joined(separator: ",").utf8)
            }
        }
    }

    /// One JSON object per record: topic, partition, offset, timestamp, timestampType, key, value
    /// (UTF-8 text, `null` when null) and headers (an array of `{"key":…,"value":…}`).
    static func json(_ record: ConsumerRecord) -> String {
        let headers = record.headers.map { "{\"key\":\(quote($0.key)),\"value\":\(quote($0.value.map { String(buffer: $0) }))}" }
        return "{\"topic\":\(quote(record.topic)),\"partition\":\(record.partition),\"offset\":\(record.offset),"
            + "\"timestamp\":\(record.timestamp),\"timestampType\":\(quote(record.timestampType.rawValue)),"
            + "\"key\":\(quote(record.key.map { String(buffer: $0) })),\"value\":\(quote(record.value.map { String(buffer: $0) })),"
            + "\"headers\":[\(headers.joined(separator: ","))]}"
    }

    /// A JSON string literal, or `null`.
    static func quote(_ text: String?) -> String {
        guard let text else { return "null" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20: out += String(format: "\\u%04x", s.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
