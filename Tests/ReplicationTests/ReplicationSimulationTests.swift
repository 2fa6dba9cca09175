import Foundation
import Testing

/// The seeded replication simulation: `REPLICATION_SIM_SEEDS=N` runs more seeds (default 300),
/// `REPLICATION_SIM_SEED=S` replays one.
@Suite struct ReplicationSimulationTests {
    @Test func everySeedKeepsAcknowledgedRecordsAndRecovers() async throws {
        let env = ProcessInfo.processInfo.environment
        let seeds: [UInt64] = env["REPLICATION_SIM_SEED"].flatMap(UInt64.init).map { [$0] }
            ?? (1...UInt64(env["REPLICATION_SIM_SEEDS"].flatMap(Int.init) ?? 300)).map { $0 }
        var totals = (acks: 0, crashes: 0, elections: 0, isrChanges: 0, truncated: 0)
        for seed in seeds {
            // Yield between seeds so other suites' tasks (and their timers) are not starved of
            // the cooperative pool's few threads.
            await Task.yield()
            var sim = ReplicationSimulation(seed: seed)
            do {
                try sim.run()
            } catch {
                Issue.record("\(error)")
                return
            }
            totals.acks += sim.stats.acks
            totals.crashes += sim.stats.crashes
            totals.elections += sim.stats.elections
            totals.isrChanges += sim.stats.isrChanges
            totals.truncated += sim.stats.truncatedEntries
        }
        // The faults must actually happen, or the checks prove nothing.
        #expect(totals.crashes > seeds.count / 2 && totals.elections > seeds.count && totals.isrChanges > seeds.count)
        if seeds.count > 1 { #expect(totals.truncated > 0) }
        print("replication simulation: \(seeds.count) seeds, \(totals.acks) acknowledged records, \(totals.crashes) crashes, "
              + "\(totals.elections) elections, \(totals.isrChanges) ISR changes, \(totals.truncated) entries truncated")
    }
}
