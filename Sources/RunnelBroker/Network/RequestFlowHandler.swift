import NIOCore

/// Splits a connection's bytes into request frames and decides when the broker reads more of
/// them: the back-pressure half of Kafka's `Selector` muting.
///
/// A frame is passed on (towards the connection's task) only while
/// - the connection has fewer than `runnel.max.in.flight.requests.per.connection` requests passed
///   on and not yet answered (1 is Kafka's rule: the next request is read once the previous
///   response is handed to the socket; more lets pipelining clients' requests be read ahead, but
///   read-ahead requests of all connections together take at most half of `queued.max.requests`,
///   so every connection's next request finds room and does not wait behind others' read-ahead),
/// - the broker-wide ``RequestQueueBudget`` (`queued.max.requests`, `queued.max.request.bytes`) is
///   not paused,
/// - for a connection with nothing in flight, its client address has room for one more request in
///   progress (``SourceAddressFairness``: `runnel.max.requests.in.progress.per.ip`, and a fair
///   share of `queued.max.requests`), so one address's flood does not starve another; a busy
///   connection reads no further ahead while other connections of its address wait,
/// - the channel is writable, i.e. the response bytes waiting for this client to read them are
///   under the channel's write-buffer high-water mark (a slow reader stops being read from), and
/// - no quota throttle mutes the connection (KIP-219).
///
/// While any of these holds a frame back, the handler also withholds `read()` from the socket, so
/// a client that pipelines without reading its responses leaves its requests in its own socket
/// buffers, not in the broker's memory. What the broker holds for one connection is then at most
/// the bounded requests in flight, one read burst and one partial frame (itself bounded by
/// `socket.request.max.bytes`, checked from the size prefix before any allocation).
///
/// A request counts in the broker-wide budget from when it is passed on until it is handled (its
/// response built). Requests read ahead on a connection whose client stops reading its responses
/// leave the request count while it is not writable (they keep their bytes counted): they cannot
/// be worked on until the client reads, so a crowd of such clients cannot starve the others. The
/// same goes for their read-ahead count and their address's fair-share count, which also leaves
/// out a request parked in a long wait (``requestParked()``).
final class RequestFlowHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    /// Responses pass through untouched: buffers, or file regions on plaintext listeners.
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let maxFrameBytes: Int
    private let maxInFlight: Int
    private let budget: RequestQueueBudget
    /// The client's IP address, and the per-address share it is counted in (nil: not counted).
    private let address: String
    private let fairness: SourceAddressFairness?
    private var context: ChannelHandlerContext?
    /// Bytes read and not yet split into frames.
    private var cumulation: ByteBuffer?
    /// Requests passed on and not yet answered (their responses written).
    private var inFlight = 0
    /// Sizes of the requests passed on and not yet handled, oldest first: what this connection
    /// holds in the broker-wide budget.
    private var unhandled: [Int] = []
    /// Whether the unhandled requests are out of the budget's request count (not its bytes) while
    /// the client is not reading: they cannot be worked on, so they must not starve others.
    private var parked = false
    private var readPending = false
    private var waitingForBudget = false
    private var waitingForFairness = false
    /// Woken with room reserved by its address (``FairShareLedger``), not used yet.
    private var holdsReservation = false
    /// Requests in flight now parked in a long wait (0 or 1: the connection's task handles one at
    /// a time): out of the fair-share count.
    private var parkedInHandler = 0
    /// What this connection has counted now in the budget's read-ahead and in its address's share.
    private var readAheadCounted = 0
    private var fairShareCounted = 0
    private var mutedUntil: NIODeadline?
    /// Set after a framing error or once the channel is gone: nothing more is passed on.
    private var stopped = false

    /// - Parameters:
    ///   - maxFrameBytes: `socket.request.max.bytes`.
    ///   - maxInFlight: `runnel.max.in.flight.requests.per.connection`; at least 1.
    ///   - budget: the broker-wide request budget.
    ///   - address: the client's IP address, as ``SourceAddressFairness`` counts it.
    ///   - fairness: the per-address shares; nil counts nothing (tests of the other rules).
    init(maxFrameBytes: Int, maxInFlight: Int, budget: RequestQueueBudget, address: String = "", fairness: SourceAddressFairness? = nil) {
        self.maxFrameBytes = maxFrameBytes
        self.maxInFlight = max(1, maxInFlight)
        self.budget = budget
        self.address = address
        self.fairness = fairness
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stopped else { return }
        FrameCumulation.append(unwrapInboundIn(data), to: &cumulation, maxFrameBytes: maxFrameBytes, allocator: context.channel.allocator)
        passOnFrames(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.fireChannelWritabilityChanged()
        let writable = context.channel.isWritable
        if !stopped, parked == writable {
            parked = !writable
            if parked {
                budget.release(requests: unhandled.count, bytes: 0)
            } else {
                budget.charge(requests: unhandled.count, bytes: 0)
            }
            syncCounts()
        }
        if writable { resume() }
    }

    func read(context: ChannelHandlerContext) {
        if mayPassOn(context: context) {
            context.read()
        } else {
            readPending = true
        }
    }

    // MARK: called on the channel's event loop through ``ConnectionFlow``

    /// The oldest request passed on has been handled: its response exists (or it needs none),
    /// so it leaves the broker-wide budget, as a Kafka request leaves the request queue and frees
    /// its memory-pool buffer once an I/O thread has handled it.
    func handled() {
        guard !unhandled.isEmpty else { return }
        budget.release(requests: parked ? 0 : 1, bytes: unhandled.removeFirst())
    }

    /// The oldest request passed on has been answered: its response is handed to the socket (or
    /// it needs none, or the connection is closing).
    func finished() {
        // Requests are answered in order: when every request in flight is still unhandled, the
        // one answered now was never reported handled.
        if unhandled.count == inFlight { handled() }
        guard inFlight > 0 else { return }
        inFlight -= 1
        parkedInHandler = min(parkedInHandler, inFlight)
        syncCounts()
        resume()
    }

    /// The request being handled waits for something other than this broker's work (a long-poll
    /// Fetch, a JoinGroup, a Produce waiting for acks=all): it leaves its address's share count.
    func requestParked() {
        guard !stopped, parkedInHandler < inFlight else { return }
        parkedInHandler += 1
        syncCounts()
    }

    /// The parked request is back at work: counted again, whatever its address's share (it was
    /// admitted already).
    func requestUnparked() {
        guard !stopped, parkedInHandler > 0 else { return }
        parkedInHandler -= 1
        syncCounts()
    }

    /// Passes nothing on and reads nothing until `deadline` (a quota throttle, KIP-219).
    func mute(until deadline: NIODeadline) {
        guard let context, !stopped else { return }
        if let current = mutedUntil, current >= deadline { return }
        mutedUntil = deadline
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(deadline: deadline) { bound.value.resume() }
    }

    // MARK: the rules

    private func mayPassOn(context: ChannelHandlerContext) -> Bool {
        guard !stopped, inFlight < maxInFlight, context.channel.isWritable else { return false }
        if let mutedUntil {
            guard context.eventLoop.now >= mutedUntil else { return false }
            self.mutedUntil = nil
        }
        if waitingForBudget || waitingForFairness { return false }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        if let fairness {
            if inFlight == 0 {
                // Passing this request on makes the connection busy: one more for its address,
                // unless it was woken with room reserved for it. Then its turn has come, whoever
                // waits behind it: were it to hold back for them, it would give the room away and
                // never be woken again.
                if !holdsReservation, !fairness.admits(address, orWait: { loop.execute { bound.value.fairnessResumed() } }) {
                    waitingForFairness = true
                    return false
                }
            } else if fairness.hasWaiters(address) {
                // Busy already: reading further ahead would keep the address's other connections
                // waiting behind this one; it finishes what it has and queues behind them.
                return false
            }
        }
        if inFlight > 0, !budget.admitsReadAhead() { return false }
        if budget.admits(orWait: { loop.execute { bound.value.budgetResumed() } }) { return true }
        waitingForBudget = true
        return false
    }

    private func budgetResumed() {
        waitingForBudget = false
        resume()
    }

    /// Woken with room reserved by the address: passes on what it can, and gives the room back
    /// (to the next waiting connection of the address) if it passed nothing (closed, held back by
    /// something else, or no whole request buffered yet), so room never sits unused.
    private func fairnessResumed() {
        waitingForFairness = false
        holdsReservation = true
        resume()
        if holdsReservation {
            holdsReservation = false
            fairness?.unreserve(address)
        }
    }

    /// Brings what this connection counts in the budget's read-ahead and in its address's share in
    /// line with its state: requests in flight beyond the first are read ahead, and the connection
    /// counts one request in progress for its address while it has a request in flight that is not
    /// parked in a long wait (its task handles one at a time; the requests read ahead behind it wait
    /// their turn and cost nothing yet); neither counts while the client does not read its
    /// responses or once the connection is closed.
    private func syncCounts() {
        let counting = !stopped && !parked
        let readAhead = counting ? max(0, inFlight - 1) : 0
        if readAhead > readAheadCounted {
            budget.chargeReadAhead(readAhead - readAheadCounted)
        } else {
            budget.releaseReadAhead(readAheadCounted - readAhead)
        }
        readAheadCounted = readAhead
        guard let fairness else { return }
        let active = counting && inFlight > 0 && parkedInHandler == 0 ? 1 : 0
        if active > fairShareCounted {
            fairness.charge(address, count: active - fairShareCounted, reserved: holdsReservation)
            holdsReservation = false
        } else if active < fairShareCounted {
            fairness.release(address, count: fairShareCounted - active)
        }
        fairShareCounted = active
    }

    /// Passes on what is buffered, then reads again if a read was held back and nothing blocks.
    private func resume() {
        guard let context, !stopped else { return }
        passOnFrames(context: context)
        if readPending, mayPassOn(context: context) {
            readPending = false
            context.read()
        }
    }

    private func passOnFrames(context: ChannelHandlerContext) {
        guard var buffer = cumulation else { return }
        cumulation = nil
        defer { if !stopped, buffer.readableBytes > 0 { cumulation = buffer } }
        var passed = false
        while buffer.readableBytes >= 4, mayPassOn(context: context) {
            let frame: ByteBuffer
            do {
                guard let next = try FrameDecoder.nextFrame(from: &buffer, maxFrameBytes: maxFrameBytes) else { break }
                frame = next
            } catch {
                stopped = true
                context.fireErrorCaught(error)
                return
            }
            inFlight += 1
            unhandled.append(frame.readableBytes)
            budget.charge(bytes: frame.readableBytes)
            syncCounts()
            passed = true
            context.fireChannelRead(wrapInboundOut(frame))
        }
        if passed {
            if !stopped {
                FrameCumulation.detachRemainder(&buffer, maxFrameBytes: maxFrameBytes, allocator: context.channel.allocator)
            }
            context.fireChannelReadComplete()
        }
    }

    /// Releases what this connection still holds in the broker-wide budget; later `finished`
    /// calls for it are then no-ops.
    private func stop() {
        stopped = true
        cumulation = nil
        budget.release(requests: parked ? 0 : unhandled.count, bytes: unhandled.reduce(0, +))
        syncCounts()
        unhandled = []
        inFlight = 0
        parkedInHandler = 0
    }
}

