#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization
import SystemPackage

/// Whether one log directory may take appends and serve reads: shared by every ``Log`` in it
/// (through ``Log/LoadOptions/directoryHealth``) and by the broker's monitor.
///
/// Three states:
/// - `online`: appends and reads go ahead.
/// - `lowSpace`: the file system has fewer than `minFreeBytes` available
///   (`runnel.log.dir.min.free.bytes`). Appends are refused with
///   ``StorageError/logDirectoryFull(path:freeBytes:minFreeBytes:)`` *before* a byte is written, so
///   a full disk can never tear a batch or leave a memory-mapped index page without backing store
///   (a write to such a page is a SIGBUS, not an error). Reads go on. The state clears by itself
///   once a check finds `minFreeBytes` plus a tenth of it available again (the tenth keeps a
///   directory hovering at the limit from flipping on every check).
/// - `offline`: an I/O error that means the device is failing (EIO, EROFS, ENXIO, ENODEV, EUCLEAN)
///   hit a read or write. Everything in the directory answers
///   ``StorageError/logDirectoryOffline(path:reason:)`` until the broker restarts, as Kafka's
///   `LogDirFailureChannel` does. Running out of space (ENOSPC, EDQUOT) is not a device fault and
///   never takes the directory offline; neither do errors of the process itself (EMFILE, ENOMEM).
///
/// Free space is read with `statvfs` (`f_bavail`, what an unprivileged writer may use): at most
/// every `recheckInterval` (monotonic) before an append, immediately when the bytes appended since
/// the last reading would bring the estimate under the minimum, and whenever ``refresh()`` is called
/// (the broker's monitor does so every second). Each state change is logged once.
public final class LogDirectoryHealth: Sendable {
    /// What the directory currently allows.
    public enum State: Sendable, Equatable {
        case online
        /// Free space under the minimum: appends refused, reads served.
        case lowSpace(freeBytes: Int64)
        /// Failed with an I/O error: nothing is served until a restart.
        case offline(reason: String)
    }

    private struct Inner {
        var state: State = .online
        var minFreeBytes: Int64
        var lastFreeBytes: Int64?
        var lastCheck: ContinuousClock.Instant?
        var appendedSinceCheck: Int64 = 0
    }

    /// The directory this health is about.
    public let directory: FilePath
    private let logger: Logger
    private let recheckInterval: Duration
    private let freeBytesOf: @Sendable (FilePath) -> Int64?
    private let inner: Mutex<Inner>

    /// - Parameters:
    ///   - directory: the log directory (`log.dirs` entry).
    ///   - minFreeBytes: appends are refused while fewer bytes than this are available; 0 turns the
    ///     space check off.
    ///   - recheckInterval: the longest an append relies on an older free-space reading (default 250 ms).
    ///   - freeBytes: how available bytes are read; `statvfs` by default, tests inject a fake disk.
    public init(directory: FilePath, minFreeBytes: Int64, logger: Logger, recheckInterval: Duration = .milliseconds(250),
                freeBytes: @escaping @Sendable (FilePath) -> Int64? = LogDirectoryHealth.availableBytes) {
        self.directory = directory
        self.logger = logger
        self.recheckInterval = recheckInterval
        self.freeBytesOf = freeBytes
        self.inner = Mutex(Inner(minFreeBytes: max(0, minFreeBytes)))
    }

    /// The current state (as of the last check).
    public var state: State { inner.withLock { $0.state } }

    /// Whether an I/O error took the directory offline.
    public var isOffline: Bool {
        if case .offline = state { return true }
        return false
    }

    /// The configured minimum of available bytes.
    public var minFreeBytes: Int64 { inner.withLock { $0.minFreeBytes } }

    /// Available bytes at the last reading, nil before the first.
    public var lastFreeBytes: Int64? { inner.withLock { $0.lastFreeBytes } }

    /// Applies a new `runnel.log.dir.min.free.bytes` (a dynamic config change) and rechecks at once.
    public func setMinFreeBytes(_ bytes: Int64) {
        inner.withLock { $0.minFreeBytes = max(0, bytes) }
        refresh()
    }

    /// Reads the free space now and moves between `online` and `lowSpace` accordingly.
    public func refresh() {
        guard !isOffline else { return }
        let free = freeBytesOf(directory)
        let now = ContinuousClock.now
        let change = inner.withLock { inner -> (State, State)? in
            inner.lastCheck = now
            inner.appendedSinceCheck = 0
            guard let free else { return nil }
            inner.lastFreeBytes = free
            return Self.settle(&inner, free: free)
        }
        if let change { logTransition(from: change.0, to: change.1) }
    }

