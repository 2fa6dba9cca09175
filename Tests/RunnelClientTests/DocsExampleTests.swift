import Foundation
import Testing

@Suite("Documentation")
struct DocsExampleTests {
    /// docs/client.md must quote EmbeddingExample.swift's example verbatim, so the doc's example
    /// is code this test target compiles.
    @Test("docs/client.md quotes the compiled embedding example verbatim")
    func clientDocQuotesExample() throws {
        let here = #filePath
        let exampleFile = here.replacingOccurrences(of: "DocsExampleTests.swift", with: "EmbeddingExample.swift")
        let root = here.components(separatedBy: "/Tests/RunnelClientTests/")[0]
        let example = try String(contentsOfFile: exampleFile, encoding: .utf8)
        let doc = try String(contentsOfFile: root + "/docs/client.md", encoding: .utf8)
        let begin = try #require(example.range(of: "// BEGIN EXAMPLE\n"))
        let end = try #require(example.range(of: "// END EXAMPLE"))
        let code = String(example[begin.upperBound..<end.lowerBound])
        #expect(doc.contains("```swift\n" + code + "```"))
    }
}
