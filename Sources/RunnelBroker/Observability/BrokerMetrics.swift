import CoreMetrics
import KafkaProtocol
import LogStorage
import NIOCore
import Metrics
import Prometheus
import Synchronization

/// The broker's metrics, recorded through the swift-metrics API into its own Prometheus registry
/// (swift-prometheus) rather than the process-wide `MetricsSystem`, so several brokers (and tests)
/// can live in one process. ``MetricsServer`` exports ``render()`` as Prometheus text.
///
/// Names follow Prometheus conventions with a `runnel_` prefix; counters end in `_total`,
/// durations are histograms in seconds. Hot-path metrics (per-topic byte and record counters,
/// per-API request timers) are created once and cached; state metrics (log sizes, offsets, lag,
/// purgatory) are gauges refreshed by ``StateCollector`` just before each scrape.
public final class BrokerMetrics: Sendable {
    /// The registry the text exposition is rendered from.
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    /// One topic's counters, held by each of its partitions so an append increments two
    /// counters without a lookup.
    public struct TopicCounters: Sendable {
        let bytesIn: CoreMetrics.Counter
        let recordsIn: CoreMetrics.Counter
        let bytesOut: CoreMetrics.Counter
        let recordsOut: CoreMetrics.Counter

        /// A produced batch was appended: `bytes` of record batch, `records` records.
        public func recordProduced(bytes: Int, records: Int) {
            bytesIn.increment(by: bytes)
            recordsIn.increment(by: records)
        }

        /// A fetch returned `bytes` of record batches holding `records` records to a consumer.
        public func recordFetched(bytes: Int, records: Int) {
            guard bytes > 0 else { return }
            bytesOut.increment(by: bytes)
            recordsOut.increment(by: records)
        }
    }

    struct ApiMetrics: Sendable {
        let requests: CoreMetrics.Counter
        let duration: Metrics.Timer
    }

    private let topics = Mutex<[String: TopicCounters]>([:])
    private let apis = Mutex<[Int16: ApiMetrics]>([:])
    /// Gauges set at scrape time, by name and labels, so vanished label sets can be removed.
    private let stateGauges = Mutex<[String: CoreMetrics.Gauge]>([:])

