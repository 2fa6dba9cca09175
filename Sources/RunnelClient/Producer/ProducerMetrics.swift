import Metrics

/// swift-metrics counters a producer reports, labelled with `client.id`.
/// Names follow the Java client's producer metrics where one exists.
struct ProducerMetrics: Sendable {
    /// Records accepted by `send` (`record-send-total`).
    let records: Counter
    /// Batches acknowledged by a broker.
    let batches: Counter
    /// Produce requests sent (`request-total`).
    let requests: Counter
    /// Batches retried (`record-retry-total`, counted per batch).
    let retries: Counter
    /// Batches that failed for good (`record-error-total`, counted per batch).
    let errors: Counter
    /// Sends that waited for buffer memory (`bufferpool-wait` events).
    let blockedOnMemory: Counter

    init(clientID: String) {
        let dimensions = [("client_id", clientID)]
        records = Counter(label: "runnel_client_producer_records_total", dimensions: dimensions)
        batches = Counter(label: "runnel_client_producer_batches_total", dimensions: dimensions)
        requests = Counter(label: "runnel_client_producer_requests_total", dimensions: dimensions)
        retries = Counter(label: "runnel_client_producer_retries_total", dimensions: dimensions)
        errors = Counter(label: "runnel_client_producer_errors_total", dimensions: dimensions)
        blockedOnMemory = Counter(label: "runnel_client_producer_buffer_waits_total", dimensions: dimensions)
    }
}
