import NIOCore
import NIOPosix

/// The event loops that serve the broker's listeners: one thread per core, as
/// `MultiThreadedEventLoopGroup.singleton`, but with each loop's task phase bounded
/// (``TaskPhaseBudget``), so a loop keeps polling its sockets under a flood of pipelined requests.
///
/// One group per process, shared by every broker in it (in-process tests run several); like the
/// singleton, it lives as long as the process.
enum ServingEventLoops {
    static let group: MultiThreadedEventLoopGroup = MultiThreadedEventLoopGroup(
        numberOfThreads: System.coreCount, metricsDelegate: TaskPhaseBudget.TickObserver())
}
