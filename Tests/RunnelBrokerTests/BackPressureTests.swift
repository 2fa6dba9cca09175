import NIOCore
import NIOEmbedded
@testable import RunnelBroker
import Synchronization
import Testing

/// `queued.max.requests`, `queued.max.request.bytes`, the per-connection in-flight bound and quota
/// muting, on an embedded channel; the sockets are covered by Tests/Interop/test_backpressure.py.
struct BackPressureTests {
    /// Counts the reads that reach the socket end of the pipeline.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    final class Counter: Sendable {
        private let count = Mutex(0)
        func increment() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    static func frames(_ payloads: [[UInt8]]) -> ByteBuffer {
        var b = ByteBuffer()
        for p in payloads {
            b.writeInteger(Int32(p.count))
            b.writeBytes(p)
        }
        return b
    }

    static func channel(maxInFlight: Int, budget: RequestQueueBudget) throws -> (EmbeddedChannel, RequestFlowHandler, ReadCounter) {
        let counter = ReadCounter()
        let flow = RequestFlowHandler(maxFrameBytes: 1024, maxInFlight: maxInFlight, budget: budget)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(flow)
        return (channel, flow, counter)
    }

    @Test func budgetPausesAtTheLimitAndResumesAtHalfWakingWaitersOnce() {
        let budget = RequestQueueBudget(maxRequests: 4)
        let woken = Counter()
        let waiter: RequestQueueBudget.Waiter = { woken.increment() }
        for _ in 0..<4 {
            let admitted = budget.admits(orWait: waiter)
            #expect(admitted)
            budget.charge(bytes: 10)
        }
        #expect(budget.usage.paused)
        let third = budget.admits(orWait: waiter), fourth = budget.admits(orWait: waiter)
        #expect(!third && !fourth)
        budget.release(bytes: 10)
        #expect(budget.usage.paused, "3 of 4 is above half")
        #expect(woken.value == 0)
        budget.release(bytes: 10)
        #expect(!budget.usage.paused)
        #expect(woken.value == 2)
        budget.release(requests: 2, bytes: 20)
        #expect(woken.value == 2)
        #expect(budget.usage.requests == 0 && budget.usage.bytes == 0)
    }

    @Test func byteLimitPausesToo() {
        let budget = RequestQueueBudget(maxRequests: 500, maxBytes: 100)
        budget.charge(bytes: 40)
        #expect(!budget.usage.paused)
        budget.charge(bytes: 70)
        #expect(budget.usage.paused, "a request already read is admitted and may overshoot")
        budget.release(bytes: 70)
        #expect(!budget.usage.paused)
        #expect(RequestQueueBudget(maxRequests: 1, maxBytes: -1).maxBytes == nil)
    }

