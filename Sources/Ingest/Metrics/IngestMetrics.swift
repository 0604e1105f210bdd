import Synchronization

/// Counters for `/metrics`, written in the Prometheus text exposition format
/// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
///
/// Series: `clowder_ingest_requests_total{operation,status}`,
/// `clowder_ingest_batches_total`, `clowder_ingest_points_total`,
/// `clowder_ingest_events_total`, `clowder_ingest_duplicates_total`,
/// `clowder_ingest_publish_failures_total`,
/// `clowder_ingest_publish_seconds` (histogram, seconds from first publish to
/// last confirm per request), `clowder_ingest_destination_up`.
public final class IngestMetrics: Sendable {
    /// Histogram bucket upper bounds, seconds.
    public static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct State {
        var requests: [String: [Int: Int]] = [:]
        var batches = 0
        var points = 0
        var events = 0
        var duplicates = 0
        var publishFailures = 0
        var publishBuckets = [Int](repeating: 0, count: IngestMetrics.buckets.count)
        var publishCount = 0
        var publishSum = 0.0
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts one answered request.
    public func request(operation: String, status: Int) {
        state.withLock { $0.requests[operation, default: [:]][status, default: 0] += 1 }
    }

    /// Counts one accepted request's contents and its publish latency (seconds).
    public func accepted(batch: Bool, points: Int, events: Int, publishSeconds: Double) {
        state.withLock { s in
            if batch { s.batches += 1 }
            s.points += points
            s.events += events
            s.publishCount += 1
            s.publishSum += publishSeconds
            for (i, le) in Self.buckets.enumerated() where publishSeconds <= le { s.publishBuckets[i] += 1 }
        }
    }

    /// Counts a duplicate.
    public func duplicate() { state.withLock { $0.duplicates += 1 } }

    /// Counts a failed publish (answered 503).
    public func publishFailed() { state.withLock { $0.publishFailures += 1 } }

    /// Requests answered with `status` for `operation` so far.
    public func requests(operation: String, status: Int) -> Int { state.withLock { $0.requests[operation]?[status] ?? 0 } }

    /// The exposition text.
    public func render(destination: DestinationStatus) -> String {
        let s = state.withLock { $0 }
        var out = ""
        out += "# HELP clowder_ingest_requests_total Requests answered, by operation and HTTP status.\n"
        out += "# TYPE clowder_ingest_requests_total counter\n"
        for op in s.requests.keys.sorted() {
            for status in s.requests[op]!.keys.sorted() {
                out += "clowder_ingest_requests_total{operation=\"\(op)\",status=\"\(status)\"} \(s.requests[op]![status]!)\n"
            }
        }
        func counter(_ name: String, _ help: String, _ v: Int) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(v)\n"
        }
        counter("clowder_ingest_batches_total", "Batches accepted (202).", s.batches)
        counter("clowder_ingest_points_total", "Points published.", s.points)
        counter("clowder_ingest_events_total", "Events published.", s.events)
        counter("clowder_ingest_duplicates_total", "Requests answered duplicate (200), nothing published.", s.duplicates)
        counter("clowder_ingest_publish_failures_total", "Requests whose messages were not all confirmed (503).", s.publishFailures)
        out += "# HELP clowder_ingest_publish_seconds Time from first publish to last confirm, per request.\n"
        out += "# TYPE clowder_ingest_publish_seconds histogram\n"
        for (i, le) in Self.buckets.enumerated() {
            out += "clowder_ingest_publish_seconds_bucket{le=\"\(le)\"} \(s.publishBuckets[i])\n"
        }
        out += "clowder_ingest_publish_seconds_bucket{le=\"+Inf\"} \(s.publishCount)\n"
        out += "clowder_ingest_publish_seconds_sum \(s.publishSum)\n"
        out += "clowder_ingest_publish_seconds_count \(s.publishCount)\n"
        out += "# HELP clowder_ingest_destination_up 1 when the destination (RabbitMQ or journal) can take messages.\n"
        out += "# TYPE clowder_ingest_destination_up gauge\n"
        out += "clowder_ingest_destination_up{kind=\"\(destination.kind)\",state=\"\(destination.state)\"} \(destination.available ? 1 : 0)\n"
        return out
    }
}
