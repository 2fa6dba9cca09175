import Foundation
import Logging
@testable import RunnelBroker
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Start-up checks and log rate limiting.
struct OperationsTests {
    @Test func rateLimiterLetsABurstThroughPerWindowAndCountsTheRest() {
        let limiter = LogRateLimiter(burst: 3, window: .seconds(10))
        let t0 = ContinuousClock.now
        #expect((0..<3).map { _ in limiter.admit("a", now: t0) } == [0, 0, 0])
        #expect((0..<5).map { _ in limiter.admit("a", now: t0 + .seconds(1)) }.allSatisfy { $0 == nil })
        // Another key has its own budget.
        #expect(limiter.admit("b", now: t0 + .seconds(1)) == 0)
        // The next window's first line reports what was suppressed.
        #expect(limiter.admit("a", now: t0 + .seconds(11)) == 5)
        #expect(limiter.admit("a", now: t0 + .seconds(11)) == 0)
    }

    @Test func rateLimiterKeepsABoundedNumberOfKeys() {
        let limiter = LogRateLimiter(burst: 1, window: .seconds(10), maxKeys: 4)
        let t0 = ContinuousClock.now
        for i in 0..<100 { _ = limiter.admit("client-\(i)", now: t0 + .milliseconds(i)) }
        // The oldest keys were dropped: client-0 starts over with a fresh budget.
        #expect(limiter.admit("client-0", now: t0 + .seconds(1)) == 0)
    }

    @Test func aSecondLockOnTheSameDirectoryFailsNamingTheHolder() throws {
        try withTemporaryDirectory { dir in
            let first = try LogDirectoryLock.acquire(directory: dir)
            // flock locks belong to the open file description, so a second open in this process conflicts too.
            #expect {
                _ = try LogDirectoryLock.acquire(directory: dir)
            } throws: { error in
                guard case BrokerStartupError.logDirLocked(let path, let holder)? = error as? BrokerStartupError else { return false }
                return path == dir && holder == String(getpid())
            }
            first.release()
            let again = try LogDirectoryLock.acquire(directory: dir)
            again.release()
        }
    }

    @Test func perSubsystemLogLevels() throws {
        let levels = try LogLevels(BrokerConfig(overrides: [("runnel.log.level", "warning"), ("runnel.log.levels", " network=debug , groups=error")]))
        #expect(levels[.network] == .debug)
        #expect(levels[.groups] == .error)
        #expect(levels[.storage] == .warning)
        let logger = levels.logger(.network, from: Logger(label: "test"))
        #expect(logger.logLevel == .debug)
        #expect(logger[metadataKey: "subsystem"] == "network")
        for bad in ["disk=debug", "network", "network=loud"] {
            #expect(throws: ConfigError.self) { try BrokerConfig(overrides: [("runnel.log.levels", bad)]) }
        }
    }

    /// `docs/configuration.md` is generated (`runnel config-reference`); the committed file must
    /// match what the definitions produce now.
    @Test func configurationReferenceIsUpToDate() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/configuration.md").path
        let committed = try String(contentsOfFile: path, encoding: .utf8)
        #expect(committed == ConfigReference.markdown(),
                "docs/configuration.md is stale: run `swift run runnel config-reference > docs/configuration.md`")
    }

    @Test func logDirectoryChecks() throws {
        try withTemporaryDirectory { dir in
            try StartupChecks.checkLogDirectory(dir + "/nested/logs", minFreeBytes: 0)
            #expect(throws: BrokerStartupError.self) { try StartupChecks.checkLogDirectory(dir, minFreeBytes: .max) }
            #expect(throws: BrokerStartupError.self) { try StartupChecks.checkLogDirectory("/proc/runnel-no-such-dir", minFreeBytes: 0) }
        }
    }
}
