import Foundation
import KafkaProtocol
@testable import RunnelBroker
import Testing

/// docs/protocol-support.md lists every advertised API with its version range; it must say exactly
/// what ApiVersions advertises.
struct ProtocolSupportDocTests {
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/protocol-support.md").path

    /// Rows like `| Produce (0) | 0-9 | 9 | ... |` → key: range.
    static func documentedRanges() throws -> [Int16: ClosedRange<Int16>] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let row = try Regex(#"^\| [A-Za-z]+ \((\d+)\) \| (\d+)(?:-(\d+))? \|"#)
        var out: [Int16: ClosedRange<Int16>] = [:]
        for line in text.split(separator: "\n") {
            guard let match = try row.firstMatch(in: String(line)),
                  let key = match.output[1].substring.flatMap({ Int16($0) }),
                  let low = match.output[2].substring.flatMap({ Int16($0) }) else { continue }
            let high = match.output[3].substring.flatMap { Int16($0) } ?? low
            out[key] = low...high
        }
        return out
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: path), "docs/protocol-support.md exists"))
    func documentedRangesMatchApiVersions() throws {
        let documented = try Self.documentedRanges()
        let advertised = Dictionary(uniqueKeysWithValues: SupportedApis.ranges.map { ($0.key.rawValue, $0.value) })
        #expect(documented == advertised)
    }
}
