import DequeModule

/// The bookkeeping behind per-address fairness, with no locks and no I/O: how many requests each
/// client address has in progress, what share each address may have, and which waiting
/// connections to wake when an address has room. ``SourceAddressFairness`` wraps it in a lock and
/// runs the wake-ups it returns.
///
/// An address is *present* while it has requests in progress, room reserved, or connections
/// waiting. Its share is `capacity` (`queued.max.requests`) divided among the present addresses,
/// never more than `perAddressLimit` (`runnel.max.requests.in.progress.per.ip`) nor less than 1.
/// Shares are per address, not per connection: 200 connections from one address share one
/// address's room, so one crowded address cannot take the broker from another (Kafka itself only
/// bounds connections per address, `max.connections.per.ip`).
///
/// Within an address, connections take turns in arrival order: ``admits(_:orWait:)`` admits a
/// connection only while its address has room *and* no connection of it waits, else queues it.
/// When room comes free (a request done, or another address leaving, which grows every share),
/// the oldest waiters get it: they are returned to be woken and the room is *reserved* for them,
/// so a busy connection that asks again at once cannot take it back. A woken connection turns its
/// reservation into a request in progress (``charge(_:reserved:)``) or, when it had no whole
/// request to pass on, gives it back (``unreserve(_:)``), which wakes the next waiter. So no waiter
/// sleeps while its address has room that nobody holds.
struct FairShareLedger<Waiter> {
    private struct Entry {
        /// Requests in progress for this address (all its connections together).
        var active = 0
        /// Room handed to woken connections that have not used or returned it yet.
        var reserved = 0
        var waiters = Deque<Waiter>()

        var isEmpty: Bool { active == 0 && reserved == 0 && waiters.isEmpty }
    }

    /// `queued.max.requests`: the requests divided among the present addresses; at least 1.
    let capacity: Int
    /// `runnel.max.requests.in.progress.per.ip`: the most any one address may have; nil is no
    /// limit beyond the share of `capacity`.
    let perAddressLimit: Int?
    private var entries: [String: Entry] = [:]

    /// - Parameters:
    ///   - capacity: requests shared among addresses (`queued.max.requests`); at least 1.
    ///   - perAddressLimit: the most one address may have; nil or a negative value is no limit.
    init(capacity: Int, perAddressLimit: Int?) {
        self.capacity = max(1, capacity)
        self.perAddressLimit = perAddressLimit.flatMap { $0 < 0 ? nil : max(1, $0) }
    }

    /// Addresses with requests in progress, room reserved or connections waiting.
    var presentAddresses: Int { entries.count }

    /// Connections waiting for their address to have room, all addresses together.
    var waitingConnections: Int { entries.values.reduce(0) { $0 + $1.waiters.count } }

    /// Requests in progress for `address` now.
    func active(_ address: String) -> Int { entries[address]?.active ?? 0 }

    /// Whether connections of `address` are waiting for room.
    func hasWaiters(_ address: String) -> Bool { !(entries[address]?.waiters.isEmpty ?? true) }

    /// The most requests `address` may have in progress now: its share of ``capacity`` among the
    /// present addresses (counting `address` itself even if it is not present yet).
    func share(of address: String) -> Int {
        let present = entries.count + (entries[address] == nil ? 1 : 0)
        let fair = max(1, capacity / present)
        return perAddressLimit.map { min(fair, $0) } ?? fair
    }

    /// Whether a connection of `address` may start a request now: its address has room and no
    /// other connection of it is waiting. When not, `waiter` is queued and returned once room is
    /// reserved for it. Admitting counts nothing: the caller charges the request as it starts it.
    mutating func admits(_ address: String, orWait waiter: Waiter) -> Bool {
        if let entry = entries[address] {
            if entry.waiters.isEmpty, entry.active + entry.reserved < share(of: address) { return true }
            entries[address]!.waiters.append(waiter)
            return false
        }
        return true
    }

    /// Counts a request in progress for `address`, using the room reserved for a woken connection
    /// when `reserved`. Never refused: a request already started (or back from a wait) is the
    /// broker's to finish; only new ones go through ``admits(_:orWait:)``.
    mutating func charge(_ address: String, count: Int = 1, reserved: Bool = false) {
        guard count > 0 else { return }
        var entry = entries[address] ?? Entry()
        if reserved {
            precondition(entry.reserved > 0, "FairShareLedger: \(address) has no reserved room to use")
            entry.reserved -= 1
        }
        entry.active += count
        entries[address] = entry
    }

    /// Uncounts `count` requests of `address` (done, parked in a long wait, behind a client that
    /// does not read, or dropped with their connection).
    /// - Returns: the waiters to wake, of `address` or, when it leaves, of any address.
    mutating func release(_ address: String, count: Int = 1) -> [Waiter] {
        guard count > 0 else { return [] }
        guard var entry = entries[address], entry.active >= count else {
            preconditionFailure("FairShareLedger: releasing \(count) requests of \(address), only \(active(address)) counted")
        }
        entry.active -= count
        entries[address] = entry
        return settle(address)
    }

    /// Gives back room reserved for a woken connection of `address` that started nothing.
    /// - Returns: the waiters to wake in its place.
    mutating func unreserve(_ address: String) -> [Waiter] {
        guard var entry = entries[address], entry.reserved > 0 else {
            preconditionFailure("FairShareLedger: \(address) has no reserved room to give back")
        }
        entry.reserved -= 1
        entries[address] = entry
        return settle(address)
    }

    /// Hands `address`'s free room to its waiters, or forgets the address (growing every other
    /// share, so their waiters may get room too).
    private mutating func settle(_ address: String) -> [Waiter] {
        if entries[address]?.isEmpty == true {
            entries[address] = nil
            var woken: [Waiter] = []
            for other in Array(entries.keys) { woken += wake(other) }
            return woken
        }
        return wake(address)
    }

    /// Reserves room for as many waiters of `address` as it has room for, oldest first.
    private mutating func wake(_ address: String) -> [Waiter] {
        guard var entry = entries[address] else { return [] }
        let room = share(of: address) - entry.active - entry.reserved
        var woken: [Waiter] = []
        while woken.count < room, let waiter = entry.waiters.popFirst() { woken.append(waiter) }
        entry.reserved += woken.count
        entries[address] = entry
        return woken
    }
}
