import NIOCore
import NIOPosix

/// How many connections a serving event loop resumes from tasks between two polls of its sockets.
///
/// swift-nio's `SelectableEventLoop` runs immediate tasks until none are left before it calls
/// epoll again. Answering a request is such a task, and it resumes the connection
/// (``RequestFlowHandler``), whose next request is handled on the concurrency pool and comes back
/// to the same loop as writes and another answered-request task. A flood of pipelined requests
/// keeps that chain going, and the loop's other sockets are not read until it pauses: 150-200 ms
/// under test_attacker's flood on two cores (traced with perf sched, 2026-12-01), while a
/// well-behaved client's request waited unread. Kafka's network threads poll every socket between
/// batches of work, so its flood victims never wait on this.
///
/// The budget counts, per loop, the connections that passed on requests from a task since the
/// loop's last tick ended. Past ``resumesPerTick`` a connection's resume waits for the tick to end:
/// the loop then polls its sockets, and the deferred resumes run in the next tick. Between two
/// polls at most ``resumesPerTick`` connections are resumed from tasks; requests read by the poll
/// itself are passed on as before.
///
/// The deferred resumes run from one task scheduled ``drainDelay`` ahead, not an immediate one: the
/// loop ends its tick only once no task is ready, and a task queued from the end-of-tick callback
/// would not wake a blocking poll. When that task comes due before the tick has ended (the tick
/// still runs other work), it schedules itself again.
///
/// The state is per thread and touched only on its loop's thread. A loop of another group (no
/// ``TickObserver``, as in unit tests) has no state and resumes without a budget.
final class TaskPhaseBudget {
    /// Resumes that pass on requests between two polls of one loop: enough that pipelining
    /// clients on a busy loop rarely meet the bound (when they do, the rest wait for one poll),
    /// few enough that a flood's chain stops within a millisecond or two.
    static let resumesPerTick = 32

    // Each thread sees only its own value, which only that thread touches.
    nonisolated(unsafe) private static let perThread = ThreadSpecificVariable<TaskPhaseBudget>()

    /// The budget of the serving loop running on this thread; nil on any other thread.
    static var current: TaskPhaseBudget? { perThread.currentValue }

    /// How long after a deferral its resumes may run at the earliest: the longest a deferred
    /// connection waits once its loop has nothing else to do.
    static let drainDelay = TimeAmount.microseconds(50)

    private var resumed = 0
    /// Ticks this loop has ended: a drain runs its resumes once this has moved on.
    private var ticksEnded: UInt64 = 0
    private var deferred: [() -> Void] = []
    private var drainScheduled = false

    private init() {}

    /// Takes one resume from this tick's budget.
    /// - Returns: false when the budget is spent: the caller defers its resume with ``deferToNextTick(on:_:)``.
    func takeResume() -> Bool {
        guard resumed < Self.resumesPerTick else { return false }
        resumed += 1
        return true
    }

    /// Runs `resume` in a later tick of `loop` (this thread's loop), after its sockets are polled;
    /// deferred resumes run in the order they were deferred.
    func deferToNextTick(on loop: any EventLoop, _ resume: @escaping () -> Void) {
        deferred.append(resume)
        guard !drainScheduled else { return }
        drainScheduled = true
        scheduleDrain(on: loop, deferredInTick: ticksEnded)
    }

    private func scheduleDrain(on loop: any EventLoop, deferredInTick tick: UInt64) {
        let budget = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleTask(in: Self.drainDelay) { budget.value.drain(on: loop, deferredInTick: tick) }
    }

    private func drain(on loop: any EventLoop, deferredInTick tick: UInt64) {
        guard ticksEnded != tick else {
            // Still the tick the resumes were deferred in: no poll yet.
            scheduleDrain(on: loop, deferredInTick: tick)
            return
        }
        let work = deferred
        deferred = []
        drainScheduled = false
        for resume in work { resume() }
    }

    /// The loop's tick ended: it polls its sockets next, and the next tick has a new budget.
    private func tickEnded() {
        ticksEnded &+= 1
        resumed = 0
    }

    /// Sees every tick of the serving loops end, on the loop's own thread.
    struct TickObserver: NIOEventLoopMetricsDelegate {
        func processedTick(info: NIOEventLoopTickInfo) {
            if let budget = TaskPhaseBudget.perThread.currentValue {
                budget.tickEnded()
            } else {
                TaskPhaseBudget.perThread.currentValue = TaskPhaseBudget()
            }
        }
    }
}
