@testable import RunnelBroker
import Testing

/// `max.connections`, `max.connections.per.ip` and `connections.max.idle.ms` as pure rules; the
/// sockets are covered by Tests/Interop/test_connection_limits.py.
struct ConnectionLimitTests {
    @Test func perIPLimitRefusesTheConnectionBeyondItAndCountsEachAddressApart() {
        let limiter = ConnectionLimiter(maxConnectionsPerIP: 2)
        #expect(limiter.admit(ip: "10.0.0.1") == nil)
        #expect(limiter.admit(ip: "10.0.0.1") == nil)
        #expect(limiter.admit(ip: "10.0.0.1") == .maxConnectionsPerIP(2))
        #expect(limiter.admit(ip: "10.0.0.2") == nil)
        #expect(limiter.openConnections(ip: "10.0.0.1") == 2)
        #expect(limiter.openConnections() == 3)
        limiter.release(ip: "10.0.0.1")
        #expect(limiter.admit(ip: "10.0.0.1") == nil)
        #expect(limiter.admit(ip: "10.0.0.1") == .maxConnectionsPerIP(2))
    }

    @Test func brokerWideLimitRefusesEveryAddressOnceFull() {
        let limiter = ConnectionLimiter(maxConnections: 2)
        #expect(limiter.admit(ip: "10.0.0.1") == nil)
        #expect(limiter.admit(ip: "10.0.0.2") == nil)
        #expect(limiter.admit(ip: "10.0.0.3") == .maxConnections(2))
        limiter.release(ip: "10.0.0.2")
        #expect(limiter.admit(ip: "10.0.0.3") == nil)
        #expect(limiter.openConnections() == 2)
    }

    @Test func perIPLimitIsNamedWhenBothAreReached() {
        let limiter = ConnectionLimiter(maxConnections: 1, maxConnectionsPerIP: 1)
        #expect(limiter.admit(ip: "10.0.0.1") == nil)
        #expect(limiter.admit(ip: "10.0.0.1") == .maxConnectionsPerIP(1))
        #expect(limiter.admit(ip: "10.0.0.2") == .maxConnections(1))
    }

    @Test func perIPOverridesReplaceTheLimitForTheirAddressOnly() throws {
        let config = try BrokerConfig(overrides: [("max.connections.per.ip", "1"),
                                                  ("max.connections.per.ip.overrides", "127.0.0.1:3, ::1:0,localhost:2")])
        let limiter = try ConnectionLimiter(config: config)
        #expect(limiter.perIPOverrides["::1"] == 0)
        #expect(limiter.perIPOverrides["127.0.0.1"] != nil, "localhost resolves to 127.0.0.1 or ::1; the later pair wins")
        #expect(limiter.admit(ip: "::1") == .maxConnectionsPerIP(0))
        #expect(limiter.admit(ip: "10.0.0.1") == nil)
        #expect(limiter.admit(ip: "10.0.0.1") == .maxConnectionsPerIP(1))
        let explicit = ConnectionLimiter(maxConnectionsPerIP: 1, perIPOverrides: ["127.0.0.1": 3])
        for _ in 0..<3 { #expect(explicit.admit(ip: "127.0.0.1") == nil) }
        #expect(explicit.admit(ip: "127.0.0.1") == .maxConnectionsPerIP(3))
    }

    @Test func perIPOverridesAreParsedAndChecked() throws {
        #expect(ConnectionLimiter.parseOverrides("")?.isEmpty == true)
        #expect(ConnectionLimiter.parseOverrides("a:1,fe80::1:7")?.map { "\($0.host)=\($0.count)" } == ["a=1", "fe80::1=7"])
        for bad in ["a", "a:-1", ":3", "a:x", "a:1,,b"] {
            #expect(ConnectionLimiter.parseOverrides(bad) == nil, "\(bad)")
            #expect(throws: ConfigError.self) { try BrokerConfig(overrides: [("max.connections.per.ip.overrides", bad)]) }
        }
        #expect(try ConnectionLimiter.address(of: "0:0:0:0:0:0:0:1") == "::1")
    }

    @Test func zeroRefusesEverything() {
        #expect(ConnectionLimiter(maxConnections: 0).admit(ip: "10.0.0.1") == .maxConnections(0))
        #expect(ConnectionLimiter(maxConnectionsPerIP: 0).admit(ip: "10.0.0.1") == .maxConnectionsPerIP(0))
    }

    @Test func releasedAddressesAreForgotten() {
        let limiter = ConnectionLimiter()
        for i in 0..<100 { #expect(limiter.admit(ip: "10.0.0.\(i)") == nil) }
        for i in 0..<100 { limiter.release(ip: "10.0.0.\(i)") }
        #expect(limiter.openConnections() == 0)
        #expect(limiter.openConnections(ip: "10.0.0.7") == 0)
    }

    @Test func concurrentAdmitsNeverPassTheLimit() async {
        let limiter = ConnectionLimiter(maxConnectionsPerIP: 50)
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<500 { group.addTask { limiter.admit(ip: "10.0.0.1") == nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 50)
        #expect(limiter.openConnections(ip: "10.0.0.1") == 50)
    }

    @Test func defaultsAreKafkas() throws {
        let config = try BrokerConfig()
        let limiter = try ConnectionLimiter(config: config)
        #expect(limiter.maxConnections == Int(Int32.max))
        #expect(limiter.maxConnectionsPerIP == Int(Int32.max))
        #expect(IdleConnectionWatcher.timeout(milliseconds: config.int("connections.max.idle.ms")) == .milliseconds(600_000))
        #expect(IdleConnectionWatcher.timeout(milliseconds: -1) == nil)
    }

    // MARK: connections.max.idle.ms

    @Test func idleConnectionClosesAfterTheTimeoutFromTheLastRequest() {
        let start = ContinuousClock.now
        var state = IdleState(now: start)
        #expect(state.check(now: start, timeout: .seconds(1)) == .wait(until: start + .seconds(1)))
        #expect(state.check(now: start + .seconds(1), timeout: .seconds(1)) == .close)
        state.requestStarted()
        state.requestFinished(now: start + .milliseconds(800))
        #expect(state.check(now: start + .seconds(1), timeout: .seconds(1)) == .wait(until: start + .milliseconds(1800)))
        #expect(state.check(now: start + .milliseconds(1800), timeout: .seconds(1)) == .close)
    }

    @Test func requestInFlightIsNeverIdle() {
        let start = ContinuousClock.now
        var state = IdleState(now: start)
        state.requestStarted()
        let late = start + .seconds(60)
        #expect(state.check(now: late, timeout: .seconds(1)) == .wait(until: late + .seconds(1)))
        state.requestFinished(now: late)
        #expect(state.check(now: late + .milliseconds(999), timeout: .seconds(1)) == .wait(until: late + .seconds(1)))
        #expect(state.check(now: late + .seconds(1), timeout: .seconds(1)) == .close)
    }
}
