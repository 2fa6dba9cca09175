import KafkaProtocol
@testable import RunnelBroker
import Testing

/// Client quotas: Kafka's windowed rate and throttle math (KIP-13), entity precedence and sensor
/// sharing (KIP-55), DescribeClientQuotas filters and AlterClientQuotas checks (KIP-546), and
/// `ClientQuotaRecord`s kept across a controller restart.
@Suite struct ClientQuotaTests {
    typealias Entity = ClientQuotaEntity

    // MARK: the rate

    @Test func aFreshSensorSpreadsItsFirstBurstOverTheWholeSpan() {
        var rate = WindowedRate(sampleCount: 11, windowMs: 1000)
        rate.record(1000, nowMs: 0)
        // At least 10 whole windows: 1000 bytes over 10 s.
        #expect(rate.elapsedMs(nowMs: 0) == 10_000)
        #expect(rate.rate(nowMs: 0) == 100)
        #expect(rate.elapsedMs(nowMs: 500) == 10_500)
        // (observed - quota) / quota × span: (100 - 50) / 50 × 10 s.
        #expect(rate.throttleMs(quota: 50, nowMs: 0) == 10_000)
        #expect(rate.throttleMs(quota: 100, nowMs: 0) == 0)
    }

    @Test func aSteadyClientMeasuresItsTrueRate() {
        var rate = WindowedRate(sampleCount: 11, windowMs: 1000)
        var now: Int64 = 0
        while now < 30_000 {
            rate.record(1024, nowMs: now)
            now += 100
        }
        // 10 KiB/s; the span is 10 to 11 windows with the current one partly filled.
        let measured = rate.rate(nowMs: now)
        #expect(abs(measured - 10_240) / 10_240 < 0.06, "measured \(measured)")
    }

    @Test func samplesExpireAfterTheSpan() {
        var rate = WindowedRate(sampleCount: 3, windowMs: 1000)
        rate.record(3000, nowMs: 0)
        #expect(rate.rate(nowMs: 0) == 1500)
        #expect(!rate.isIdle(nowMs: 2999))
        #expect(rate.rate(nowMs: 3000) == 0)
        #expect(rate.isIdle(nowMs: 3000))
        rate.record(100, nowMs: 3500)
        #expect(rate.rate(nowMs: 3500) == 50)
    }

    @Test func throttlingForTheComputedTimeBringsTheRateBackToTheQuota() {
        var rate = WindowedRate(sampleCount: 11, windowMs: 1000)
        var now: Int64 = 0
        // Over quota 10_000/s: send 50_000 per second until throttled, then wait as told.
        var sent = 0.0
        while now < 60_000 {
            rate.record(50_000, nowMs: now)
            sent += 50_000
            let throttle = rate.throttleMs(quota: 10_000, nowMs: now)
            now += max(throttle, 1000)
        }
        let average = sent / 60
        #expect(average > 9_000 && average < 14_000, "average \(average) over a 10000/s quota")
    }

    // MARK: entities

    @Test func entityPrecedenceIsKafkas() {
        var quotas = ClientQuotas()
        let key = ClientQuotaKey.producerByteRate
        #expect(quotas.quota(key, user: "ANONYMOUS", clientID: "a") == nil)
        quotas.set(Entity(user: nil, clientID: .defaultEntity), key: key.rawValue, value: 8)
        #expect(quotas.quota(key, user: "ANONYMOUS", clientID: "a")?.value == 8)
        quotas.set(Entity(user: nil, clientID: .named("a")), key: key.rawValue, value: 7)
        #expect(quotas.quota(key, user: "ANONYMOUS", clientID: "a")?.value == 7)
        quotas.set(Entity(user: .defaultEntity, clientID: nil), key: key.rawValue, value: 6)
        #expect(quotas.quota(key, user: "ANONYMOUS", clientID: "a")?.value == 6)
        quotas.set(Entity(user: .defaultEntity, clientID: .defaultEntity), key: key.rawValue, value: 5)
        quotas.set(Entity(user: .defaultEntity, clientID: .named("a")), key: key.rawValue, value: 4)
        #expect(quotas.quota(key, user: "ANONYMOUS", clientID: "a")?.value == 4)
        #expect(quotas.quota(key, user: "ANONYMOUS", clientID: "b")?.value == 5)
        quotas.set(Entity(user: .named("ANONYMOUS"), clientID: nil), key: key.rawValue, value: 3)
        quotas.set(Entity(user: .named("ANONYMOUS"), clientID: .defaultEntity), key: key.rawValue, value: 2)
        quotas.set(Entity(user: .named("ANONYMOUS"), clientID: .named("a")), key: key.rawValue, value: 1)
        #expect(quotas.quota(key, user: "ANONYMOUS", clientID: "a")?.value == 1)
        #expect(quotas.quota(key, user: "ANONYMOUS", clientID: "b")?.value == 2)
        #expect(quotas.quota(key, user: "alice", clientID: "b")?.value == 5)
        // Each key resolves on its own.
        #expect(quotas.quota(.consumerByteRate, user: "ANONYMOUS", clientID: "a") == nil)
        quotas.set(Entity(user: .named("ANONYMOUS"), clientID: .named("a")), key: key.rawValue, value: nil)
        #expect(quotas.quota(key, user: "ANONYMOUS", clientID: "a")?.value == 2)
    }