    @Test func oneRequestInFlightPassesTheNextOnlyOnceAnswered() throws {
        let budget = RequestQueueBudget()
        let (channel, flow, counter) = try Self.channel(maxInFlight: 1, budget: budget)
        try channel.writeInbound(Self.frames([[1], [2, 2], [3, 3, 3]]))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [1]))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        let readsBefore = counter.reads
        channel.read()
        #expect(counter.reads == readsBefore, "no socket read while a request is unanswered")
        #expect(budget.usage.requests == 1)
        flow.handled()
        #expect(budget.usage.requests == 0)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil, "handled is not answered")
        flow.finished()
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [2, 2]))
        flow.finished()
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [3, 3, 3]))
        flow.finished()
        #expect(counter.reads == readsBefore + 1, "the held read goes out once nothing is buffered")
        #expect(budget.usage.requests == 0)
        _ = try channel.finish()
    }

    @Test func dripFedFramesComeOutWholeAndInOrder() throws {
        let budget = RequestQueueBudget()
        let (channel, flow, _) = try Self.channel(maxInFlight: 3, budget: budget)
        let payloads: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 7, count: 300), [9]]
        var all = Self.frames(payloads)
        while let byte = all.readSlice(length: 1) { try channel.writeInbound(byte) }
        var got: [ByteBuffer] = []
        while got.count < payloads.count {
            guard let frame = try channel.readInbound(as: ByteBuffer.self) else { flow.finished(); continue }
            got.append(frame)
        }
        #expect(got == payloads.map { ByteBuffer(bytes: $0) })
        _ = try channel.finish()
    }

    @Test func aPausedBudgetHoldsEveryConnectionUntilHalfIsHandled() throws {
        let budget = RequestQueueBudget(maxRequests: 2)
        let (a, flowA, _) = try Self.channel(maxInFlight: 5, budget: budget)
        let (b, flowB, counterB) = try Self.channel(maxInFlight: 5, budget: budget)
        try a.writeInbound(Self.frames([[1], [2], [3]]))
        #expect(try a.readInbound(as: ByteBuffer.self) != nil)
        #expect(try a.readInbound(as: ByteBuffer.self) != nil)
        #expect(try a.readInbound(as: ByteBuffer.self) == nil, "the budget of 2 is full")
        try b.writeInbound(Self.frames([[4]]))
        #expect(try b.readInbound(as: ByteBuffer.self) == nil)
        let readsB = counterB.reads
        b.read()
        #expect(counterB.reads == readsB)
        flowA.handled()
        b.embeddedEventLoop.run()
        #expect(try b.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [4]), "1 of 2 is half: every waiter resumes")
        #expect(budget.usage.paused, "b's request fills the budget again")
        a.embeddedEventLoop.run()
        #expect(try a.readInbound(as: ByteBuffer.self) == nil, "a woke up to a full budget and waits again")
        flowB.finished()
        b.embeddedEventLoop.run()
        #expect(counterB.reads == readsB + 1, "b's held read goes out once its request is answered")
        a.embeddedEventLoop.run()
        #expect(try a.readInbound(as: ByteBuffer.self) == nil, "[3] would be read ahead, and [2] holds the one slot (half of 2)")
        flowA.finished()
        #expect(try a.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [3]))
        _ = try a.finish()
        _ = try b.finish()
        #expect(budget.usage.requests == 0, "closing a releases its unhandled [2] and [3]")
    }

    @Test func closingReleasesWhatTheConnectionHeld() throws {
        let budget = RequestQueueBudget()
        let (channel, _, _) = try Self.channel(maxInFlight: 2, budget: budget)
        try channel.writeInbound(Self.frames([[1], [2]]))
        #expect(budget.usage.requests == 2)
        _ = try channel.finish()
        #expect(budget.usage.requests == 0 && budget.usage.bytes == 0)
    }

    @Test func aMutedConnectionPassesNothingUntilItsDeadline() throws {
        let budget = RequestQueueBudget()
        let (channel, flow, _) = try Self.channel(maxInFlight: 1, budget: budget)
        flow.mute(until: channel.embeddedEventLoop.now + .milliseconds(500))
        try channel.writeInbound(Self.frames([[1]]))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(499))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [1]))
        _ = try channel.finish()
    }

    @Test func aSlowReaderIsNotReadFrom() throws {
        let budget = RequestQueueBudget()
        let (channel, flow, _) = try Self.channel(maxInFlight: 4, budget: budget)
        channel.isWritable = false
        try channel.writeInbound(Self.frames([[1]]))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [1]))
        flow.finished()
        _ = try channel.finish()
    }

    @Test func requestsReadAheadBehindAClientThatDoesNotReadLeaveTheRequestCount() throws {
        let budget = RequestQueueBudget(maxRequests: 6)
        let (channel, flow, _) = try Self.channel(maxInFlight: 5, budget: budget)
        try channel.writeInbound(Self.frames([[1], [2, 2], [3, 3, 3]]))
        #expect(budget.usage.requests == 3 && budget.usage.bytes == 6)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(budget.usage.requests == 0 && budget.usage.bytes == 6, "parked: their bytes stay counted")
        flow.handled()
        #expect(budget.usage.requests == 0 && budget.usage.bytes == 5)
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(budget.usage.requests == 2 && budget.usage.bytes == 5)
        flow.finished()
        #expect(budget.usage.requests == 2 && budget.usage.bytes == 5, "the first was already handled")
        flow.finished()
        #expect(budget.usage.requests == 1 && budget.usage.bytes == 3)
        flow.handled()
        #expect(budget.usage.requests == 0 && budget.usage.bytes == 0)
        flow.finished()
        #expect(budget.usage.requests == 0 && budget.usage.bytes == 0)
        _ = try channel.finish()
    }

    @Test func readAheadTakesAtMostHalfTheBudgetSoEveryConnectionGetsItsFirstRequestIn() throws {
        let budget = RequestQueueBudget(maxRequests: 6)
        let (a, flowA, _) = try Self.channel(maxInFlight: 5, budget: budget)
        let (b, _, _) = try Self.channel(maxInFlight: 5, budget: budget)
        try a.writeInbound(Self.frames([[1], [2], [3], [4], [5]]))
        var passed = 0
        while try a.readInbound(as: ByteBuffer.self) != nil { passed += 1 }
        #expect(passed == 4, "one request and three read ahead (half of 6)")
        try b.writeInbound(Self.frames([[6], [7]]))
        #expect(try b.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [6]), "b's first request finds room")
        #expect(try b.readInbound(as: ByteBuffer.self) == nil, "but it reads nothing ahead")
        flowA.finished()
        #expect(try a.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [5]), "a read-ahead slot came free")
        _ = try a.finish()
        _ = try b.finish()
        #expect(budget.usage.requests == 0 && budget.admitsReadAhead())
    }
}
