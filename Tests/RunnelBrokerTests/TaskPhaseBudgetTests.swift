import NIOCore
import NIOPosix
@testable import RunnelBroker
import Synchronization
import Testing

/// ``TaskPhaseBudget``: a serving event loop polls its sockets between bounded runs of resumes,
/// however long a chain of resumes feeds its task queue.
struct TaskPhaseBudgetTests {
    /// A chain of resumes as a flood of pipelined requests makes one: each link is a task that, like
    /// ``RequestFlowHandler``'s resume, queues the next through the loop's budget. Without the budget
    /// it would keep the loop in its task phase for as long as it runs.
    final class ResumeChain: Sendable {
        let loop: any EventLoop
        let links = Atomic<Int>(0)
        let deferrals = Atomic<Int>(0)
        let stopped = Atomic<Bool>(false)

        init(loop: any EventLoop) {
            self.loop = loop
        }

        func link() {
            guard !stopped.load(ordering: .relaxed) else { return }
            guard let budget = TaskPhaseBudget.current else {
                // The loop's first tick has not ended yet: let it.
                loop.scheduleTask(in: .milliseconds(1)) { self.link() }
                return
            }
            links.add(1, ordering: .relaxed)
            if budget.takeResume() {
                loop.execute { self.link() }
            } else {
                deferrals.add(1, ordering: .relaxed)
                budget.deferToNextTick(on: loop) { self.link() }
            }
        }
    }

    /// Completes once the server's first connection has delivered bytes.
    final class FirstRead: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let seen = Atomic<Bool>(false)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            seen.store(true, ordering: .relaxed)
        }
    }

    private static func servingGroup() -> MultiThreadedEventLoopGroup {
        MultiThreadedEventLoopGroup(numberOfThreads: 1, metricsDelegate: TaskPhaseBudget.TickObserver())
    }

    @Test func aLoopRunningAResumeChainStillAcceptsAndReadsConnections() async throws {
        let group = Self.servingGroup()
        let chain = ResumeChain(loop: group.next())
        let firstRead = FirstRead()
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(firstRead) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        chain.loop.execute { chain.link() }
        while chain.links.load(ordering: .relaxed) < 1_000 { try await Task.sleep(for: .milliseconds(1)) }

        // The client lives on another loop: only the server's side depends on the chained loop.
        let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: server.localAddress!.port!).get()
        try await client.writeAndFlush(ByteBuffer(string: "request")).get()
        let deadline = ContinuousClock.now + .seconds(10)
        while !firstRead.seen.load(ordering: .relaxed), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let linksAtRead = chain.links.load(ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(20))
        chain.stopped.store(true, ordering: .relaxed)

        let seen = firstRead.seen.load(ordering: .relaxed)
        #expect(seen, "the loop never read the connection while the chain ran")
        let links = chain.links.load(ordering: .relaxed), deferrals = chain.deferrals.load(ordering: .relaxed)
        #expect(links > linksAtRead, "the chain stopped instead of sharing the loop")
        #expect(deferrals > 0)
        try await client.close()
        try await server.close()
        try await group.shutdownGracefully()
    }

    @Test func deferredResumesRunAfterTheTickInOrderWithAFreshBudget() async throws {
        let group = Self.servingGroup()
        let loop = group.next()
        // A scheduled task lets the loop's first tick end, which gives its thread a budget.
        try await loop.scheduleTask(in: .milliseconds(5)) {}.futureResult.get()
        let order = try await loop.submit { () -> EventLoopFuture<[String]> in
            let budget = try #require(TaskPhaseBudget.current)
            var taken = 0
            while budget.takeResume() { taken += 1 }
            #expect(taken <= TaskPhaseBudget.resumesPerTick)
            let log = NIOLoopBoundBox([String](), eventLoop: loop)
            let done = loop.makePromise(of: [String].self)
            budget.deferToNextTick(on: loop) { log.value.append("deferred 1") }
            budget.deferToNextTick(on: loop) {
                log.value.append("deferred 2")
                // The next tick has a budget of its own.
                log.value.append(TaskPhaseBudget.current?.takeResume() == true ? "fresh budget" : "no budget")
                done.succeed(log.value)
            }
            // Tasks queued in this tick, even after the deferrals, run before them.
            @Sendable func chain(_ remaining: Int) {
                guard remaining > 0 else { log.value.append("tick's tasks done"); return }
                loop.execute { chain(remaining - 1) }
            }
            chain(100)
            return done.futureResult
        }.flatMap { $0 }.get()
        #expect(order == ["tick's tasks done", "deferred 1", "deferred 2", "fresh budget"])
        try await group.shutdownGracefully()
    }

    @Test func loopsOfOtherGroupsHaveNoBudget() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        try await loop.scheduleTask(in: .milliseconds(5)) {}.futureResult.get()
        let hasBudget = try await loop.submit { TaskPhaseBudget.current != nil }.get()
        #expect(!hasBudget)
        try await group.shutdownGracefully()
    }
}
