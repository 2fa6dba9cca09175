/// A Kafka error code (protocol guide, "Error Codes"; Kafka's `Errors.java`).
///
/// A raw-value struct rather than an enum so that codes Runnel does not name still round-trip.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    public init(_ rawValue: Int16) { self.rawValue = rawValue }

    public static let unknownServerError = ErrorCode(-1)
    public static let none = ErrorCode(0)
    public static let offsetOutOfRange = ErrorCode(1)
    public static let corruptMessage = ErrorCode(2)
    public static let unknownTopicOrPartition = ErrorCode(3)
    public static let invalidFetchSize = ErrorCode(4)
    public static let leaderNotAvailable = ErrorCode(5)
    public static let notLeaderOrFollower = ErrorCode(6)
    public static let requestTimedOut = ErrorCode(7)
    public static let brokerNotAvailable = ErrorCode(8)
    public static let replicaNotAvailable = ErrorCode(9)
    public static let messageTooLarge = ErrorCode(10)
    public static let offsetMetadataTooLarge = ErrorCode(12)
    public static let networkException = ErrorCode(13)
    public static let coordinatorLoadInProgress = ErrorCode(14)
    public static let coordinatorNotAvailable = ErrorCode(15)
    public static let notCoordinator = ErrorCode(16)
    public static let invalidTopicException = ErrorCode(17)
    public static let recordListTooLarge = ErrorCode(18)
    public static let notEnoughReplicas = ErrorCode(19)
    public static let notEnoughReplicasAfterAppend = ErrorCode(20)
    public static let invalidRequiredAcks = ErrorCode(21)
    public static let illegalGeneration = ErrorCode(22)
    public static let inconsistentGroupProtocol = ErrorCode(23)
    public static let invalidGroupID = ErrorCode(24)
    public static let unknownMemberID = ErrorCode(25)
    public static let invalidSessionTimeout = ErrorCode(26)
    public static let rebalanceInProgress = ErrorCode(27)
    public static let invalidCommitOffsetSize = ErrorCode(28)
    public static let topicAuthorizationFailed = ErrorCode(29)
    public static let groupAuthorizationFailed = ErrorCode(30)
    public static let clusterAuthorizationFailed = ErrorCode(31)
    /// ACL APIs on a broker with no authorizer (`authorizer.class.name` empty).
    public static let securityDisabled = ErrorCode(54)
    public static let invalidTimestamp = ErrorCode(32)
    public static let unsupportedVersion = ErrorCode(35)
    public static let topicAlreadyExists = ErrorCode(36)
    public static let invalidPartitions = ErrorCode(37)
    public static let invalidReplicationFactor = ErrorCode(38)
    public static let invalidReplicaAssignment = ErrorCode(39)
    public static let invalidConfig = ErrorCode(40)
    public static let notController = ErrorCode(41)
    public static let invalidRequest = ErrorCode(42)
    public static let unsupportedForMessageFormat = ErrorCode(43)
    public static let policyViolation = ErrorCode(44)
    /// The producer's batch does not follow its previous one (KIP-98).
    public static let outOfOrderSequenceNumber = ErrorCode(45)
    /// An exact duplicate of an earlier batch (older brokers; Runnel answers the original offsets).
    public static let duplicateSequenceNumber = ErrorCode(46)
    /// The producer epoch is older than the one the partition knows (a fenced producer).
    public static let invalidProducerEpoch = ErrorCode(47)
    public static let transactionalIDAuthorizationFailed = ErrorCode(53)
    public static let unknownProducerID = ErrorCode(59)
    public static let kafkaStorageError = ErrorCode(56)
    public static let nonEmptyGroup = ErrorCode(68)
    public static let groupIDNotFound = ErrorCode(69)
    public static let fetchSessionIDNotFound = ErrorCode(70)
    public static let invalidFetchSessionEpoch = ErrorCode(71)
    public static let fencedLeaderEpoch = ErrorCode(74)
    public static let unknownLeaderEpoch = ErrorCode(75)
    public static let unsupportedCompressionType = ErrorCode(76)
    public static let offsetNotAvailable = ErrorCode(78)
    public static let memberIDRequired = ErrorCode(79)
    public static let preferredLeaderNotAvailable = ErrorCode(80)
    public static let groupMaxSizeReached = ErrorCode(81)
    public static let fencedInstanceID = ErrorCode(82)
    public static let eligibleLeadersNotAvailable = ErrorCode(83)
    public static let electionNotNeeded = ErrorCode(84)
    public static let groupSubscribedToTopic = ErrorCode(86)
    public static let invalidRecord = ErrorCode(87)
    public static let unstableOffsetCommit = ErrorCode(88)
    public static let inconsistentVoterSet = ErrorCode(94)
    public static let snapshotNotFound = ErrorCode(98)
    public static let staleBrokerEpoch = ErrorCode(77)
    public static let unknownTopicID = ErrorCode(100)
    public static let inconsistentClusterID = ErrorCode(104)
    public static let invalidUpdateVersion = ErrorCode(95)
    public static let newLeaderElected = ErrorCode(106)
    public static let ineligibleReplica = ErrorCode(107)
    public static let duplicateBrokerRegistration = ErrorCode(101)
    public static let brokerIDNotRegistered = ErrorCode(102)
    public static let inconsistentTopicID = ErrorCode(103)
    // SASL and SCRAM credentials (KIP-43, KIP-152, KIP-554).
    public static let unsupportedSaslMechanism = ErrorCode(33)
    public static let illegalSaslState = ErrorCode(34)
    public static let saslAuthenticationFailed = ErrorCode(58)
    public static let resourceNotFound = ErrorCode(91)
    public static let duplicateResource = ErrorCode(92)
    public static let unacceptableCredential = ErrorCode(93)

    /// Whether Kafka's Java client treats this error as retriable (`RetriableException` subclasses).
    ///
    /// Of the group-coordinator errors only COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE,
    /// NOT_COORDINATOR and UNSTABLE_OFFSET_COMMIT are; REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION and
    /// UNKNOWN_MEMBER_ID are plain `ApiException`s (the consumer rejoins instead of retrying).
    public var isRetriable: Bool {
        switch self {
        case .corruptMessage, .unknownTopicOrPartition, .leaderNotAvailable, .notLeaderOrFollower,
             .requestTimedOut, .replicaNotAvailable, .networkException, .coordinatorLoadInProgress,
             .coordinatorNotAvailable, .notCoordinator, .notEnoughReplicas, .notEnoughReplicasAfterAppend,
             .notController, .kafkaStorageError, .fencedLeaderEpoch, .unknownLeaderEpoch,
             .offsetNotAvailable, .unknownTopicID, .fetchSessionIDNotFound, .invalidFetchSessionEpoch,
             .unstableOffsetCommit:
            return true
        default:
            return false
        }
    }

    public var description: String {
        let names: [Int16: String] = [
            -1: "UNKNOWN_SERVER_ERROR", 0: "NONE", 1: "OFFSET_OUT_OF_RANGE", 2: "CORRUPT_MESSAGE",
            3: "UNKNOWN_TOPIC_OR_PARTITION", 4: "INVALID_FETCH_SIZE", 5: "LEADER_NOT_AVAILABLE",
            6: "NOT_LEADER_OR_FOLLOWER", 7: "REQUEST_TIMED_OUT", 8: "BROKER_NOT_AVAILABLE",
            9: "REPLICA_NOT_AVAILABLE", 10: "MESSAGE_TOO_LARGE", 12: "OFFSET_METADATA_TOO_LARGE",
            13: "NETWORK_EXCEPTION",
            14: "COORDINATOR_LOAD_IN_PROGRESS", 15: "COORDINATOR_NOT_AVAILABLE", 16: "NOT_COORDINATOR",
            17: "INVALID_TOPIC_EXCEPTION", 18: "RECORD_LIST_TOO_LARGE", 19: "NOT_ENOUGH_REPLICAS",
            20: "NOT_ENOUGH_REPLICAS_AFTER_APPEND", 21: "INVALID_REQUIRED_ACKS", 22: "ILLEGAL_GENERATION",
            23: "INCONSISTENT_GROUP_PROTOCOL", 24: "INVALID_GROUP_ID", 25: "UNKNOWN_MEMBER_ID",
            26: "INVALID_SESSION_TIMEOUT", 27: "REBALANCE_IN_PROGRESS", 28: "INVALID_COMMIT_OFFSET_SIZE",
            29: "TOPIC_AUTHORIZATION_FAILED", 30: "GROUP_AUTHORIZATION_FAILED", 31: "CLUSTER_AUTHORIZATION_FAILED",
            32: "INVALID_TIMESTAMP", 54: "SECURITY_DISABLED",
            35: "UNSUPPORTED_VERSION", 36: "TOPIC_ALREADY_EXISTS", 37: "INVALID_PARTITIONS",
            38: "INVALID_REPLICATION_FACTOR", 39: "INVALID_REPLICA_ASSIGNMENT", 40: "INVALID_CONFIG",
            41: "NOT_CONTROLLER", 42: "INVALID_REQUEST", 43: "UNSUPPORTED_FOR_MESSAGE_FORMAT",
            44: "POLICY_VIOLATION", 45: "OUT_OF_ORDER_SEQUENCE_NUMBER", 46: "DUPLICATE_SEQUENCE_NUMBER",
            47: "INVALID_PRODUCER_EPOCH", 53: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", 59: "UNKNOWN_PRODUCER_ID", 56: "KAFKA_STORAGE_ERROR", 68: "NON_EMPTY_GROUP", 69: "GROUP_ID_NOT_FOUND",
            70: "FETCH_SESSION_ID_NOT_FOUND", 71: "INVALID_FETCH_SESSION_EPOCH", 74: "FENCED_LEADER_EPOCH",
            75: "UNKNOWN_LEADER_EPOCH", 76: "UNSUPPORTED_COMPRESSION_TYPE", 77: "STALE_BROKER_EPOCH", 78: "OFFSET_NOT_AVAILABLE",
            79: "MEMBER_ID_REQUIRED", 80: "PREFERRED_LEADER_NOT_AVAILABLE", 81: "GROUP_MAX_SIZE_REACHED", 82: "FENCED_INSTANCE_ID",
            83: "ELIGIBLE_LEADERS_NOT_AVAILABLE", 84: "ELECTION_NOT_NEEDED",
            86: "GROUP_SUBSCRIBED_TO_TOPIC", 87: "INVALID_RECORD", 88: "UNSTABLE_OFFSET_COMMIT", 94: "INCONSISTENT_VOTER_SET", 95: "INVALID_UPDATE_VERSION", 98: "SNAPSHOT_NOT_FOUND", 100: "UNKNOWN_TOPIC_ID", 101: "DUPLICATE_BROKER_REGISTRATION", 102: "BROKER_ID_NOT_REGISTERED", 103: "INCONSISTENT_TOPIC_ID", 104: "INCONSISTENT_CLUSTER_ID", 106: "NEW_LEADER_ELECTED", 107: "INELIGIBLE_REPLICA",
            33: "UNSUPPORTED_SASL_MECHANISM", 34: "ILLEGAL_SASL_STATE", 58: "SASL_AUTHENTICATION_FAILED",
            91: "RESOURCE_NOT_FOUND", 92: "DUPLICATE_RESOURCE", 93: "UNACCEPTABLE_CREDENTIAL",
        ]
        return names[rawValue] ?? "ERROR_\(rawValue)"
    }
}
