import LogStorage

extension Broker {
    /// Kafka's flush scheduler (`LogManager.flushDirtyLogs`): every `log.flush.scheduler.interval.ms`
    /// each hosted partition whose last sync ended at least its `flush.ms` ago and that appended
    /// since starts a background sync on ``LogFlushPool``. Nothing waits for these syncs: as in
    /// Kafka, `flush.ms` bounds how long appended data may sit in the page cache, it never delays
    /// an acknowledgement. With the defaults (both `Long.MAX_VALUE`) this loop does not run.
    /// - Parameter interval: `log.flush.scheduler.interval.ms`.
    func runLogFlushScheduler(_ controller: Controller, interval: Int64) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(interval))
            if Task.isCancelled { return }
            let now = LogFlusher.monotonicMs()
            for partition in await controller.partitionsHosted {
                partition.flusher.flushIfDue(nowMs: now)
            }
        }
    }

    /// `log.flush.scheduler.interval.ms` when the scheduler should run: below a year (Kafka's
    /// default, `Long.MAX_VALUE`, means never).
    var logFlushSchedulerInterval: Int64? {
        guard let interval = Int64(config.string("log.flush.scheduler.interval.ms") ?? ""),
              interval > 0, interval < 365 * 86_400_000 else { return nil }
        return interval
    }
}