    @Test func defaultEntitiesGiveEachClientItsOwnSensorAndAUserQuotaIsShared() {
        var quotas = ClientQuotas()
        quotas.set(Entity(user: nil, clientID: .defaultEntity), key: "producer_byte_rate", value: 100)
        let a = quotas.quota(.producerByteRate, user: "ANONYMOUS", clientID: "a")?.sensor
        let b = quotas.quota(.producerByteRate, user: "ANONYMOUS", clientID: "b")?.sensor
        #expect(a == .init(user: "", clientID: "a") && b == .init(user: "", clientID: "b"))
        quotas.set(Entity(user: .named("ANONYMOUS"), clientID: nil), key: "consumer_byte_rate", value: 100)
        let ca = quotas.quota(.consumerByteRate, user: "ANONYMOUS", clientID: "a")?.sensor
        let cb = quotas.quota(.consumerByteRate, user: "ANONYMOUS", clientID: "b")?.sensor
        #expect(ca == cb && ca == .init(user: "ANONYMOUS", clientID: ""))
    }

    @Test func entitiesAreCheckedFromTheWire() throws {
        let both = try Entity(components: [.init(entityType: "client-id", entityName: "c"), .init(entityType: "user", entityName: nil)])
        #expect(both == Entity(user: .defaultEntity, clientID: .named("c")))
        #expect(both.components.map(\.entityType) == ["user", "client-id"])
        for bad: [ClientQuotaEntityComponent] in [
            [], [.init(entityType: "user", entityName: "a"), .init(entityType: "user", entityName: "b")],
            [.init(entityType: "ip", entityName: "1.2.3.4")], [.init(entityType: "group", entityName: "g")],
            [.init(entityType: "client-id", entityName: "")],
        ] {
            #expect(throws: ConfigChangeError.self) { try Entity(components: bad) }
        }
    }

    @Test func valuesAreChecked() throws {
        try ClientQuotas.validate(key: "producer_byte_rate", value: 1024, remove: false)
        try ClientQuotas.validate(key: "request_percentage", value: 12.5, remove: false)
        try ClientQuotas.validate(key: "consumer_byte_rate", value: .nan, remove: true)
        for (key, value) in [("producer_byte_rate", 1.5), ("consumer_byte_rate", 0), ("request_percentage", -1),
                             ("controller_mutation_rate", 10), ("bogus", 1), ("producer_byte_rate", .infinity)] {
            #expect(throws: ConfigChangeError.self, "\(key)=\(value)") { try ClientQuotas.validate(key: key, value: value, remove: false) }
        }
    }

    // MARK: DescribeClientQuotas filters

    static var sample: ClientQuotas {
        var q = ClientQuotas()
        q.set(Entity(user: nil, clientID: .named("a")), key: "producer_byte_rate", value: 1)
        q.set(Entity(user: nil, clientID: .defaultEntity), key: "producer_byte_rate", value: 2)
        q.set(Entity(user: .named("u"), clientID: .named("a")), key: "consumer_byte_rate", value: 3)
        q.set(Entity(user: .defaultEntity, clientID: nil), key: "request_percentage", value: 4)
        return q
    }

    static func described(_ components: [DescribeClientQuotasRequest.Component], strict: Bool) throws -> [Double] {
        try sample.describe(components, strict: strict).flatMap { $0.values.map(\.value) }.sorted()
    }

    @Test func describeFilters() throws {
        #expect(try Self.described([], strict: false) == [1, 2, 3, 4])
        #expect(try Self.described([], strict: true) == [])
        #expect(try Self.described([.init(entityType: "client-id", matchType: 0, match: "a")], strict: false) == [1, 3])
        #expect(try Self.described([.init(entityType: "client-id", matchType: 0, match: "a")], strict: true) == [1])
        #expect(try Self.described([.init(entityType: "client-id", matchType: 1)], strict: false) == [2])
        #expect(try Self.described([.init(entityType: "client-id", matchType: 2)], strict: false) == [1, 3])
        #expect(try Self.described([.init(entityType: "user", matchType: 2), .init(entityType: "client-id", matchType: 2)], strict: true) == [3])
        #expect(try Self.described([.init(entityType: "user", matchType: 1)], strict: true) == [4])
        let entry = try #require(try Self.sample.describe([.init(entityType: "user", matchType: 0, match: "u")], strict: false).first)
        #expect(entry.entity == [.init(entityType: "user", entityName: "u"), .init(entityType: "client-id", entityName: "a")])
        for bad: [DescribeClientQuotasRequest.Component] in [
            [.init(entityType: "user", matchType: 0)], [.init(entityType: "user", matchType: 1, match: "x")],
            [.init(entityType: "user", matchType: 3)], [.init(entityType: "user", matchType: 2), .init(entityType: "user", matchType: 1)],
        ] {
            #expect(throws: ConfigChangeError.self) { try Self.sample.describe(bad, strict: false) }
        }
    }

