@testable import Raft

/// Everything one simulation run depends on, derived from its seed alone, so `RAFT_SIM_SEED=N`
/// replays it exactly.
struct SimulationParameters: CustomStringConvertible {
    var seed: UInt64
    /// 3 or 5 voters: seeds with `seed % 3 == 2` use 5, so any 3k consecutive seeds are 2k runs with
    /// 3 voters and k with 5.
    var voterCount: Int
    /// Half the seeds add one observer (id 9).
    var hasObserver: Bool
    /// Ticks of faults before the network heals and crashed nodes restart.
    var faultTicks: Int
    /// After healing, a leader must exist and a new entry must commit on every voter within this many
    /// ticks (20 election timeouts).
    var livenessBoundTicks: Int
    var dropRate: Double
    var duplicateRate: Double
    var maxDelayTicks: Int
    var longDelayRate: Double
    /// Chance per tick of a new partition (the leader cut off, another node cut off, a random split,
    /// or random one-way link failures).
    var partitionRate: Double
    /// Chance per tick that a partition heals.
    var partitionHealRate: Double
    /// Chance per live node per tick of a crash.
    var crashRate: Double
    /// Share of crashes that happen inside a step: after a random prefix of its persist actions, before
    /// any of its messages leave.
    var midStepCrashShare: Double
    var maxDownTicks: Int
    var proposeRate: Double
    var snapshotRate: Double
    /// Chance per tick that the leader resigns gracefully (EndQuorumEpoch).
    var resignRate: Double
    /// Chance per live node per tick of a stop-the-world pause of up to 3 fetch timeouts.
    var pauseRate: Double
    var electionTimeoutTicks = 10
    var fetchTimeoutTicks = 20
    var requestTimeoutTicks = 12
    var fetchMaxWaitTicks = 4
    var plantedBug: PlantedBug = .none

    init(seed: UInt64) {
        self.seed = seed
        var random = SeededRandom(seed: seed &* 0x2545_F491_4F6C_DD1D ^ 0x5DEE_CE66_D1CE_4E5B)
        voterCount = seed % 3 == 2 ? 5 : 3
        hasObserver = (seed / 3) % 2 == 1
        faultTicks = random.next(in: 300...500)
        livenessBoundTicks = 20 * electionTimeoutTicks
        dropRate = Double(random.next(in: 0...30)) / 100
        duplicateRate = Double(random.next(in: 0...10)) / 100
        maxDelayTicks = random.next(in: 1...5)
        longDelayRate = Double(random.next(in: 0...5)) / 100
        partitionRate = Double(random.next(in: 0...30)) / 1000
        partitionHealRate = Double(random.next(in: 10...80)) / 1000
        crashRate = Double(random.next(in: 0...60)) / 10_000
        midStepCrashShare = 0.5
        maxDownTicks = random.next(in: 5...60)
        proposeRate = Double(random.next(in: 10...60)) / 100
        snapshotRate = Double(random.next(in: 0...40)) / 1000
        resignRate = Double(random.next(in: 0...5)) / 1000
        pauseRate = Double(random.next(in: 0...20)) / 10_000
    }

    var voters: [ReplicaID] { (1...voterCount).map { ReplicaID(Int32($0)) } }
    var observers: [ReplicaID] { hasObserver ? [9] : [] }

    func config(for id: ReplicaID, seed: UInt64) -> RaftConfig {
        var config = RaftConfig(nodeID: id, voters: Set(voters), random: SeededRandom(seed: seed),
                                electionTimeoutTicks: electionTimeoutTicks, fetchTimeoutTicks: fetchTimeoutTicks,
                                electionBackoffMaxTicks: electionTimeoutTicks, requestTimeoutTicks: requestTimeoutTicks,
                                retryBackoffTicks: 1, fetchMaxWaitTicks: fetchMaxWaitTicks, maxEntriesPerFetch: 20)
        config.plantedBug = plantedBug
        return config
    }

    var description: String {
        "voters=\(voterCount) observer=\(hasObserver) faultTicks=\(faultTicks) drop=\(dropRate) dup=\(duplicateRate) "
            + "maxDelay=\(maxDelayTicks) longDelay=\(longDelayRate) partition=\(partitionRate)/heal=\(partitionHealRate) "
            + "crash=\(crashRate) maxDown=\(maxDownTicks) propose=\(proposeRate) snapshot=\(snapshotRate) resign=\(resignRate) pause=\(pauseRate)"
    }
}
