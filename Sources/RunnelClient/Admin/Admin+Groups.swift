import KafkaProtocol

extension Admin {
    /// Every group the cluster's coordinators know (ListGroups to each broker).
    public func listGroups() async throws -> [GroupListing] {
        _ = try await core.refreshMetadata(topics: [])
        var out: [GroupListing] = []
        for broker in await core.knownBrokers() {
            let response = try await core.connection(to: broker.id).send(ListGroupsRequest())
            guard response.errorCode == .none else {
                throw ClientError.broker(code: response.errorCode, message: nil, context: "ListGroups on broker \(broker.id)")
            }
            out += response.groups.map { GroupListing(groupID: $0.groupID, protocolType: $0.protocolType, state: $0.groupState) }
        }
        return out.sorted { $0.groupID < $1.groupID }
    }

    /// State, assignor and members of each group (DescribeGroups to its coordinator).
    public func describeGroups(_ groupIDs: [String]) async throws -> [GroupDescription] {
        var out: [GroupDescription] = []
        for groupID in groupIDs {
            let response = try await core.coordinator(forGroup: groupID).send(DescribeGroupsRequest(groups: [groupID]))
            for group in response.groups {
                out.append(GroupDescription(
                    groupID: group.groupID, state: group.groupState, protocolType: group.protocolType,
                    assignor: group.protocolData,
                    members: group.members.map { member in
                        let assignment = group.protocolType == ConsumerProtocol.protocolType
                            ? (try? ConsumerProtocol.decodeAssignment(member.memberAssignment).partitions) ?? [] : []
                        return GroupMemberDescription(memberID: member.memberID, groupInstanceID: member.groupInstanceID,
                                                      clientID: member.clientID, host: member.clientHost,
                                                      assignment: assignment.sorted())
                    },
                    error: group.errorCode == .none ? nil : "\(group.errorCode)"))
            }
        }
        return out
    }

    /// Deletes groups (DeleteGroups); a group must have no members.
    /// - Throws: NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND...
    public func deleteGroups(_ groupIDs: [String]) async throws {
        for groupID in groupIDs {
            let response = try await core.coordinator(forGroup: groupID).send(DeleteGroupsRequest(groupsNames: [groupID]))
            for result in response.results where result.errorCode != .none {
                throw ClientError.broker(code: result.errorCode, message: nil, context: "deleting group '\(result.groupID)'")
            }
        }
    }

    /// The committed offset of every partition the group has one for (OffsetFetch, all topics).
    public func groupOffsets(_ groupID: String) async throws -> [TopicPartition: Int64] {
        let response = try await core.coordinator(forGroup: groupID).send(OffsetFetchRequest(groupID: groupID, topics: nil))
        guard response.errorCode == .none else {
            throw ClientError.broker(code: response.errorCode, message: nil, context: "OffsetFetch for group '\(groupID)'")
        }
        var out: [TopicPartition: Int64] = [:]
        for topic in response.topics {
            for partition in topic.partitions where partition.errorCode == .none && partition.committedOffset >= 0 {
                out[TopicPartition(topic: topic.name, partition: partition.partitionIndex)] = partition.committedOffset
            }
        }
        return out
    }

    /// Sets the group's committed offsets (OffsetCommit as a non-member, generation -1); the
    /// coordinator accepts it only while the group has no members.
    /// - Throws: UNKNOWN_MEMBER_ID / REBALANCE_IN_PROGRESS while members are active.
    public func alterGroupOffsets(_ groupID: String, offsets: [TopicPartition: Int64]) async throws {
        let byTopic = Dictionary(grouping: offsets, by: \.key.topic)
        let request = OffsetCommitRequest(groupID: groupID, topics: byTopic.keys.sorted().map { topic in
            .init(name: topic, partitions: byTopic[topic]!.map { .init(partitionIndex: $0.key.partition, committedOffset: $0.value) })
        })
        let response = try await core.coordinator(forGroup: groupID).send(request)
        for topic in response.topics {
            for partition in topic.partitions where partition.errorCode != .none {
                let hint = partition.errorCode == .unknownMemberID || partition.errorCode == .rebalanceInProgress
                    ? "the group has active members; stop its consumers first" : nil
                throw ClientError.broker(code: partition.errorCode, message: hint,
                                         context: "committing offsets for group '\(groupID)'")
            }
        }
    }
}