/// The connection task's handle on its ``RequestFlowHandler``: safe to use from any task, each
/// call hops to the channel's event loop.
struct ConnectionFlow: Sendable {
    private let handler: NIOLoopBound<RequestFlowHandler>
    private let eventLoop: any EventLoop

    init(_ handler: RequestFlowHandler, eventLoop: any EventLoop) {
        self.handler = NIOLoopBound(handler, eventLoop: eventLoop)
        self.eventLoop = eventLoop
    }

    /// The oldest unhandled request has been handled (its response built, not yet written).
    func handled() {
        let handler = self.handler
        eventLoop.execute { handler.value.handled() }
    }

    /// The oldest unanswered request has been answered (and handled, if ``handled()`` was not
    /// called for it).
    func finished() {
        let handler = self.handler
        eventLoop.execute { handler.value.finished() }
    }

    /// The request being handled parks in a long wait (``RequestFlowHandler/requestParked()``).
    func parked() {
        let handler = self.handler
        eventLoop.execute { handler.value.requestParked() }
    }

    /// The parked request is back at work (``RequestFlowHandler/requestUnparked()``).
    func unparked() {
        let handler = self.handler
        eventLoop.execute { handler.value.requestUnparked() }
    }

    /// Reads and passes on nothing more from this connection for `duration`.
    func mute(for duration: Duration) {
        let handler = self.handler
        let loop = eventLoop
        eventLoop.execute { handler.value.mute(until: loop.now + TimeAmount(duration)) }
    }
}

