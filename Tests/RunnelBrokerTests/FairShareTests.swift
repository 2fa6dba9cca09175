import NIOCore
import NIOEmbedded
@testable import RunnelBroker
import Testing

/// Per-source-address fairness: the ledger's shares and wake-ups as pure bookkeeping, then the
/// flow handler holding back a connection whose address has its share. No timing: the flood and
/// the latency it causes are Tests/Interop/test_attacker.py's.
struct FairShareTests {
    typealias Ledger = FairShareLedger<String>

    @Test func anAddressAloneHasTheWholeCapacityUpToItsLimit() {
        #expect(Ledger(capacity: 500, perAddressLimit: nil).share(of: "a") == 500)
        #expect(Ledger(capacity: 500, perAddressLimit: 64).share(of: "a") == 64)
        #expect(Ledger(capacity: 500, perAddressLimit: -1).share(of: "a") == 500, "-1 is no limit")
        #expect(Ledger(capacity: 0, perAddressLimit: 0).share(of: "a") == 1, "never below one request")
    }

    @Test func theConfiguredLimitZeroIsTwiceTheCores() {
        #expect(SourceAddressFairness.perAddressLimit(0, cores: 2) == 4)
        #expect(SourceAddressFairness.perAddressLimit(0, cores: 16) == 32)
        #expect(SourceAddressFairness.perAddressLimit(7, cores: 2) == 7)
        #expect(SourceAddressFairness.perAddressLimit(-1, cores: 2) == nil)
    }

    @Test func sharesAreDividedAmongPresentAddressesNotConnections() {
        var ledger = Ledger(capacity: 10, perAddressLimit: nil)
        ledger.charge("flood", count: 4)
        #expect(ledger.share(of: "flood") == 10)
        #expect(ledger.share(of: "good") == 5, "a newcomer counts itself")
        ledger.charge("good")
        ledger.charge("third")
        #expect(ledger.share(of: "flood") == 3 && ledger.share(of: "good") == 3)
        #expect(ledger.presentAddresses == 3)
    }

    @Test func anAddressAtItsShareWaitsWhileAnotherIsAdmitted() {
        var ledger = Ledger(capacity: 100, perAddressLimit: 3)
        for _ in 0..<3 {
            let admitted = ledger.admits("flood", orWait: "never")
            #expect(admitted)
            ledger.charge("flood")
        }
        let f1Admitted = ledger.admits("flood", orWait: "f1")
        #expect(!f1Admitted)
        let f2Admitted = ledger.admits("flood", orWait: "f2")
        #expect(!f2Admitted)
        let goodAdmitted = ledger.admits("good", orWait: "never")
        #expect(goodAdmitted, "another address is not held up by the flood")
        #expect(ledger.waitingConnections == 2)
    }

    @Test func freedRoomIsReservedForTheOldestWaitersSoNobodyJumpsTheQueue() {
        var ledger = Ledger(capacity: 100, perAddressLimit: 2)
        ledger.charge("flood", count: 2)
        for name in ["f1", "f2", "f3"] {
            let admitted = ledger.admits("flood", orWait: name)
            #expect(!admitted)
        }
        let woken = ledger.release("flood")
        #expect(woken == ["f1"])
        let busyAdmitted = ledger.admits("flood", orWait: "busy")
        #expect(!busyAdmitted, "the room is f1's: a connection asking again queues")
        ledger.charge("flood", reserved: true)
        #expect(ledger.active("flood") == 2)
        let wokenNext = ledger.release("flood")
        #expect(wokenNext == ["f2"])
        let wokenInstead = ledger.unreserve("flood")
        #expect(wokenInstead == ["f3"], "f2 had nothing to pass on: f3 gets the room")
        #expect(ledger.waitingConnections == 1, "busy waits behind them")
    }

    @Test func anAddressWithNothingInProgressReservedOrWaitingIsForgotten() {
        var ledger = Ledger(capacity: 100, perAddressLimit: 1)
        ledger.charge("a")
        let w1Admitted = ledger.admits("a", orWait: "w1")
        #expect(!w1Admitted)
        let woken = ledger.release("a")
        #expect(woken == ["w1"])
        #expect(ledger.presentAddresses == 1, "w1 holds reserved room")
        let wokenAfter = ledger.unreserve("a")
        #expect(wokenAfter == [])
        #expect(ledger.presentAddresses == 0)
        let admittedAgain = ledger.admits("a", orWait: "never")
        #expect(admittedAgain)
    }

    @Test func anAddressLeavingGrowsTheOthersSharesAndWakesThem() {
        var ledger = Ledger(capacity: 4, perAddressLimit: nil)
        ledger.charge("good")
        ledger.charge("flood", count: 2)
        #expect(ledger.share(of: "flood") == 2)
        let f1Admitted = ledger.admits("flood", orWait: "f1")
        #expect(!f1Admitted)
        let f2Admitted = ledger.admits("flood", orWait: "f2")
        #expect(!f2Admitted)
        let f3Admitted = ledger.admits("flood", orWait: "f3")
        #expect(!f3Admitted)
        let woken = ledger.release("good")
        #expect(woken == ["f1", "f2"], "flood alone has all 4: room for two")
        #expect(ledger.presentAddresses == 1)
    }

    @Test func aRequestBackFromAWaitIsCountedEvenAboveTheShare() {
        var ledger = Ledger(capacity: 100, perAddressLimit: 1)
        ledger.charge("a")
        ledger.charge("a")
        #expect(ledger.active("a") == 2)
        let wAdmitted = ledger.admits("a", orWait: "w")
        #expect(!wAdmitted)
        let wokenFirst = ledger.release("a")
        #expect(wokenFirst == [], "still at its share of 1")
        let wokenThen = ledger.release("a")
        #expect(wokenThen == ["w"])
    }

