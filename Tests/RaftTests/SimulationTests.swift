import Foundation
import Testing
@testable import Raft

/// The seeded whole-cluster simulation. Defaults: 3000 seeds (2000 with 3 voters, 1000 with 5, half
/// of each with an observer), split into parallel chunks.
///
/// - `RAFT_SIM_SEEDS=N` runs seeds 0..<N instead.
/// - `RAFT_SIM_SEED=N` runs only seed N (a failure prints the command).
@Suite("Simulation")
struct SimulationTests {
    static let environment = ProcessInfo.processInfo.environment
    static let singleSeed: UInt64? = environment["RAFT_SIM_SEED"].flatMap { UInt64($0) }
    static let seedCount: UInt64 = environment["RAFT_SIM_SEEDS"].flatMap { UInt64($0) } ?? 3000
    static let chunkCount: UInt64 = 8

    @Test("seeded simulation: safety after every step, liveness after healing", arguments: 0..<chunkCount)
    func simulate(chunk: UInt64) async {
        let seeds: [UInt64]
        if let singleSeed = Self.singleSeed {
            seeds = chunk == 0 ? [singleSeed] : []
        } else {
            seeds = Array(stride(from: chunk, to: Self.seedCount, by: Int(Self.chunkCount)))
        }
        var totals = SimulationStats()
        var maxRecovery = 0
        for seed in seeds {
            // Let other suites' tasks run between seeds: the simulation would otherwise hold the
            // cooperative pool's few threads for a minute.
            await Task.yield()
            switch Simulation.run(seed: seed) {
            case .success(let stats):
                totals.ticks += stats.ticks
                totals.messagesSent += stats.messagesSent
                totals.epochsWithLeader += stats.epochsWithLeader
                totals.committedEntries += stats.committedEntries
                totals.crashes += stats.crashes
                totals.snapshotsInstalled += stats.snapshotsInstalled
                maxRecovery = max(maxRecovery, stats.recoveryTicks)
            case .failure(let failure):
                print(failure)
                Issue.record("\(failure)")
                return
            }
        }
        if !seeds.isEmpty {
            print("raft simulation chunk \(chunk): \(seeds.count) seeds, \(totals.ticks) ticks, \(totals.messagesSent) messages, "
                  + "\(totals.epochsWithLeader) elected epochs, \(totals.committedEntries) committed entries, "
                  + "\(totals.crashes) crashes, \(totals.snapshotsInstalled) snapshot loads, slowest recovery \(maxRecovery) ticks")
        }
    }
}
