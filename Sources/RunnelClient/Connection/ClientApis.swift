import KafkaProtocol

/// The request versions this client can encode and whose responses it can decode, per API.
///
/// A connection picks, per API, the highest version in both this range and the broker's
/// ApiVersions range (protocol guide, "Versioning and Compatibility").
/// Lower bounds: Produce 3 and Fetch 4 are the first to carry RecordBatch v2 (KIP-98), which is the
/// only record format this client writes and reads. Upper bounds stop where a request changes shape
/// in a way this client does not use (FindCoordinator v4 batches keys; OffsetFetch v8 batches groups).
enum ClientApis {
    static let ranges: [ApiKey: ClosedRange<Int16>] = [
        .produce: 3...9,
        .fetch: 4...12,
        .listOffsets: 1...7,
        .metadata: 1...12,
        .apiVersions: 0...3,
        .createTopics: 2...5,
        .deleteTopics: 1...4,
        .deleteRecords: 0...2,
        .initProducerID: 0...4,
        .createPartitions: 0...3,
        .describeConfigs: 1...4,
        .alterConfigs: 0...2,
        .incrementalAlterConfigs: 0...1,
        .describeCluster: 0...1,
        .describeLogDirs: 0...4,
        .offsetCommit: 2...8,
        .offsetFetch: 1...7,
        .findCoordinator: 0...3,
        .joinGroup: 0...7,
        .heartbeat: 0...4,
        .leaveGroup: 0...4,
        .syncGroup: 0...5,
        .describeGroups: 0...5,
        .listGroups: 0...4,
        .deleteGroups: 0...2,
        .offsetDelete: 0...0,
        .describeAcls: 1...3,
        .createAcls: 1...3,
        .deleteAcls: 1...3,
        .saslHandshake: 1...1,
        .saslAuthenticate: 0...2,
        .describeUserScramCredentials: 0...0,
        .alterUserScramCredentials: 0...0,
    ]

    /// The version ranges usable with a broker that advertised `brokerVersions`: for each API in
    /// both lists, the overlap of the two ranges. APIs without overlap are left out.
    static func negotiate(_ brokerVersions: [ApiVersionsResponse.ApiVersion]) -> [ApiKey: ClosedRange<Int16>] {
        var out: [ApiKey: ClosedRange<Int16>] = [:]
        for entry in brokerVersions {
            let key = ApiKey(rawValue: entry.apiKey)
            guard let ours = ranges[key] else { continue }
            let low = max(ours.lowerBound, entry.minVersion)
            let high = min(ours.upperBound, entry.maxVersion)
            if low <= high { out[key] = low...high }
        }
        return out
    }
}