    // MARK: the flow handler

    static func channel(address: String, fairness: SourceAddressFairness) throws -> (EmbeddedChannel, RequestFlowHandler, BackPressureTests.ReadCounter) {
        let counter = BackPressureTests.ReadCounter()
        let flow = RequestFlowHandler(maxFrameBytes: 1024, maxInFlight: 5, budget: RequestQueueBudget(), address: address, fairness: fairness)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(flow)
        return (channel, flow, counter)
    }

    @Test func anAddressWithItsShareOfBusyConnectionsIsNotReadFromUntilOneIsDone() throws {
        let fairness = SourceAddressFairness(capacity: 500, perAddressLimit: 2)
        let (a, flowA, _) = try Self.channel(address: "10.0.0.2", fairness: fairness)
        let (b, _, _) = try Self.channel(address: "10.0.0.2", fairness: fairness)
        let (c, _, counterC) = try Self.channel(address: "10.0.0.2", fairness: fairness)
        let (good, flowGood, _) = try Self.channel(address: "10.0.0.1", fairness: fairness)
        try a.writeInbound(BackPressureTests.frames([[1], [2]]))
        try b.writeInbound(BackPressureTests.frames([[3], [4]]))
        for (channel, expected) in [(a, [1, 2]), (b, [3, 4])] {
            for byte in expected { #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [UInt8(byte)])) }
        }
        #expect(fairness.usage(of: "10.0.0.2").active == 2, "a connection counts once, however many it read ahead")
        try c.writeInbound(BackPressureTests.frames([[5]]))
        #expect(try c.readInbound(as: ByteBuffer.self) == nil, "the address has its 2 busy connections")
        let readsC = counterC.reads
        c.read()
        #expect(counterC.reads == readsC, "and c's socket is not read")
        try good.writeInbound(BackPressureTests.frames([[9]]))
        #expect(try good.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [9]), "another address is not held up")
        flowGood.finished()
        try b.writeInbound(BackPressureTests.frames([[6]]))
        #expect(try b.readInbound(as: ByteBuffer.self) == nil, "with c waiting, busy b reads no further ahead")
        flowA.finished()
        c.embeddedEventLoop.run()
        #expect(try c.readInbound(as: ByteBuffer.self) == nil, "a still has [2] in progress")
        flowA.finished()
        c.embeddedEventLoop.run()
        #expect(try c.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [5]), "a is done: c gets its turn")
        try a.writeInbound(BackPressureTests.frames([[7]]))
        #expect(try a.readInbound(as: ByteBuffer.self) == nil, "and a queues behind b and c")
        for channel in [a, b, c, good] { _ = try channel.finish() }
        #expect(fairness.usage(of: "10.0.0.2").active == 0)
    }

    /// Found with the limit at 4 and ten clients of one address: a connection woken with room
    /// reserved must take its turn even when others of its address wait behind it. It used to
    /// treat those waiters as a reason to hold back, gave the room away and was never woken again.
    @Test func aWokenConnectionTakesItsTurnWhileOthersWaitBehindIt() throws {
        let fairness = SourceAddressFairness(capacity: 500, perAddressLimit: 1)
        let (a, flowA, _) = try Self.channel(address: "10.0.0.4", fairness: fairness)
        let (b, flowB, _) = try Self.channel(address: "10.0.0.4", fairness: fairness)
        let (c, _, _) = try Self.channel(address: "10.0.0.4", fairness: fairness)
        try a.writeInbound(BackPressureTests.frames([[1]]))
        #expect(try a.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [1]))
        try b.writeInbound(BackPressureTests.frames([[2]]))
        try c.writeInbound(BackPressureTests.frames([[3]]))
        #expect(try b.readInbound(as: ByteBuffer.self) == nil && c.readInbound(as: ByteBuffer.self) == nil, "a holds the address's one")
        flowA.finished()
        b.embeddedEventLoop.run()
        #expect(try b.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [2]), "b's turn, with c waiting behind it")
        #expect(try c.readInbound(as: ByteBuffer.self) == nil)
        flowB.finished()
        c.embeddedEventLoop.run()
        #expect(try c.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [3]))
        for channel in [a, b, c] { _ = try channel.finish() }
        #expect(fairness.usage(of: "10.0.0.4").active == 0)
    }

    @Test func parkedRequestsAndSlowReadersLeaveTheAddressCount() throws {
        let fairness = SourceAddressFairness(capacity: 500, perAddressLimit: 4)
        let (channel, flow, _) = try Self.channel(address: "10.0.0.3", fairness: fairness)
        try channel.writeInbound(BackPressureTests.frames([[1], [2]]))
        #expect(fairness.usage(of: "10.0.0.3").active == 1)
        flow.requestParked()
        #expect(fairness.usage(of: "10.0.0.3").active == 0, "a long-poll wait costs the broker nothing")
        flow.requestUnparked()
        #expect(fairness.usage(of: "10.0.0.3").active == 1)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(fairness.usage(of: "10.0.0.3").active == 0, "nothing to do until the client reads")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(fairness.usage(of: "10.0.0.3").active == 1)
        flow.finished()
        #expect(fairness.usage(of: "10.0.0.3").active == 1, "[2] is in progress now")
        flow.finished()
        #expect(fairness.usage(of: "10.0.0.3").active == 0)
        _ = try channel.finish()
    }
}
