import Foundation
import MetricsModel

/// Points and events shaped exactly as the agent produces them and the InfluxDB sink
/// writes them (same measurements, tags, field names and integer/float types), over
/// two hours, for the dashboard-query tests.
///
/// - `nginx_access` per 60 s window, host and vhost (tags agent host region, and vhost on one host only);
/// - `http_response` (tags agent host region server method result), `ping` (tags agent host region url result)
///   and `nginx` (tags agent host region server port) every 30 s;
/// - `agent` per 60 s window (tags agent host region version), counters growing;
/// - `nginx_top_resources` per 60 s window and host: the top 5 viewed and downloaded resources
///   (tags agent host region kind type resource_id; fields count count_error rank);
/// - `events`: Clowder `view_resource` and `download` events (tags category type user_id source; field resource_id)
///   and `service_status` events, written with the sink's layout.
struct DemoData {
    /// Start of the data, epoch seconds (2026-01-01T00:00:00Z).
    static let start: Int64 = 1_767_225_600
    /// Length, seconds.
    static let duration: Int64 = 7200

    var points: [Point] = []
    /// Events with the sink's message id.
    var events: [(ClowderEvent, String)] = []

    private var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    private mutating func next(_ n: Int) -> Int64 {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int64((seed >> 33) % UInt64(n))
    }

    static let site = (region: "us-central", hosts: ["web-1", "web-2"], vhosts: ["clowder.example.org", "data.example.org"])
    static let probeRegions = [("us-central", "web-1"), ("eu-west", "probe-eu-west-1")]
    static let httpTargets = ["https://clowder.example.org/healthz", "https://data.example.org/healthz"]

