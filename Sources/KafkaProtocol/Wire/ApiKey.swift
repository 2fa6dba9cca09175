/// A Kafka API key (protocol guide, "Api Keys"), with the version facts Runnel needs per API.
public struct ApiKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let produce = ApiKey(rawValue: 0)
    public static let fetch = ApiKey(rawValue: 1)
    public static let listOffsets = ApiKey(rawValue: 2)
    public static let metadata = ApiKey(rawValue: 3)
    public static let offsetCommit = ApiKey(rawValue: 8)
    public static let offsetFetch = ApiKey(rawValue: 9)
    public static let findCoordinator = ApiKey(rawValue: 10)
    public static let joinGroup = ApiKey(rawValue: 11)
    public static let heartbeat = ApiKey(rawValue: 12)
    public static let leaveGroup = ApiKey(rawValue: 13)
    public static let syncGroup = ApiKey(rawValue: 14)
    public static let describeGroups = ApiKey(rawValue: 15)
    public static let listGroups = ApiKey(rawValue: 16)
    public static let apiVersions = ApiKey(rawValue: 18)
    public static let createTopics = ApiKey(rawValue: 19)
    public static let deleteTopics = ApiKey(rawValue: 20)
    public static let deleteRecords = ApiKey(rawValue: 21)
    public static let initProducerID = ApiKey(rawValue: 22)
    public static let describeConfigs = ApiKey(rawValue: 32)
    public static let alterConfigs = ApiKey(rawValue: 33)
    public static let describeLogDirs = ApiKey(rawValue: 35)
    public static let incrementalAlterConfigs = ApiKey(rawValue: 44)
    public static let electLeaders = ApiKey(rawValue: 43)
    public static let createPartitions = ApiKey(rawValue: 37)
    public static let describeCluster = ApiKey(rawValue: 60)
    public static let offsetForLeaderEpoch = ApiKey(rawValue: 23)
    public static let deleteGroups = ApiKey(rawValue: 42)
    public static let offsetDelete = ApiKey(rawValue: 47)
    public static let describeClientQuotas = ApiKey(rawValue: 48)
    public static let alterClientQuotas = ApiKey(rawValue: 49)
    public static let vote = ApiKey(rawValue: 52)
    public static let beginQuorumEpoch = ApiKey(rawValue: 53)
    public static let endQuorumEpoch = ApiKey(rawValue: 54)
    public static let describeQuorum = ApiKey(rawValue: 55)
    public static let alterPartition = ApiKey(rawValue: 56)
    public static let fetchSnapshot = ApiKey(rawValue: 59)
    public static let brokerRegistration = ApiKey(rawValue: 62)
    public static let brokerHeartbeat = ApiKey(rawValue: 63)
    public static let allocateProducerIds = ApiKey(rawValue: 67)
    public static let saslHandshake = ApiKey(rawValue: 17)
    public static let describeAcls = ApiKey(rawValue: 29)
    public static let createAcls = ApiKey(rawValue: 30)
    public static let deleteAcls = ApiKey(rawValue: 31)
    public static let saslAuthenticate = ApiKey(rawValue: 36)
    public static let describeUserScramCredentials = ApiKey(rawValue: 50)
    public static let alterUserScramCredentials = ApiKey(rawValue: 51)

    /// The first version that uses the flexible encoding (KIP-482), from Kafka's message JSON
    /// `flexibleVersions`; `nil` for keys Runnel does not know.
    public var firstFlexibleVersion: Int16? {
        switch rawValue {
        case 0: return 9          // Produce
        case 1: return 12         // Fetch
        case 2: return 6          // ListOffsets
        case 3: return 9          // Metadata
        case 8: return 8          // OffsetCommit
        case 9: return 6          // OffsetFetch
        case 10: return 3         // FindCoordinator
        case 11: return 6         // JoinGroup
        case 12: return 4         // Heartbeat
        case 13: return 4         // LeaveGroup
        case 14: return 4         // SyncGroup
        case 15: return 5         // DescribeGroups
        case 16: return 3         // ListGroups
        case 17: return nil       // SaslHandshake: never flexible
        case 18: return 3         // ApiVersions
        case 19: return 5         // CreateTopics
        case 20: return 4         // DeleteTopics
        case 21: return 2         // DeleteRecords
        case 22: return 2         // InitProducerId
        case 23: return 4         // OffsetForLeaderEpoch
        case 29: return 2         // DescribeAcls
        case 30: return 2         // CreateAcls
        case 31: return 2         // DeleteAcls
        case 36: return 2         // SaslAuthenticate
        case 50: return 0         // DescribeUserScramCredentials
        case 51: return 0         // AlterUserScramCredentials
        case 32: return 4         // DescribeConfigs
        case 33: return 2         // AlterConfigs
        case 35: return 2         // DescribeLogDirs
        case 43: return 2         // ElectLeaders
        case 44: return 1         // IncrementalAlterConfigs
        case 37: return 2         // CreatePartitions
        case 42: return 2         // DeleteGroups
        case 47: return nil       // OffsetDelete: never flexible
        case 48: return 1         // DescribeClientQuotas
        case 49: return 1         // AlterClientQuotas
        case 60: return 0         // DescribeCluster
        case 52: return 0         // Vote
        case 53: return 1         // BeginQuorumEpoch
        case 54: return 1         // EndQuorumEpoch
        case 55: return 0         // DescribeQuorum
        case 56: return 0         // AlterPartition
        case 59: return 0         // FetchSnapshot
        case 62: return 0         // BrokerRegistration
        case 63: return 0         // BrokerHeartbeat
        case 67: return 0         // AllocateProducerIds
        default: return nil
        }
    }

    /// Whether `version` of this API uses the flexible encoding.
    public func isFlexible(_ version: Int16) -> Bool {
        guard let first = firstFlexibleVersion else { return false }
        return version >= first
    }

    /// Request header version for `version` (protocol guide, "Headers"): 2 when flexible, else 1.
    public func requestHeaderVersion(_ version: Int16) -> Int16 {
        isFlexible(version) ? 2 : 1
    }

    /// Response header version for `version`: 1 when flexible, else 0; ApiVersions always uses 0 (KIP-511).
    public func responseHeaderVersion(_ version: Int16) -> Int16 {
        if self == .apiVersions { return 0 }
        return isFlexible(version) ? 1 : 0
    }

    public var description: String {
        switch rawValue {
        case 0: return "Produce"
        case 1: return "Fetch"
        case 2: return "ListOffsets"
        case 3: return "Metadata"
        case 8: return "OffsetCommit"
        case 9: return "OffsetFetch"
        case 10: return "FindCoordinator"
        case 11: return "JoinGroup"
        case 12: return "Heartbeat"
        case 13: return "LeaveGroup"
        case 14: return "SyncGroup"
        case 15: return "DescribeGroups"
        case 16: return "ListGroups"
        case 17: return "SaslHandshake"
        case 29: return "DescribeAcls"
        case 30: return "CreateAcls"
        case 31: return "DeleteAcls"
        case 36: return "SaslAuthenticate"
        case 50: return "DescribeUserScramCredentials"
        case 51: return "AlterUserScramCredentials"
        case 18: return "ApiVersions"
        case 19: return "CreateTopics"
        case 20: return "DeleteTopics"
        case 21: return "DeleteRecords"
        case 22: return "InitProducerId"
        case 32: return "DescribeConfigs"
        case 33: return "AlterConfigs"
        case 35: return "DescribeLogDirs"
        case 44: return "IncrementalAlterConfigs"
        case 37: return "CreatePartitions"
        case 43: return "ElectLeaders"
        case 60: return "DescribeCluster"
        case 23: return "OffsetForLeaderEpoch"
        case 42: return "DeleteGroups"
        case 47: return "OffsetDelete"
        case 48: return "DescribeClientQuotas"
        case 49: return "AlterClientQuotas"
        case 52: return "Vote"
        case 53: return "BeginQuorumEpoch"
        case 54: return "EndQuorumEpoch"
        case 55: return "DescribeQuorum"
        case 56: return "AlterPartition"
        case 59: return "FetchSnapshot"
        case 62: return "BrokerRegistration"
        case 63: return "BrokerHeartbeat"
        case 67: return "AllocateProducerIds"
        default: return "ApiKey(\(rawValue))"
        }
    }
}
