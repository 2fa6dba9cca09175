import KafkaProtocol
import NIOCore

/// The API versions this broker advertises in ApiVersions, each implemented for every version in
/// its range (see docs/protocol-support.md for why some ranges start where they do).
enum SupportedApis {
    static let ranges: [ApiKey: ClosedRange<Int16>] = [
        // Produce v0-2 and Fetch v0-3 speak the legacy message formats (magic 0/1), converted to and
        // from the stored RecordBatch v2 as Kafka 3.x did. Produce v0 must be in range anyway:
        // librdkafka < 2.11 enables gzip/snappy/lz4 only then (KAFKA-18659).
        .produce: 0...9,
        .fetch: 0...12,
        .listOffsets: 1...7,
        .metadata: 0...12,
        .apiVersions: 0...4,
        .createTopics: 0...5,
        .deleteTopics: 0...4,
        .deleteRecords: 0...2,
        .offsetForLeaderEpoch: 2...4,
        // From 0: librdkafka < 2.11 enables idempotence only when InitProducerId v0 is in range.
        .initProducerID: 0...4,
        .createPartitions: 0...3,
        .electLeaders: 0...2,
        .describeConfigs: 1...4,
        .alterConfigs: 0...2,
        .incrementalAlterConfigs: 0...1,
        .describeLogDirs: 0...4,
        .describeCluster: 0...1,
        .offsetCommit: 2...8,
        .offsetFetch: 1...8,
        // From 0: librdkafka < 2.11 enables its group consumer and LZ4 only when FindCoordinator v0
        // is in range, and SASL GSSAPI when JoinGroup v0 is.
        .findCoordinator: 0...4,
        .joinGroup: 0...7,
        .heartbeat: 0...4,
        .leaveGroup: 0...4,
        .syncGroup: 0...5,
        .describeGroups: 0...5,
        .listGroups: 0...4,
        .deleteGroups: 0...2,
        .offsetDelete: 0...0,
        .describeClientQuotas: 0...1,
        .alterClientQuotas: 0...1,
    ]

    /// Requests between the nodes of a cluster (the metadata quorum and broker lifecycle). They are
    /// served but not advertised to clients.
    static let interNodeRanges: [ApiKey: ClosedRange<Int16>] = [
        .vote: 1...1,
        .beginQuorumEpoch: 1...1,
        .endQuorumEpoch: 1...1,
        .fetchSnapshot: 1...1,
        .brokerRegistration: 2...4,
        .brokerHeartbeat: 1...1,
        .allocateProducerIds: 0...0,
        .alterPartition: 0...3,
    ]

    /// The range the router accepts for `key`: advertised or inter-node.
    static func accepted(_ key: ApiKey) -> ClosedRange<Int16>? { ranges[key] ?? interNodeRanges[key] }

    static let apiVersionsEntries: [ApiVersionsResponse.ApiVersion] =
        ranges.sorted { $0.key.rawValue < $1.key.rawValue }.map {
            ApiVersionsResponse.ApiVersion(apiKey: $0.key.rawValue, minVersion: $0.value.lowerBound, maxVersion: $0.value.upperBound)
        }

    /// The encoded body of the ApiVersions response for each supported version: the same for
    /// every client, so it is built once (as Kafka's `ApiVersionManager` does) instead of on each
    /// request, which a flood of ApiVersions from a hostile client would otherwise make expensive.
    static let apiVersionsBodies: [Int16: ByteBuffer] = {
        var out: [Int16: ByteBuffer] = [:]
        let response = ApiVersionsResponse(errorCode: .none, apiKeys: apiVersionsEntries)
        for version in ranges[.apiVersions]! {
            var writer = KafkaWriter(buffer: ByteBuffer(), flexible: ApiKey.apiVersions.isFlexible(version))
            response.encode(to: &writer, version: version)
            out[version] = writer.buffer
        }
        return out
    }()
}
