import Broker
import MetricsModel

/// Deterministic test data: agent points (`nginx_access`, as the agent
/// publishes them through the ingest) and Clowder-v1-style events, with
/// totals computed by plain arithmetic on the generated values.
struct Workload {
    /// Epoch ms of the first message: 2026-11-29T12:00:00Z.
    static let baseMilliseconds: Int64 = 1_795_953_600_000

    var points: [(id: String, point: Point)] = []
    var events: [(id: String, event: ClowderEvent)] = []

    static let categories = ["download", "view_resource", "upload"]

    /// `pointCount` points, one per second, `requests` = i % 13 + 1, on two virtual hosts; `eventCount` events
    /// cycling through download / view_resource / upload, twelve per millisecond (so several events share the
    /// same tags and the same `created`).
    /// `offsetMilliseconds` shifts every time (so that two workloads of one run are distinct points in InfluxDB).
    init(batch: String, pointCount: Int, eventCount: Int, offsetMilliseconds: Int64 = 0) {
        let base = Self.baseMilliseconds + offsetMilliseconds
        for i in 0..<pointCount {
            let p = Point(
                measurement: "nginx_access",
                tags: ["agent": "web-1", "host": "web-1.example.org", "region": "eu-west", "vhost": i % 2 == 0 ? "clowder.example.org" : "data.example.org"],
                fields: [
                    "requests": .int(Int64(i % 13 + 1)), "page_views": .int(Int64(i % 5)),
                    "bytes_sent": .int(Int64(i) * 1000), "request_time_p50": .double(0.25),
                ],
                timeNanoseconds: (base + Int64(i) * 1000) * 1_000_000)
            points.append(("\(batch):p\(i)", p))
        }
        for i in 0..<eventCount {
            let category = Self.categories[i % 3]
            let e = ClowderEvent([
                "category": .string(category), "type": "file",
                "resource_id": .string(String(format24hex: i)), "resource_name": .string("file \(i).csv"),
                "user_id": "5f0c1a2b3c4d5e6f7a8b9c0d", "author_id": "5f0c1a2b3c4d5e6f7a8b9c0e",
                "size": .int(Int64(i) * 10), "created": .int(base + Int64(i / 12)),
            ])
            events.append(("\(batch):e\(i)", e))
        }
    }

    /// Σ requests over the points.
    var totalRequests: Int64 { (0..<points.count).reduce(0) { $0 + Int64($1 % 13 + 1) } }
    /// Number of events of a category.
    func count(category: String) -> Int { (0..<events.count).filter { Self.categories[$0 % 3] == category }.count }

    /// The messages as the ingest publishes them (points via ``MetricsMessage/json(for:agentID:)``, events unchanged).
    var messages: [OutgoingMessage] {
        points.map { OutgoingMessage(body: MetricsMessage.json(for: $0.point, agentID: "web-1").jsonBytes, messageID: $0.id) }
            + events.map { OutgoingMessage(body: $0.event.json.jsonBytes, messageID: $0.id) }
    }
}

extension String {
    /// A 24-hex-digit Clowder id from a number.
    init(format24hex n: Int) {
        let s = String(n, radix: 16)
        self = "5f" + String(repeating: "0", count: 22 - s.count) + s
    }
}
