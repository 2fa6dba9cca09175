/// Partition assignors the group leader runs on the members' subscriptions (Kafka
/// `ConsumerPartitionAssignor`). Pure functions: members and partition counts in, assignment out.
enum Assignors {
    struct Member: Equatable, Sendable {
        var memberID: String
        var topics: [String]
        /// What the member owns now (subscription v1+); used by cooperative-sticky.
        var ownedPartitions: [TopicPartition] = []
    }

    /// Runs the assignor named `kind` over `members`; topics missing from `partitionCounts` get no
    /// partitions. Every member appears in the result, possibly with none.
    static func assign(_ kind: AssignorKind, members: [Member], partitionCounts: [String: Int]) -> [String: [TopicPartition]] {
        switch kind {
        case .range: return range(members: members, partitionCounts: partitionCounts)
        case .roundRobin: return roundRobin(members: members, partitionCounts: partitionCounts)
        case .cooperativeSticky: return cooperativeSticky(members: members, partitionCounts: partitionCounts)
        }
    }

    /// Kafka `RangeAssignor`: per topic, members subscribed to it sorted by member id; each gets
    /// `partitions / members` consecutive partitions and the first `partitions % members` one more.
    static func range(members: [Member], partitionCounts: [String: Int]) -> [String: [TopicPartition]] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, [TopicPartition]()) })
        let topics = Set(members.flatMap(\.topics))
        for topic in topics.sorted() {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            let subscribers = members.filter { $0.topics.contains(topic) }.map(\.memberID).sorted()
            guard !subscribers.isEmpty else { continue }
            let share = count / subscribers.count
            let extra = count % subscribers.count
            var next = 0
            for (index, member) in subscribers.enumerated() {
                let length = share + (index < extra ? 1 : 0)
                result[member]! += (next..<(next + length)).map { TopicPartition(topic: topic, partition: Int32($0)) }
                next += length
            }
        }
        return result
    }

    /// Kafka `RoundRobinAssignor`: all partitions sorted by topic and index, dealt to members sorted
    /// by id in turn, skipping members not subscribed to the partition's topic.
    static func roundRobin(members: [Member], partitionCounts: [String: Int]) -> [String: [TopicPartition]] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, [TopicPartition]()) })
        let sorted = members.sorted { $0.memberID < $1.memberID }
        guard !sorted.isEmpty else { return result }
        var cursor = 0
        for topic in Set(members.flatMap(\.topics)).sorted() {
            for partition in 0..<(partitionCounts[topic] ?? 0) {
                for _ in 0..<sorted.count {
                    let member = sorted[cursor % sorted.count]
                    cursor += 1
                    if member.topics.contains(topic) {
                        result[member.memberID]!.append(TopicPartition(topic: topic, partition: Int32(partition)))
                        break
                    }
                }
            }
        }
        return result
    }

    /// Balanced and sticky, with the cooperative rule (KIP-429, Kafka `CooperativeStickyAssignor`).
    ///
    /// Each member's quota is `partitions / members`, and `partitions % members` of them (those
    /// owning the most) may hold one more. Members keep the partitions they own and are subscribed
    /// to, up to their quota; the rest go, in partition order, to the least-loaded subscribed
    /// member. A partition that some other member claims to own is left out of this generation:
    /// its owner sees it revoked and rejoins, and the next rebalance hands it over, so two members
    /// never fetch it at once.
    static func cooperativeSticky(members: [Member], partitionCounts: [String: Int]) -> [String: [TopicPartition]] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, [TopicPartition]()) })
        guard !members.isEmpty else { return result }
        let all = Set(members.flatMap(\.topics)).sorted().flatMap { topic in
            (0..<(partitionCounts[topic] ?? 0)).map { TopicPartition(topic: topic, partition: Int32($0)) }
        }
        let valid = Set(all)
        var claimers: [TopicPartition: Set<String>] = [:]
        for member in members {
            for tp in member.ownedPartitions where valid.contains(tp) {
                claimers[tp, default: []].insert(member.memberID)
            }
        }
        // Kept: owned by exactly one member that is still subscribed to its topic.
        var kept: [String: [TopicPartition]] = [:]
        for member in members {
            kept[member.memberID] = member.ownedPartitions.filter {
                valid.contains($0) && member.topics.contains($0.topic) && claimers[$0]?.count == 1
            }.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        }
        let minQuota = all.count / members.count
        var extraSlots = all.count % members.count
        var placed: Set<TopicPartition> = []
        for member in members.sorted(by: { (kept[$0.memberID]!.count, $1.memberID) > (kept[$1.memberID]!.count, $0.memberID) }) {
            let owned = kept[member.memberID]!
            var quota = minQuota
            if owned.count > minQuota, extraSlots > 0 {
                quota += 1
                extraSlots -= 1
            }
            result[member.memberID] = Array(owned.prefix(quota))
            placed.formUnion(owned.prefix(quota))
        }
        for tp in all where !placed.contains(tp) {
            let candidates = members.filter { $0.topics.contains(tp.topic) }
            guard let target = candidates.min(by: {
                (result[$0.memberID]!.count, $0.memberID) < (result[$1.memberID]!.count, $1.memberID)
            }) else { continue }
            result[target.memberID]!.append(tp)
        }
        // Cooperative rule: never hand a partition straight from one owner to another.
        for (member, partitions) in result {
            result[member] = partitions.filter { tp in
                guard let owners = claimers[tp] else { return true }
                return owners.contains(member)
            }
        }
        return result
    }
}