    init() {
        let ns: Int64 = 1_000_000_000
        // nginx_access and agent, per minute.
        var agentTotals: [String: [String: Int64]] = [:]
        for minute in 0..<(Self.duration / 60) {
            let t = (Self.start + minute * 60 + 60) * ns
            for host in Self.site.hosts {
                var linesThisMinute: Int64 = 0
                // web-1 logs $host (tag vhost); web-2 logs the recommended format, which has no vhost.
                for vhost in host == "web-1" ? Self.site.vhosts.map(Optional.some) : [nil] {
                    let requests = 200 + next(400)
                    linesThisMinute += requests
                    var f: [String: JSONValue] = [:]
                    let counters = ["page_views", "view_file", "view_dataset", "view_collection", "view_space",
                                    "download_file", "download_dataset", "download_collection", "partial_downloads",
                                    "uploads", "deletes", "extractions", "api_calls", "asset_requests", "bot_requests",
                                    "status_1xx", "status_3xx", "status_4xx", "status_5xx", "malformed_lines", "late_lines"]
                    for c in counters { f[c] = .int(next(Int(requests / 8) + 1)) }
                    f["requests"] = .int(requests)
                    f["status_2xx"] = .int(requests / 2)
                    f["bytes_sent"] = .int(requests * (10_000 + next(90_000)))
                    // Derived, not drawn, so that the random sequence of the other fields stays as it was.
                    f["download_bytes"] = .int((f["download_file"]?.intValue ?? 0) * 250_000)
                    f["upload_bytes"] = .int((f["uploads"]?.intValue ?? 0) * 1_000_000)
                    f["distinct_clients"] = .int(20 + next(50))
                    f["distinct_connections"] = .int(30 + next(60))
                    let p50 = Double(10 + next(40)) / 1000
                    f["request_time_p50"] = .double(p50)
                    f["request_time_p90"] = .double(p50 * 3)
                    f["request_time_p99"] = .double(p50 * 8)
                    f["request_time_max"] = .double(p50 * 20)
                    var tags = ["agent": host, "host": host, "region": Self.site.region]
                    tags["vhost"] = vhost
                    points.append(Point(measurement: "nginx_access",
                                        tags: tags,
                                        fields: f, timeNanoseconds: t))
                }
                agentPoint(&agentTotals, agent: host, host: host, region: Self.site.region, lines: linesThisMinute, t: t)
                for (kind, type) in [("view", "file"), ("download", "dataset")] {
                    var count = 40 + next(40)
                    for rank in 1...5 {
                        let id = String(repeating: "0", count: 22) + String(format: "%02x", Int(next(12)) + (kind == "view" ? 0 : 16))
                        points.append(Point(
                            measurement: "nginx_top_resources",
                            tags: ["agent": host, "host": host, "region": Self.site.region, "kind": kind, "type": type, "resource_id": id],
                            fields: ["count": .int(count), "count_error": .int(next(3)), "rank": .int(Int64(rank))],
                            timeNanoseconds: t + Int64(rank)))
                        count -= 1 + next(8)
                    }
                }
            }
            agentPoint(&agentTotals, agent: "probe-eu-west-1", host: "probe-eu-west-1", region: "eu-west", lines: 0, t: t)
        }
        // Probes, every 30 s.
        for round in 0..<(Self.duration / 30) {
            let t = (Self.start + round * 30) * ns + 123_456
            for (region, host) in Self.probeRegions {
                let tags = ["agent": host, "host": host, "region": region]
                for target in Self.httpTargets {
                    let up = next(50) != 0
                    var f: [String: JSONValue] = [:]
                    let dns = Double(1 + next(20)) / 1000, connect = Double(5 + next(80)) / 1000
                    let tls = target.hasPrefix("https") ? Double(10 + next(90)) / 1000 : 0
                    let ttfb = Double(20 + next(200)) / 1000, transfer = Double(next(10)) / 1000
                    f["response_time"] = .double(dns + connect + tls + ttfb + transfer)
                    f["dns_time"] = .double(dns); f["connect_time"] = .double(connect); f["tls_time"] = .double(tls)
                    f["ttfb_time"] = .double(ttfb); f["transfer_time"] = .double(transfer)
                    f["content_length"] = .int(7); f["redirects"] = .int(0)
                    f["up"] = .int(up ? 1 : 0); f["result_code"] = .int(up ? 0 : 4)
                    f["uptime"] = .double(up ? 1 : 0.98)
                    if up { f["http_response_code"] = .int(200) }
                    if target.hasPrefix("https") { f["tls_cert_expiry"] = .double(Double(60 * 86_400 - round * 30)) }
                    var tt = tags
                    tt["server"] = target; tt["method"] = "GET"; tt["result"] = up ? "success" : "timeout"
                    points.append(Point(measurement: "http_response", tags: tt, fields: f, timeNanoseconds: t))
                    var e: [String: JSONValue] = [
                        "category": "service_status", "type": .string(up ? "up" : "down"), "healthy": .bool(up),
                        "service_name": .string(target), "url": .string(target), "response_time_loss": .double(up ? 0 : 100),
                        "uptime": .double(up ? 100 : 98), "created": .int(t / 1_000_000), "source": "clowder-agent",
                        "agent": .string(host), "host": .string(host), "region": .string(region)]
                    if up {
                        e["response_time_avg"] = f["response_time"]; e["response_time_min"] = f["response_time"]
                        e["response_time_max"] = f["response_time"]
                    }
                    events.append((ClowderEvent(e), "probe-\(host)-\(round)-\(target):0"))
                }
                let received = 5 - (next(20) == 0 ? 1 : 0)
                let avg = Double(20 + next(100)) / 10
                var pt = tags
                pt["url"] = "clowder.example.org"; pt["result"] = "success"
                points.append(Point(measurement: "ping", tags: pt, fields: [
                    "packets_transmitted": .int(5), "packets_received": .int(Int64(received)),
                    "percent_packet_loss": .double(Double(5 - received) * 20), "minimum_response_ms": .double(avg * 0.8),
                    "average_response_ms": .double(avg), "maximum_response_ms": .double(avg * 1.5),
                    "standard_deviation_ms": .double(avg * 0.1), "result_code": .int(0),
                ], timeNanoseconds: t))
            }
            for host in Self.site.hosts {
                let active = 5 + next(50)
                points.append(Point(measurement: "nginx", tags: ["agent": host, "host": host, "region": Self.site.region,
                                                                 "server": "127.0.0.1", "port": "8080"],
                                    fields: ["active": .int(active), "accepts": .int(1000 + round * 10), "handled": .int(1000 + round * 10),
                                             "requests": .int(5000 + round * 40), "reading": .int(1), "writing": .int(2),
                                             "waiting": .int(active - 3)],
                                    timeNanoseconds: t))
            }
        }
        // rabbitmq_queue, per minute: an extractor queue worked off by one consumer and its error queue
        // with none (deterministic from the minute, so the random sequence of the data above is unchanged).
        for minute in 0..<(Self.duration / 60) {
            let t = (Self.start + minute * 60 + 60) * ns
            for (queue, kind, consumers) in [("extractors.ncsa.image.preview", "extractor", Int64(1)), ("error.ncsa.image.preview", "error", Int64(0))] {
                let ready = consumers == 0 ? minute : (minute * 7) % 40
                points.append(Point(
                    measurement: "rabbitmq_queue",
                    tags: ["agent": "web-1", "host": "web-1", "region": Self.site.region, "queue": queue, "vhost": "/",
                           "kind": kind, "extractor": "ncsa.image.preview"],
                    fields: ["messages": .int(ready + consumers), "messages_ready": .int(ready), "messages_unacknowledged": .int(consumers),
                             "consumers": .int(consumers), "messages_publish_rate": .double(Double(minute % 5) / 10),
                             "messages_deliver_rate": .double(consumers == 0 ? 0 : Double(minute % 4) / 10),
                             "idle": .int(consumers == 0 && ready > 0 ? 1 : 0)],
                    timeNanoseconds: t))
            }
        }
        // Clowder events: views and downloads of a few resources.
        let resources = (0..<12).map { i in String(repeating: "0", count: 22) + String(format: "%02x", i) }
        for i in 0..<600 {
            let created = (Self.start + Int64(i) * 12) * 1000 + next(1000)
            let id = resources[Int(next(resources.count))]
            let download = i % 3 == 0
            let e: [String: JSONValue] = [
                "created": .int(created), "category": .string(download ? "download" : "view_resource"),
                "type": .string(i % 5 == 0 ? "dataset" : "file"), "resource_id": .string(id),
                "user_id": i % 4 == 0 ? .string("5f0c1e2d3c4b5a6978695a4b") : .null,
                "source": .string(i % 2 == 0 ? "nginx" : "clowder"),
                "url": .string("/files/\(id)" + (download ? "/blob" : "")),
                "size": download ? .int(1024 * (1 + next(1000))) : .null,
            ]
            events.append((ClowderEvent(e.filter { $0.value != .null }), "demo-\(i):0"))
        }
    }

