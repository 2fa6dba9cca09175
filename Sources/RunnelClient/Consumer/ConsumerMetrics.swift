import Metrics

/// swift-metrics counters a consumer reports, labelled with `client.id`.
struct ConsumerMetrics: Sendable {
    /// Records handed to the application (`records-consumed-total`).
    let records: Counter
    /// Fetch requests sent (`fetch-total`).
    let fetches: Counter
    /// Rebalances this member went through (`rebalance-total`).
    let rebalances: Counter

    init(clientID: String) {
        let dimensions = [("client_id", clientID)]
        records = Counter(label: "runnel_client_consumer_records_total", dimensions: dimensions)
        fetches = Counter(label: "runnel_client_consumer_fetches_total", dimensions: dimensions)
        rebalances = Counter(label: "runnel_client_consumer_rebalances_total", dimensions: dimensions)
    }
}