    // MARK: enforcement

    @Test func theManagerThrottlesOnlyClientsWithAQuotaAndCapsTheThrottle() {
        let manager = ClientQuotaManager(sampleCount: 3, windowSeconds: 1)
        var quotas = ClientQuotas()
        quotas.set(Entity(user: nil, clientID: .named("greedy")), key: "producer_byte_rate", value: 1000)
        manager.replace(quotas)
        #expect(manager.enforces(.producerByteRate) && !manager.enforces(.consumerByteRate))
        #expect(manager.record(.producerByteRate, user: "ANONYMOUS", clientID: "other", value: 1e9, nowMs: 0) == 0)
        #expect(manager.record(.producerByteRate, user: "ANONYMOUS", clientID: "greedy", value: 1000, nowMs: 0) == 0)
        // 3000 bytes over at least 2 s = 1500/s: (1500 - 1000) / 1000 × 2000 ms.
        #expect(manager.record(.producerByteRate, user: "ANONYMOUS", clientID: "greedy", value: 2000, nowMs: 0) == 1000)
        #expect(manager.record(.producerByteRate, user: "ANONYMOUS", clientID: "greedy", value: 1e9, nowMs: 0) == manager.maxThrottleMs)
        manager.unrecord(.producerByteRate, user: "ANONYMOUS", clientID: "greedy", value: 1e9, nowMs: 0)
        #expect(manager.measuredRate(.producerByteRate, user: "ANONYMOUS", clientID: "greedy", nowMs: 0) == 1500)
        #expect(ClientQuotaManager.requestTimeValue(.milliseconds(250)) == 25)
    }

    // MARK: the metadata log

    @Test func clientQuotaRecordBytes() throws {
        let record = MetadataRecord.clientQuota(entity: [.init(entityType: "client-id", entityName: "A")], key: "producer_byte_rate",
                                                value: 1024, remove: false)
        let expected: [UInt8] = [0x01, 0x0E, 0x00, 0x02, 0x0A] + Array("client-id".utf8) + [0x02, 0x41, 0x00, 0x13]
            + Array("producer_byte_rate".utf8) + [0x40, 0x90, 0, 0, 0, 0, 0, 0, 0x00, 0x00]
        #expect(Array(record.encoded().readableBytesView) == expected)
        #expect(try MetadataRecord.decode(record.encoded()) == record)
        let removal = MetadataRecord.clientQuota(entity: [.init(entityType: "user", entityName: nil)], key: "request_percentage", value: 0, remove: true)
        #expect(try MetadataRecord.decode(removal.encoded()) == removal)
    }

    @Test func alteredQuotasSurviveARestart() async throws {
        try await withTemporaryDirectory { dir async throws in
            let controller = try ControllerTests.makeController(dir)
            let clientA = [ClientQuotaEntityComponent(entityType: "client-id", entityName: "A")]
            let defaultUser = [ClientQuotaEntityComponent(entityType: "user", entityName: nil)]
            let results = await controller.alterClientQuotas([
                .init(entity: clientA, ops: [.init(key: "producer_byte_rate", value: 1024), .init(key: "consumer_byte_rate", value: 2048)]),
                .init(entity: defaultUser, ops: [.init(key: "request_percentage", value: 50)]),
                .init(entity: [.init(entityType: "ip", entityName: "1.2.3.4")], ops: [.init(key: "connection_creation_rate", value: 5)]),
                .init(entity: clientA, ops: [.init(key: "producer_byte_rate", value: 1), .init(key: "producer_byte_rate", value: 2)]),
            ], validateOnly: false)
            #expect(results.map(\.errorCode) == [.none, .none, .invalidRequest, .invalidRequest])
            let validateOnly = await controller.alterClientQuotas([.init(entity: clientA, ops: [.init(key: "producer_byte_rate", value: 0, remove: true)])],
                                                                  validateOnly: true)
            #expect(validateOnly.map(\.errorCode) == [.none])
            _ = await controller.alterClientQuotas([.init(entity: clientA, ops: [.init(key: "consumer_byte_rate", value: 0, remove: true)])],
                                                   validateOnly: false)
            let before = await controller.clientQuotas
            #expect(before.values == [Entity(user: nil, clientID: .named("A")): ["producer_byte_rate": 1024],
                                      Entity(user: .defaultEntity, clientID: nil): ["request_percentage": 50]])
            await controller.shutdown()
            let reopened = try ControllerTests.makeController(dir)
            #expect(await reopened.clientQuotas == before)
            await reopened.shutdown()
        }
    }
}
