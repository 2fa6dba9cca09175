import Logging

/// Reports log recovery at start-up: a progress line at most every 2 s (partitions opened and
/// bytes scanned so far), a summary at the end, and the `runnel_log_recovery_*` counters.
struct RecoveryProgress {
    let total: Int
    let logger: Logger
    let metrics: BrokerMetrics?
    private var done = 0
    private var scanned: Int64 = 0
    private let start = ContinuousClock.now
    private var lastReport = ContinuousClock.now

    init(total: Int, logger: Logger, metrics: BrokerMetrics?) {
        self.total = total
        self.logger = logger
        self.metrics = metrics
    }

    /// One partition's log is open; `scannedBytes` of it were checked batch by batch.
    mutating func loaded(_ tp: TopicPartition, scannedBytes: Int64) {
        done += 1
        scanned += scannedBytes
        metrics?.recoveryPartitions.increment()
        metrics?.recoveryBytes.increment(by: scannedBytes)
        let now = ContinuousClock.now
        if now - lastReport >= .seconds(2) {
            lastReport = now
            logger.info("recovering logs", metadata: ["partitions": "\(done)/\(total)", "bytes.scanned": "\(scanned)",
                                                       "last": "\(tp)"])
        }
    }

    func finish() {
        let elapsed = (ContinuousClock.now - start).components
        let ms = elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
        logger.info("logs loaded", metadata: ["partitions": "\(done)", "bytes.scanned": "\(scanned)", "ms": "\(ms)"])
    }
}
