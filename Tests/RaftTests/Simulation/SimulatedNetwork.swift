@testable import Raft

struct SimulatedMessage {
    var from: ReplicaID
    var to: ReplicaID
    var message: RaftMessage<UInt64>
}

/// An in-memory network that drops, duplicates, delays and (through random delays and shuffled
/// delivery) reorders messages, and can be partitioned into groups that cannot talk to each other.
struct SimulatedNetwork {
    var dropRate: Double
    var duplicateRate: Double
    var maxDelayTicks: Int
    var longDelayRate: Double
    /// Partition group of each node id; nodes talk only within a group.
    private(set) var groups: [ReplicaID: Int] = [:]
    private var buckets: [[SimulatedMessage]]
    private(set) var sent = 0
    private(set) var dropped = 0

    init(dropRate: Double, duplicateRate: Double, maxDelayTicks: Int, longDelayRate: Double) {
        self.dropRate = dropRate
        self.duplicateRate = duplicateRate
        self.maxDelayTicks = maxDelayTicks
        self.longDelayRate = longDelayRate
        self.buckets = Array(repeating: [], count: 128)
    }

    /// Directed links that drop everything (one-way partitions), as [from, to].
    private(set) var blockedLinks: Set<[ReplicaID]> = []

    func canTalk(_ from: ReplicaID, _ to: ReplicaID) -> Bool {
        groups[from, default: 0] == groups[to, default: 0] && (blockedLinks.isEmpty || !blockedLinks.contains([from, to]))
    }

    var isPartitioned: Bool { !blockedLinks.isEmpty || groups.values.contains { $0 != 0 } }

    mutating func partition(_ newGroups: [ReplicaID: Int]) { groups = newGroups }

    mutating func block(from: ReplicaID, to: ReplicaID) { blockedLinks.insert([from, to]) }

    mutating func heal() {
        groups = [:]
        blockedLinks = []
    }

    /// Puts a message back for the next tick (its receiver is paused).
    mutating func hold(_ message: SimulatedMessage, now: Int) {
        buckets[(now + 1) % buckets.count].append(message)
    }

    mutating func send(_ message: SimulatedMessage, now: Int, random: inout SeededRandom) {
        sent += 1
        guard canTalk(message.from, message.to), !random.chance(dropRate) else {
            dropped += 1
            return
        }
        schedule(message, now: now, random: &random)
        if random.chance(duplicateRate) { schedule(message, now: now, random: &random) }
    }

    private mutating func schedule(_ message: SimulatedMessage, now: Int, random: inout SeededRandom) {
        var delay = random.next(in: 1...maxDelayTicks)
        if random.chance(longDelayRate) { delay += random.next(in: 1...(4 * maxDelayTicks)) }
        buckets[(now + min(delay, buckets.count - 1)) % buckets.count].append(message)
    }

    /// The messages due at `now`, in random order; partitions are checked again at delivery.
    mutating func takeDue(now: Int, random: inout SeededRandom) -> [SimulatedMessage] {
        let index = now % buckets.count
        var due = buckets[index]
        buckets[index] = []
        if due.count > 1 {
            for i in stride(from: due.count - 1, to: 0, by: -1) {
                due.swapAt(i, random.next(below: i + 1))
            }
        }
        return due.filter { canTalk($0.from, $0.to) }
    }
}
