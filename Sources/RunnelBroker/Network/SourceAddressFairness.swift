import NIOCore
import Synchronization

/// Keeps one client address from starving the others: the broker-wide, per-source-address count
/// of requests in progress, shared by every connection on every event loop.
///
/// A connection's task handles its requests one at a time, so a connection counts one request in
/// progress for its address while it has a request being handled, from when its
/// ``RequestFlowHandler`` passes the request on until the response is handed to the socket. It
/// does not count while that request waits for something other than this broker's work (a
/// long-poll Fetch, a JoinGroup held for the rebalance, a Produce waiting for acks=all, a request
/// forwarded to the controller: ``RequestTimer/parked(_:)``) or while its client does not read its
/// responses: those cost the broker nothing until they come back. Requests read ahead behind the
/// one in progress wait their turn and do not count either.
///
/// A connection whose address is at its share (``FairShareLedger``: at most
/// `runnel.max.requests.in.progress.per.ip`, and at most its part of `queued.max.requests`) starts
/// nothing and issues no socket read, so epoll stops reporting it and the event loops serve other
/// addresses; the address's connections take turns as its requests finish, oldest waiting first.
/// A flood from one address (thousands of pipelined requests over hundreds of connections) then
/// queues in its own sockets, and a well-behaved client elsewhere finds at most that address's
/// share of requests ahead of its own. Measured with Tests/Interop/test_attacker.py: the producer's
/// p99 under a 200-connection ApiVersions flood went from 0.6-2 s to within 5x of its idle p99.
final class SourceAddressFairness: Sendable {
    /// What a waiting connection runs once its address has room (it hops to its own loop).
    typealias Waiter = @Sendable () -> Void

    private let ledger: Mutex<FairShareLedger<Waiter>>

    /// - Parameters:
    ///   - capacity: `queued.max.requests`, the requests divided among addresses (Kafka default 500).
    ///   - perAddressLimit: `runnel.max.requests.in.progress.per.ip`; nil or -1 is only the share.
    init(capacity: Int = 500, perAddressLimit: Int? = nil) {
        ledger = Mutex(FairShareLedger(capacity: capacity, perAddressLimit: perAddressLimit))
    }

    /// The limits in `config` (`queued.max.requests`, `runnel.max.requests.in.progress.per.ip`).
    convenience init(config: BrokerConfig) {
        self.init(capacity: config.int("queued.max.requests"),
                  perAddressLimit: Self.perAddressLimit(config.int("runnel.max.requests.in.progress.per.ip")))
    }

    /// `runnel.max.requests.in.progress.per.ip` as a limit: 0 is twice the number of cores (the
    /// requests a broker can usefully work on at once, with room for ones waiting on the disk),
    /// -1 is none.
    static func perAddressLimit(_ configured: Int, cores: Int = System.coreCount) -> Int? {
        switch configured {
        case ..<0: return nil
        case 0: return 2 * max(1, cores)
        default: return configured
        }
    }

    /// Whether a connection of `address` may pass on another request now; when not, `waiter` runs
    /// once the address has room, and the connection asks again.
    func admits(_ address: String, orWait waiter: @escaping Waiter) -> Bool {
        ledger.withLock { $0.admits(address, orWait: waiter) }
    }

    /// Whether connections of `address` are waiting for room: a busy connection of the address
    /// then reads no further ahead, so the address's connections take turns.
    func hasWaiters(_ address: String) -> Bool {
        ledger.withLock { $0.hasWaiters(address) }
    }

    /// Counts a request in progress for `address` (started, or back from a wait), using the room
    /// reserved for a woken connection when `reserved`.
    func charge(_ address: String, count: Int = 1, reserved: Bool = false) {
        ledger.withLock { $0.charge(address, count: count, reserved: reserved) }
    }

    /// Uncounts `count` requests of `address` and wakes the connections that now have room.
    func release(_ address: String, count: Int = 1) {
        run(ledger.withLock { $0.release(address, count: count) })
    }

    /// A woken connection of `address` started nothing: its reserved room goes to the next waiter.
    func unreserve(_ address: String) {
        run(ledger.withLock { $0.unreserve(address) })
    }

    private func run(_ waiters: [Waiter]) {
        for waiter in waiters { waiter() }
    }

    /// Requests counted now for `address`, and its share.
    func usage(of address: String) -> (active: Int, share: Int) {
        ledger.withLock { ($0.active(address), $0.share(of: address)) }
    }

    /// `runnel_fair_share_addresses` (client addresses with requests in progress or waiting) and
    /// `runnel_fair_share_waiting_connections` (connections not read from because their address
    /// has its share), for the metrics scrape.
    var stateGauges: [(name: String, labels: [(String, String)], value: Double)] {
        let (addresses, waiting) = ledger.withLock { ($0.presentAddresses, $0.waitingConnections) }
        return [("runnel_fair_share_addresses", [], Double(addresses)),
                ("runnel_fair_share_waiting_connections", [], Double(waiting))]
    }
}