    /// Called before an append of `bytes` is written.
    /// - Throws: ``StorageError/logDirectoryOffline(path:reason:)`` or
    ///   ``StorageError/logDirectoryFull(path:freeBytes:minFreeBytes:)``; both KAFKA_STORAGE_ERROR.
    public func checkAppend(bytes: Int) throws(StorageError) {
        let now = ContinuousClock.now
        let needsReading = inner.withLock { inner -> Bool in
            if case .offline = inner.state { return false }
            guard inner.minFreeBytes > 0 else { return false }
            guard let last = inner.lastCheck, let free = inner.lastFreeBytes else { return true }
            if now - last >= recheckInterval { return true }
            // The estimate would cross the minimum: read the real value before refusing or accepting.
            return free - inner.appendedSinceCheck - Int64(bytes) < inner.minFreeBytes
        }
        if needsReading { refresh() }
        let verdict = inner.withLock { inner -> (StorageError?, (State, State)?) in
            switch inner.state {
            case .offline(let reason):
                return (.logDirectoryOffline(path: directory.string, reason: reason), nil)
            case .online, .lowSpace:
                guard inner.minFreeBytes > 0, let free = inner.lastFreeBytes else { return (nil, nil) }
                let estimate = free - inner.appendedSinceCheck
                if case .lowSpace = inner.state {
                    return (.logDirectoryFull(path: directory.string, freeBytes: estimate, minFreeBytes: inner.minFreeBytes), nil)
                }
                if estimate - Int64(bytes) < inner.minFreeBytes {
                    let before = inner.state
                    inner.state = .lowSpace(freeBytes: estimate)
                    return (.logDirectoryFull(path: directory.string, freeBytes: estimate, minFreeBytes: inner.minFreeBytes),
                            (before, inner.state))
                }
                inner.appendedSinceCheck += Int64(bytes)
                return (nil, nil)
            }
        }
        if let change = verdict.1 { logTransition(from: change.0, to: change.1) }
        if let error = verdict.0 { throw error }
    }

    /// Called before a read.
    /// - Throws: ``StorageError/logDirectoryOffline(path:reason:)`` once the directory is offline.
    public func checkRead() throws(StorageError) {
        if case .offline(let reason) = state { throw .logDirectoryOffline(path: directory.string, reason: reason) }
    }

    /// Classifies a failure of a read or write in this directory: a device fault takes it offline;
    /// running out of space forces a fresh free-space reading; anything else changes nothing.
    public func recordFailure(_ error: any Error) {
        guard let storage = error as? StorageError, case .io(let operation, let path, let errno) = storage else { return }
        if errno == .noSpace || errno == .diskQuotaExceeded {
            refresh()
        } else if Self.deviceFaults.contains(errno) {
            markOffline(reason: "\(operation) \(path): \(errno)")
        }
    }

    /// Takes the directory offline (an I/O error); only the first reason is kept and logged.
    public func markOffline(reason: String) {
        let before = inner.withLock { inner -> State? in
            if case .offline = inner.state { return nil }
            let before = inner.state
            inner.state = .offline(reason: reason)
            return before
        }
        if let before { logTransition(from: before, to: .offline(reason: reason)) }
    }

    /// The errors that mean the storage device, not the request, is at fault.
    static let deviceFaults: Set<Errno> = [.ioError, .readOnlyFileSystem, .noSuchAddressOrDevice, .operationNotSupportedByDevice,
                                           Errno(rawValue: 117 /* EUCLEAN: file system corrupted */)]

    /// Bytes an unprivileged writer may still use on the file system holding `directory`
    /// (`statvfs` `f_bavail` × `f_frsize`), nil when it cannot be read.
    @Sendable public static func availableBytes(_ directory: FilePath) -> Int64? {
        var stats = statvfs()
        guard statvfs(directory.string, &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }

    /// Moves between online and low space for a fresh reading of `free` bytes.
    private static func settle(_ inner: inout Inner, free: Int64) -> (State, State)? {
        let before = inner.state
        switch before {
        case .offline:
            return nil
        case .online:
            guard inner.minFreeBytes > 0, free < inner.minFreeBytes else { return nil }
            inner.state = .lowSpace(freeBytes: free)
        case .lowSpace:
            if inner.minFreeBytes == 0 || free >= inner.minFreeBytes + inner.minFreeBytes / 10 {
                inner.state = .online
            } else {
                inner.state = .lowSpace(freeBytes: free)
                return nil
            }
        }
        return (before, inner.state)
    }

    private func logTransition(from before: State, to after: State) {
        let minimum = minFreeBytes
        switch after {
        case .lowSpace(let free):
            logger.error("log dir is low on space: refusing produce to its partitions (KAFKA_STORAGE_ERROR) until space is freed; fetches go on",
                         metadata: ["dir": "\(directory)", "free.bytes": "\(free)", "runnel.log.dir.min.free.bytes": "\(minimum)"])
        case .online:
            logger.warning("log dir has space again: produce to its partitions resumes",
                           metadata: ["dir": "\(directory)", "free.bytes": "\(lastFreeBytes ?? -1)", "runnel.log.dir.min.free.bytes": "\(minimum)"])
        case .offline(let reason):
            logger.critical("log dir is offline after an I/O error: its partitions answer KAFKA_STORAGE_ERROR until the broker is restarted; other log dirs keep serving",
                            metadata: ["dir": "\(directory)", "error": "\(reason)", "was": "\(before)"])
        }
    }
}