    private mutating func agentPoint(_ totals: inout [String: [String: Int64]], agent: String, host: String, region: String,
                                     lines: Int64, t: Int64) {
        var c = totals[agent] ?? [:]
        c["lines_read", default: 0] += lines
        c["malformed_lines", default: 0] += next(3)
        c["batches_spooled", default: 0] += 6
        c["batches_sent", default: 0] += 6
        c["batches_retried", default: 0] += next(4) == 0 ? 1 : 0
        c["batches_dead_lettered", default: 0] += 0
        c["batches_dropped", default: 0] += 0
        totals[agent] = c
        var f = c.mapValues { JSONValue.int($0) }
        f["spool_bytes"] = .int(32_768 + next(65_536))
        f["spool_batches"] = .int(next(3))
        points.append(Point(measurement: "agent", tags: ["agent": agent, "host": host, "region": region, "version": "0.1.0"],
                            fields: f, timeNanoseconds: t))
    }

    /// The whole data set as line protocol, as the InfluxDB sink writes it.
    var lineProtocol: String {
        var out = ""
        for p in points {
            out += LineProtocol.line(measurement: p.measurement, tags: p.tags.sorted { $0.key < $1.key },
                                     fields: p.fields.sorted { $0.key < $1.key }, time: p.timeNanoseconds)
        }
        let tagKeys: Set<String> = ["category", "type", "user_id", "author_id", "extractor_name", "source"]
        for (e, messageID) in events {
            var tags: [(String, String)] = []
            var fields: [(String, JSONValue)] = [("message_id", .string(messageID))]
            for (k, v) in e.members.sorted(by: { $0.key < $1.key }) where k != "created" {
                if tagKeys.contains(k), let s = v.stringValue { tags.append((k, s)) } else { fields.append((k, v)) }
            }
            // The sink's time: created (ms) in ns plus an offset of 0…999 999 ns from the message id.
            let time = (e.created ?? 0) * 1_000_000 + Int64(LineProtocol.fnv1a(messageID) % 1_000_000)
            out += LineProtocol.line(measurement: "events", tags: tags, fields: fields, time: time)
        }
        return out
    }
}

/// InfluxDB line protocol, with the escaping rules the sink follows
/// (https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/#special-characters).
enum LineProtocol {
    static func escape(_ s: String, _ special: Set<Character>) -> String {
        var o = ""
        for c in s {
            if special.contains(c) { o.append("\\") }
            o.append(c)
        }
        return o
    }

    static func line(measurement: String, tags: [(String, String)], fields: [(String, JSONValue)], time: Int64) -> String {
        var s = escape(measurement, [",", " "])
        for (k, v) in tags where !v.isEmpty { s += "," + escape(k, [",", "=", " "]) + "=" + escape(v, [",", "=", " "]) }
        var fs: [String] = []
        for (k, v) in fields {
            let value: String
            switch v {
            case .int(let i): value = "\(i)i"
            case .double(let d): value = "\(d)"
            case .bool(let b): value = b ? "true" : "false"
            case .string(let str): value = "\"" + escape(str, ["\"", "\\"]) + "\""
            default: continue
            }
            fs.append(escape(k, [",", "=", " "]) + "=" + value)
        }
        return s + " " + fs.joined(separator: ",") + " \(time)\n"
    }

    /// FNV-1a, 64 bits, as the sink uses it for the events' time offset.
    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
        return h
    }
}