    let connectionsOpen: CoreMetrics.Meter
    let connectionsAccepted: CoreMetrics.Counter
    let connectionsClosedByBroker: CoreMetrics.Counter
    /// Record bytes that left for consumers straight from segment files (`sendfile`, plaintext
    /// listeners; ``ResponsePartWriter``), counted once sent.
    let fetchSendfileBytes: CoreMetrics.Counter
    /// TLS handshakes that failed on SSL and SASL_SSL listeners (untrusted or missing client
    /// certificates, non-TLS clients); peers that hang up before the handshake are not counted.
    let tlsHandshakeFailures: CoreMetrics.Counter
    let recoveryPartitions: CoreMetrics.Counter
    let recoveryBytes: CoreMetrics.Counter
    /// Responses held or muted for a client quota, and the time they were held (KIP-219).
    let requestsThrottled: CoreMetrics.Counter
    let throttleMilliseconds: CoreMetrics.Counter
    /// ISR changes this broker's partitions committed, as Kafka's `IsrShrinksPerSec` / `IsrExpandsPerSec`.
    let isrShrinks: CoreMetrics.Counter
    let isrExpands: CoreMetrics.Counter
    /// Partitions this broker started leading (a new leader epoch), as Kafka's `LeaderElectionRateAndTimeMs` count.
    let leaderElections: CoreMetrics.Counter
    /// Bytes of closed segments the scrubber re-read, and the corrupt ranges it found.
    let scrubBytes: CoreMetrics.Counter
    let corruptRanges: CoreMetrics.Counter
    /// Partition log syncs (`fdatasync`) the flushers ran, those that failed, how long each took,
    /// and the produce acknowledgements they released (``LogFlusher``).
    let logFlushes: CoreMetrics.Counter
    let logFlushFailures: CoreMetrics.Counter
    let logFlushDuration: Metrics.Timer
    let logFlushAcks: CoreMetrics.Counter

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Request latency buckets from 100 µs to 30 s.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
        ]
        self.registry = registry
        self.factory = factory
        connectionsOpen = CoreMetrics.Meter(label: "runnel_connections_open", factory: factory)
        connectionsAccepted = CoreMetrics.Counter(label: "runnel_connections_accepted_total", factory: factory)
        connectionsClosedByBroker = CoreMetrics.Counter(label: "runnel_connections_closed_by_broker_total", factory: factory)
        fetchSendfileBytes = CoreMetrics.Counter(label: "runnel_fetch_sendfile_bytes_total", factory: factory)
        tlsHandshakeFailures = CoreMetrics.Counter(label: "runnel_tls_handshake_failures_total", factory: factory)
        recoveryPartitions = CoreMetrics.Counter(label: "runnel_log_recovery_partitions_total", factory: factory)
        recoveryBytes = CoreMetrics.Counter(label: "runnel_log_recovery_bytes_total", factory: factory)
        requestsThrottled = CoreMetrics.Counter(label: "runnel_requests_throttled_total", factory: factory)
        throttleMilliseconds = CoreMetrics.Counter(label: "runnel_request_throttle_milliseconds_total", factory: factory)
        isrShrinks = CoreMetrics.Counter(label: "runnel_isr_shrinks_total", factory: factory)
        isrExpands = CoreMetrics.Counter(label: "runnel_isr_expands_total", factory: factory)
        leaderElections = CoreMetrics.Counter(label: "runnel_leader_elections_total", factory: factory)
        scrubBytes = CoreMetrics.Counter(label: "runnel_log_scrub_bytes_total", factory: factory)
        corruptRanges = CoreMetrics.Counter(label: "runnel_log_corrupt_ranges_total", factory: factory)
        logFlushes = CoreMetrics.Counter(label: "runnel_log_flushes_total", factory: factory)
        logFlushFailures = CoreMetrics.Counter(label: "runnel_log_flush_failures_total", factory: factory)
        logFlushDuration = Metrics.Timer(label: "runnel_log_flush_duration_seconds", factory: factory)
        logFlushAcks = CoreMetrics.Counter(label: "runnel_log_flush_acks_total", factory: factory)
    }

    /// Records one finished partition log sync.
    func logFlushed(_ report: LogFlusher.SyncReport) {
        logFlushes.increment()
        if report.failed { logFlushFailures.increment() }
        logFlushDuration.record(duration: report.duration)
        if report.completedWaiters > 0 { logFlushAcks.increment(by: report.completedWaiters) }
    }

    /// Counts an ISR change the controller committed for a partition this broker leads.
    func isrChanged(shrink: Bool) { (shrink ? isrShrinks : isrExpands).increment() }

    /// Counts a partition this broker started leading.
    func leaderElected() { leaderElections.increment() }

    /// The counters of `topic`, created on first use.
    public func counters(_ topic: String) -> TopicCounters {
        topics.withLock { cache in
            if let c = cache[topic] { return c }
            let dims = [("topic", topic)]
            let c = TopicCounters(bytesIn: CoreMetrics.Counter(label: "runnel_topic_bytes_in_total", dimensions: dims, factory: factory),
                                  recordsIn: CoreMetrics.Counter(label: "runnel_topic_records_in_total", dimensions: dims, factory: factory),
                                  bytesOut: CoreMetrics.Counter(label: "runnel_topic_bytes_out_total", dimensions: dims, factory: factory),
                                  recordsOut: CoreMetrics.Counter(label: "runnel_topic_records_out_total", dimensions: dims, factory: factory))
            cache[topic] = c
            return c
        }
    }

    /// One request of `api` was handled in `duration`.
    func recordRequest(api: ApiKey, duration: Duration) {
        let m = apis.withLock { cache in
            if let m = cache[api.rawValue] { return m }
            let dims = [("api", "\(api)")]
            let m = ApiMetrics(requests: CoreMetrics.Counter(label: "runnel_requests_total", dimensions: dims, factory: factory),
                               duration: Metrics.Timer(label: "runnel_request_duration_seconds", dimensions: dims, factory: factory))
            cache[api.rawValue] = m
            return m
        }
        m.requests.increment()
        m.duration.record(duration: duration)
    }

    /// Sets the state gauges of one scrape: `values` maps (name, labels) to a value. Gauges of the
    /// previous scrape that are not in `values` (a deleted topic, an expired group) are removed.
    func setStateGauges(_ values: [(name: String, labels: [(String, String)], value: Double)]) {
        stateGauges.withLock { gauges in
            var seen = Set<String>()
            for v in values {
                let key = v.name + "|" + v.labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                seen.insert(key)
                let gauge = gauges[key] ?? CoreMetrics.Gauge(label: v.name, dimensions: v.labels, factory: factory)
                gauges[key] = gauge
                gauge.record(v.value)
            }
            for (key, gauge) in gauges where !seen.contains(key) {
                gauge.destroy()
                gauges.removeValue(forKey: key)
            }
        }
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric.
    public func render() -> String { registry.emitToString() }
}

extension ByteBuffer {
    /// Total records in the whole magic-2 batches of this buffer, from their headers only.
    var recordBatchRecordCount: Int {
        var copy = self
        var count = 0
        while let (header, _) = copy.readRecordBatch() { count += Int(header.recordsCount) }
        return count
    }
}
