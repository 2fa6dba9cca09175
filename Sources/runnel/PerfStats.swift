import Foundation
import Histogram
import Synchronization

/// Counters and latency histograms shared between the send loop, delivery callbacks and the
/// once-a-second progress line. Latencies are recorded in microseconds.
final class PerfStats: Sendable {
    private struct State {
        var records = 0
        var bytes = 0
        var errors = 0
        var firstError: String?
        var total = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var window = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var windowRecords = 0
        var windowBytes = 0
    }

    private let state = Mutex(State())

    func record(bytes: Int, latencyMicros: UInt64?) {
        record(count: 1, bytes: bytes, latencyMicros: latencyMicros)
    }

    /// `count` records of `bytes` in all, each with the latency `latencyMicros`.
    func record(count: Int, bytes: Int, latencyMicros: UInt64?) {
        state.withLock {
            $0.records += count
            $0.bytes += bytes
            $0.windowRecords += count
            $0.windowBytes += bytes
            if let latencyMicros {
                _ = $0.total.record(latencyMicros, count: UInt64(count))
                _ = $0.window.record(latencyMicros, count: UInt64(count))
            }
        }
    }

    func recordError(_ error: any Error, count: Int = 1) {
        state.withLock {
            $0.errors += count
            if $0.firstError == nil { $0.firstError = "\(error)" }
        }
    }

    var records: Int { state.withLock { $0.records } }
    var errors: (count: Int, first: String?) { state.withLock { ($0.errors, $0.firstError) } }

    /// The progress line for the last `seconds`, resetting the window.
    func progressLine(seconds: Double, verb: String, withLatency: Bool) -> String {
        state.withLock { s in
            let rate = Double(s.windowRecords) / seconds
            let mb = Double(s.windowBytes) / seconds / 1_048_576
            var line = String(format: "%d records %@, %.1f records/s (%.2f MB/s)", s.records, verb, rate, mb)
            if withLatency, s.window.totalCount > 0 {
                line += String(format: ", latency p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                               Double(s.window.valueAtPercentile(50)) / 1000, Double(s.window.valueAtPercentile(99)) / 1000,
                               Double(s.window.max) / 1000)
            }
            s.window.reset()
            s.windowRecords = 0
            s.windowBytes = 0
            return line
        }
    }

    /// The summary with OpenMessaging Benchmark field names: `<prefix>Rate` (records/s),
    /// `<prefix>ThroughputMBs`, and `<latency>Avg`, `50pct`, `75pct`, `95pct`, `99pct`, `999pct`, `Max` in ms.
    func summary(seconds: Double, ratePrefix: String, latencyPrefix: String?, recordSize: Int) -> [(String, Double)] {
        state.withLock { s in
            var fields: [(String, Double)] = [
                ("messageSize", Double(recordSize)),
                ("messages", Double(s.records)),
                ("errors", Double(s.errors)),
                ("durationSeconds", seconds),
                ("\(ratePrefix)Rate", Double(s.records) / seconds),
                ("\(ratePrefix)ThroughputMBs", Double(s.bytes) / seconds / 1_048_576),
            ]
            if let latencyPrefix, s.total.totalCount > 0 {
                let ms = { (v: UInt64) in Double(v) / 1000 }
                fields += [
                    ("\(latencyPrefix)Avg", s.total.mean / 1000),
                    ("\(latencyPrefix)50pct", ms(s.total.valueAtPercentile(50))),
                    ("\(latencyPrefix)75pct", ms(s.total.valueAtPercentile(75))),
                    ("\(latencyPrefix)95pct", ms(s.total.valueAtPercentile(95))),
                    ("\(latencyPrefix)99pct", ms(s.total.valueAtPercentile(99))),
                    ("\(latencyPrefix)999pct", ms(s.total.valueAtPercentile(99.9))),
                    ("\(latencyPrefix)Max", ms(s.total.max)),
                ]
            }
            return fields
        }
    }
}

/// Prints the summary as `name: value` lines or one JSON object.
func printSummary(_ fields: [(String, Double)], json: Bool) {
    func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.3f", value)
    }
    if json {
        print("{" + fields.map { "\"\($0.0)\":\(format($0.1))" }.joined(separator: ",") + "}")
    } else {
        for (name, value) in fields { print("\(name): \(format(value))") }
    }
}

/// Prints `line()` to stderr once a second until cancelled.
func startProgress(_ line: @escaping @Sendable (Double) -> String) -> Task<Void, Never> {
    Task {
        var last = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let now = ContinuousClock.now
            let elapsed = now - last
            last = now
            printError(line(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var microseconds: UInt64 { UInt64(max(0, seconds * 1_000_000)) }
}

/// Wall-clock milliseconds since the Unix epoch (for e2e latency from record timestamps).
func wallClockMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
