import Agent
import MetricsModel
import Parsers
import Testing

/// Window closing, allowed lateness, per-vhost points, quantiles, malformed lines and events,
/// with hand-made lines whose expected counts are worked out in the comments.
@Suite("AccessLogPipeline windows")
struct WindowTests {
    /// `$msec` makes the times easy to read: seconds since the epoch.
    static let format = try! LogFormat(string: #"$msec $remote_addr $remote_user "$request" $status $body_bytes_sent "$http_user_agent" $request_time $connection $host"#)
    static let tags = ["agent": "a1", "host": "web-1", "region": "eu-west"]
    static let id = "5f0c3b2a9d1e4f7a8b6c5d4e"

    static func line(_ t: Double, _ target: String = "/", status: Int = 200, bytes: Int = 100, rt: String = "0.010",
                     client: String = "198.51.100.1", conn: Int = 1, host: String = "clowder.example.org",
                     user: String = "-", method: String = "GET", ua: String = "Mozilla/5.0") -> String {
        let msec = String(format3(t))
        return "\(msec) \(client) \(user) \"\(method) \(target) HTTP/1.1\" \(status) \(bytes) \"\(ua)\" \(rt) \(conn) \(host)"
    }

    static func format3(_ t: Double) -> String {
        let ms = Int64((t * 1000).rounded())
        let frac = ms % 1000
        return "\(ms / 1000)." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + "\(frac)"
    }

    func pipeline(events: Bool = false, lateness: Int = 30) throws -> AccessLogPipeline {
        try AccessLogPipeline(configuration: .init(logFormat: Self.format, prefix: "", windowSeconds: 60,
                                                   latenessSeconds: lateness, tags: Self.tags, emitEvents: events))
    }

    @Test("a window closes when the newest line is past its end plus lateness; late lines go to the oldest open window")
    func closing() throws {
        let p = try pipeline()
        #expect(p.add(Self.line(0)) == .counted)  // window [0, 60)
        #expect(p.add(Self.line(65)) == .counted)  // window [60, 120); watermark 65
        #expect(p.takeClosed().points.isEmpty)  // 0 + 60 + 30 = 90 ≥ 65: open
        #expect(p.add(Self.line(30)) == .counted)  // still open: counted in [0, 60)
        #expect(p.add(Self.line(90)) == .counted)  // watermark 90: not past 90 yet
        #expect(p.takeClosed().points.isEmpty)
        #expect(p.add(Self.line(121)) == .counted)  // watermark 121 > 90: [0, 60) closes
        let first = p.takeClosed().points
        #expect(first.count == 1)
        #expect(first[0].timeNanoseconds == 0)
        #expect(first[0].int("requests") == 2)
        #expect(first[0].int("late_lines") == 0)
        #expect(p.add(Self.line(50)) == .late)  // [0, 60) is closed: counted in [60, 120), the oldest open
        #expect(p.add(Self.line(200)) == .counted)  // watermark 200 > 150: [60, 120) closes; [120, 180) open (210)
        let second = p.takeClosed().points
        #expect(second.count == 1)
        #expect(second[0].timeNanoseconds == 60_000_000_000)
        #expect(second[0].int("requests") == 3)  // 65, 90 and the late 50
        #expect(second[0].int("late_lines") == 1)
        let rest = p.closeAll().points
        #expect(rest.map(\.timeNanoseconds) == [120_000_000_000, 180_000_000_000])
        #expect(rest.map { $0.int("requests") } == [1, 1])
        #expect(p.closeAll().points.isEmpty)
    }

    @Test("zero lateness; advanceWatermark closes idle windows")
    func idle() throws {
        let p = try pipeline(lateness: 0)
        p.add(Self.line(10))
        p.advanceWatermark(toEpochMilliseconds: 60_000)
        #expect(p.takeClosed().points.isEmpty)  // 60 is not past 60
        p.advanceWatermark(toEpochMilliseconds: 60_001)
        #expect(p.takeClosed().points.count == 1)
        p.advanceWatermark(toEpochMilliseconds: 1)  // never moves back
        #expect(p.watermark == 60_001)
    }

    @Test("every field of the point: counters, statuses, bytes, distinct sets, quantiles, tags with vhost")
    func fields() throws {
        let p = try pipeline()
        // 100 requests at t = 1…100 ms request times 1…100 ms, from 4 clients over 3 connections, 2 vhosts.
        for i in 1...100 {
            let host = i <= 60 ? "a.example.org" : "b.example.org"
            let rt = Self.format3(Double(i) / 1000)
            p.add(Self.line(Double(i) / 10, "/", status: i % 10 == 0 ? 404 : 200, bytes: 10, rt: rt,
                            client: "203.0.113.\(i % 4)", conn: i % 3, host: host))
        }
        let points = p.closeAll().points
        #expect(points.count == 2)
        let a = points[0], b = points[1]
        #expect(a.tags == ["agent": "a1", "host": "web-1", "region": "eu-west", "vhost": "a.example.org"])
        #expect(b.tags["vhost"] == "b.example.org")
        #expect(a.measurement == "nginx_access")
        #expect(a.int("requests") == 60)
        #expect(a.int("status_2xx") == 54)
        #expect(a.int("status_4xx") == 6)
        #expect(a.int("page_views") == 54)
        #expect(a.int("bytes_sent") == 600)
        #expect(a.int("distinct_clients") == 4)
        #expect(a.int("distinct_connections") == 3)
        // a: request times 1…60 ms. Nearest rank: p50 = 30 ms, p90 = 54 ms, p99 = ⌈59.4⌉ = 60th = 60 ms.
        #expect(a.fields["request_time_p50"] == .double(0.030))
        #expect(a.fields["request_time_p90"] == .double(0.054))
        #expect(a.fields["request_time_p99"] == .double(0.060))
        #expect(a.fields["request_time_max"] == .double(0.060))
        // b: 61…100 ms, 40 values: p50 = 20th = 80 ms, p90 = 36th = 96 ms, p99 = 40th = 100 ms.
        #expect(b.fields["request_time_p50"] == .double(0.080))
        #expect(b.fields["request_time_p90"] == .double(0.096))
        #expect(b.fields["request_time_p99"] == .double(0.100))
        let expected: Set<String> = [
            "requests", "page_views", "view_file", "view_dataset", "view_collection", "view_space",
            "download_file", "download_dataset", "download_collection", "partial_downloads", "uploads", "deletes",
            "extractions", "api_calls", "asset_requests", "bot_requests", "status_1xx", "status_2xx", "status_3xx",
            "status_4xx", "status_5xx", "bytes_sent", "malformed_lines", "late_lines", "distinct_clients",
            "distinct_connections", "request_time_p50", "request_time_p90", "request_time_p99", "request_time_max",
            "download_bytes",  // upload_bytes only with $request_length, which this format does not log
        ]
        #expect(Set(a.fields.keys) == expected)
        #expect(a.int("download_bytes") == 0)  // only GET / here: no downloads
    }

    @Test("without $connection, $request_time or $host: those fields and the vhost tag are absent")
    func optionalFields() throws {
        let p = try AccessLogPipeline(configuration: .init(logFormat: .combined, tags: ["agent": "x"]))
        p.add(#"192.0.2.1 - - [01/Jun/2026:00:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8""#)
        let points = p.closeAll().points
        #expect(points.count == 1)
        #expect(points[0].fields["distinct_connections"] == nil)
        #expect(points[0].fields["request_time_p50"] == nil)
        #expect(points[0].fields["upload_bytes"] == nil)
        #expect(points[0].tags == ["agent": "x"])
        #expect(points[0].timeNanoseconds == 1_780_272_000_000_000_000)
        #expect(points[0].int("page_views") == 1)
    }

    @Test("malformed lines: counted in the window of their time or of the previous line, sampled with line numbers")
    func malformed() throws {
        let p = try pipeline()
        #expect(p.add("garbage before anything") == .malformed)  // held until the first window exists
        p.add(Self.line(10))
        #expect(p.add("\u{1}\u{2} not a log line") == .malformed)  // window of the previous line: [0, 60)
        #expect(p.add("70.000 1.2.3.4 - \"GET / HTTP/1.1\" 200") == .malformed)  // cut line, time 70 s: [60, 120)
        p.add(Self.line(61))
        let points = p.closeAll().points
        #expect(points.map { $0.int("malformed_lines") } == [2, 1])
        #expect(points.map { $0.int("requests") } == [1, 1])
        #expect(p.malformedCount == 3)
        #expect(p.lineCount == 5)
        #expect(p.malformedSamples.map(\.lineNumber) == [1, 3, 4])
        #expect(p.malformedSamples[1].text == #"\x01\x02 not a log line"#)
    }

    @Test("events: one per view/download/upload/delete/extraction, key= redacted, not for bots or partials")
    func events() throws {
        let p = try pipeline(events: true)
        let id = Self.id
        p.add(Self.line(1, "/files/\(id)", user: "alice"))
        p.add(Self.line(2, "/api/files/\(id)/blob?key=s3cr3t&x=1", bytes: 4096))
        p.add(Self.line(3, "/api/files/\(id)/blob", status: 206))
        p.add(Self.line(4, "/datasets/\(id)", ua: "Googlebot/2.1"))
        p.add(Self.line(5, "/api/uploadToDataset/\(id)", method: "POST"))
        p.add(Self.line(6, "/api/datasets/\(id)", method: "DELETE"))
        p.add(Self.line(7, "/api/files/\(id)/extractions", method: "POST"))
        let (_, events) = p.takeClosed()
        #expect(events.map(\.category) == ["view_resource", "download", "upload", "delete", "extraction"])
        #expect(events.map(\.type) == ["file", "file", "dataset", "dataset", "file"])
        #expect(events.allSatisfy { $0.resourceID == id && $0.members["source"] == "nginx" })
        #expect(events[0].created == 1000)
        #expect(events[0].members["user_id"] == nil, "$remote_user is never sent unless REMOTE_USER=hash")
        #expect(events[1].members["user_id"] == nil)
        #expect(events[1].members["url"] == .string("/api/files/\(id)/blob?key=REDACTED&x=1"))
        #expect(events[1].members["size"] == 4096)
        #expect(p.takeClosed().events.isEmpty)
        let all = p.closeAll().points
        let points = all.filter { $0.measurement == "nginx_access" }
        #expect(points.count == 1)
        // The top resources of the window: the viewed file (the bot's dataset view does not count) and the downloaded file.
        let top = all.filter { $0.measurement == "nginx_top_resources" }
        #expect(top.map { [$0.tags["kind"], $0.tags["type"], $0.tags["resource_id"]] } == [["view", "file", id], ["download", "file", id]])
        #expect(points[0].int("partial_downloads") == 1)
        #expect(points[0].int("bot_requests") == 1)
    }

    @Test("bad configuration is refused")
    func badConfiguration() {
        #expect(throws: AggregationError.self) { try AccessLogPipeline(configuration: .init(windowSeconds: 0)) }
        #expect(throws: AggregationError.self) { try AccessLogPipeline(configuration: .init(latenessSeconds: -1)) }
        #expect(throws: AggregationError.self) {
            try AccessLogPipeline(configuration: .init(logFormat: try LogFormat(string: "$remote_addr $status")))
        }
    }
}
