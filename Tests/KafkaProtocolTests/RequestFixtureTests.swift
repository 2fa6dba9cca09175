import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// Request frames captured from kcat, kafka-python and confluent-kafka talking to a real broker
/// (`Tests/Interop/capture_fixtures.py`): each must decode to the values its client was configured
/// with, and re-encode to the same bytes.
struct RequestFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/requests")

    struct Fixture: CustomTestStringConvertible, Sendable {
        var file: String
        var entry: [String: SendableJSON]
        var configured: [String: SendableJSON]
        var testDescription: String { file }
    }

    /// JSON values are immutable Foundation objects; wrapping them lets them cross into test arguments.
    struct SendableJSON: @unchecked Sendable {
        let value: Any
        var int: Int? { (value as? NSNumber)?.intValue }
        var string: String? { value as? String }
        var bool: Bool? { (value as? NSNumber)?.boolValue }
        var strings: [String]? { value as? [String] }
        var isNull: Bool { value is NSNull }
    }

    static func fixtures() throws -> [Fixture] {
        let data = try Data(contentsOf: directory.appendingPathComponent("index.json"))
        let index = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let clients = try #require(index["clients"] as? [String: [String: Any]])
        let files = try #require(index["files"] as? [[String: Any]])
        return try files.map { entry in
            let file = try #require(entry["file"] as? String)
            let client = try #require(entry["client"] as? String)
            return Fixture(file: file, entry: entry.mapValues(SendableJSON.init),
                           configured: (clients[client] ?? [:]).mapValues(SendableJSON.init))
        }
    }

    @Test func everyClientAndApiIsCovered() throws {
        let all = try Self.fixtures()
        #expect(all.count >= 15)
        for client in ["kcat", "kafka-python", "confluent-kafka"] {
            let keys = Set(all.filter { $0.entry["client"]?.string == client }.compactMap { $0.entry["api_key"]?.int })
            #expect(keys.isSuperset(of: [0, 1, 2, 3, 18]), "\(client) covers Produce, Fetch, ListOffsets, Metadata, ApiVersions")
        }
    }

    @Test(arguments: try fixtures())
    func decodesToConfiguredValuesAndReencodes(_ fixture: Fixture) throws {
        let bytes = try Data(contentsOf: Self.directory.appendingPathComponent(fixture.file))
        var body = ByteBuffer(bytes: bytes)
        let header = try RequestHeader.decode(from: &body)
        #expect(Int(header.apiKey.rawValue) == fixture.entry["api_key"]?.int)
        #expect(Int(header.apiVersion) == fixture.entry["api_version"]?.int)
        #expect(Int(header.correlationID) == fixture.entry["correlation_id"]?.int)
        #expect(header.clientID == fixture.configured["client_id"]?.string)

        let version = header.apiVersion
        let trailing = fixture.entry["body_trailing_bytes"]?.int ?? 0
        var reencoded = ByteBuffer()
        header.encode(to: &reencoded)
        switch header.apiKey {
        case .apiVersions:
            let request = try ApiVersionsRequest.decode(body, apiKey: .apiVersions, version: version)
            #expect(request.clientSoftwareName == fixture.entry["client_software_name"]?.string)
            #expect(request.clientSoftwareVersion == fixture.entry["client_software_version"]?.string)
            reencoded.writeImmutableBuffer(request.encoded(apiKey: .apiVersions, version: version))
        case .metadata:
            let request = try MetadataRequest.decode(body, apiKey: .metadata, version: version)
            if fixture.entry["topics"]?.isNull == true {
                #expect(request.topics == nil)
            } else {
                #expect(request.topics?.compactMap(\.name) == fixture.entry["topics"]?.strings)
            }
            #expect(request.allowAutoTopicCreation == fixture.entry["allow_auto_topic_creation"]?.bool)
            reencoded.writeImmutableBuffer(request.encoded(apiKey: .metadata, version: version))
        case .produce:
            let request = try ProduceRequest.decode(body, apiKey: .produce, version: version)
            #expect(Int(request.acks) == fixture.configured["acks"]?.int)
            #expect(Int(request.timeoutMs) == fixture.configured["timeout_ms"]?.int)
            let topic = try #require(request.topicData.first)
            #expect(topic.name == fixture.entry["topic"]?.string)
            let partition = try #require(topic.partitionData.first)
            #expect(Int(partition.index) == fixture.entry["partition"]?.int)
            let records = try #require(partition.records)
            let batch = try #require(RecordBatchHeader.peek(records, at: records.readerIndex))
            #expect(RecordBatchHeader.crcMatches(records, at: records.readerIndex, header: batch))
            let decoded = try RecordBatchHeader.records(of: records, maxUncompressedBytes: 1 << 20)
            let first = try #require(decoded.first)
            #expect(first.key.map { String(buffer: $0) } == fixture.configured["key"]?.string)
            #expect(first.value.map { String(buffer: $0) } == fixture.configured["value"]?.string)
            #expect(Int(batch.baseTimestamp + first.timestampDelta) == fixture.entry["first_timestamp"]?.int)
            reencoded.writeImmutableBuffer(request.encoded(apiKey: .produce, version: version))
        case .fetch:
            let request = try FetchRequest.decode(body, apiKey: .fetch, version: version)
            #expect(Int(request.maxWaitMs) == fixture.configured["max_wait_ms"]?.int)
            #expect(Int(request.minBytes) == fixture.configured["min_bytes"]?.int)
            #expect(Int(request.maxBytes) == fixture.entry["max_bytes"]?.int)
            #expect(Int(request.sessionEpoch) == fixture.entry["session_epoch"]?.int)
            let topic = try #require(request.topics.first)
            #expect(topic.topic == fixture.entry["topic"]?.string)
            let partition = try #require(topic.partitions.first)
            #expect(Int(partition.fetchOffset) == fixture.entry["fetch_offset"]?.int)
            #expect(Int(partition.partitionMaxBytes) == fixture.entry["partition_max_bytes"]?.int)
            reencoded.writeImmutableBuffer(request.encoded(apiKey: .fetch, version: version))
        case .listOffsets:
            let request = try ListOffsetsRequest.decode(body, apiKey: .listOffsets, version: version)
            #expect(Int(request.isolationLevel) == fixture.entry["isolation_level"]?.int)
            let topic = try #require(request.topics.first)
            #expect(topic.name == fixture.entry["topic"]?.string)
            #expect(Int(try #require(topic.partitions.first).timestamp) == fixture.entry["timestamp"]?.int)
            reencoded.writeImmutableBuffer(request.encoded(apiKey: .listOffsets, version: version))
        default:
            Issue.record("fixture for an API this test does not know: \(header.apiKey)")
            return
        }
        #expect(Array(reencoded.readableBytesView) == Array(bytes.dropLast(trailing)))
    }
}
