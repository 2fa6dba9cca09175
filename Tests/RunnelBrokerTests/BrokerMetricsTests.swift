@testable import RunnelBroker
import KafkaProtocol
import Testing

/// The metrics registry and the `runnel.metrics.listener` parser.
struct BrokerMetricsTests {
    @Test func countersAndTimersRenderAsPrometheusText() {
        let metrics = BrokerMetrics()
        let orders = metrics.counters("orders")
        orders.recordProduced(bytes: 120, records: 3)
        orders.recordProduced(bytes: 80, records: 2)
        // A second lookup returns the same counters.
        metrics.counters("orders").recordFetched(bytes: 200, records: 5)
        orders.recordFetched(bytes: 0, records: 0)
        metrics.recordRequest(api: .produce, duration: .milliseconds(3))
        let text = metrics.render()
        #expect(text.contains(#"runnel_topic_bytes_in_total{topic="orders"} 200"#))
        #expect(text.contains(#"runnel_topic_records_in_total{topic="orders"} 5"#))
        #expect(text.contains(#"runnel_topic_records_out_total{topic="orders"} 5"#))
        #expect(text.contains(#"runnel_requests_total{api="Produce"} 1"#))
        #expect(text.contains(#"runnel_request_duration_seconds_count{api="Produce"} 1"#))
        #expect(text.contains(#"runnel_request_duration_seconds_bucket{api="Produce",le="0.005"} 1"#))
        #expect(text.contains(#"runnel_request_duration_seconds_bucket{api="Produce",le="0.002"} 0"#))
    }

    @Test func stateGaugesOfAVanishedLabelSetAreRemoved() {
        let metrics = BrokerMetrics()
        metrics.setStateGauges([("runnel_partition_log_end_offset", [("topic", "a"), ("partition", "0")], 7),
                                ("runnel_partition_log_end_offset", [("topic", "b"), ("partition", "0")], 9)])
        #expect(metrics.render().contains(#"runnel_partition_log_end_offset{topic="b",partition="0"} 9"#))
        metrics.setStateGauges([("runnel_partition_log_end_offset", [("topic", "a"), ("partition", "0")], 8)])
        let text = metrics.render()
        #expect(text.contains(#"runnel_partition_log_end_offset{topic="a",partition="0"} 8"#))
        #expect(!text.contains(#"topic="b""#))
    }

    @Test func metricsListenerParsing() throws {
        #expect(try MetricsEndpoint.parse("http://localhost:9644/metrics") == MetricsEndpoint(host: "localhost", port: 9644, path: "/metrics"))
        #expect(try MetricsEndpoint.parse("http://0.0.0.0:1234") == MetricsEndpoint(host: "0.0.0.0", port: 1234, path: "/metrics"))
        #expect(try MetricsEndpoint.parse("http://[::1]:9/m") == MetricsEndpoint(host: "::1", port: 9, path: "/m"))
        #expect(try MetricsEndpoint.parse("  ") == nil)
        for bad in ["localhost:9644", "https://h:1/m", "http://h/m", "http://h:99999/m"] {
            #expect(throws: ConfigError.self) { try MetricsEndpoint.parse(bad) }
        }
        #expect(throws: ConfigError.self) { try BrokerConfig(overrides: [("runnel.metrics.listener", "nope")]) }
    }

    @Test func recordCountComesFromBatchHeaders() {
        var a = RecordBatchBuilder(baseTimestamp: 1)
        for _ in 0..<3 { a.append(key: nil, value: nil) }
        var b = RecordBatchBuilder(baseTimestamp: 1)
        for _ in 0..<4 { b.append(key: nil, value: nil) }
        var both = a.build()
        var second = b.build()
        both.writeBuffer(&second)
        #expect(both.recordBatchRecordCount == 7)
        // A cut-off batch at the end (a fetch may end mid-batch) is not counted.
        #expect(both.getSlice(at: 0, length: both.readableBytes - 1)!.recordBatchRecordCount == 3)
    }
}
