import Broker
import Foundation
import MetricsModel
import TestSupport
import Testing

@testable import Ingest

/// The status page (issue 13, item 4) in a real headless Chromium: the ingest's
/// own status feed reads rounds and verdicts injected on its exchange; the
/// rendered page's verdicts and uptime figures must equal what the test computes
/// from what it injected, a screenshot is taken, and Chromium's own network log
/// must show no request to any host but the ingest.
@Suite("Status page", .serialized, .ownThreads)
struct StatusPageTests {
    static let a = "https://clowder.example.org/healthz"
    static let b = "https://other.example.org/<b>&healthz"   // escaped on the page
    static let hour: Int64 = 3_600_000, day: Int64 = 86_400_000

    struct Injected { var target: String; var period: Int64; var verdict: String }

    static func verdictMessage(_ v: Injected, up: String = "", down: String = "", silent: String = "", net: String = "") -> OutgoingMessage {
        let p = Point(measurement: "service_verdict", tags: ["service_name": v.target, "verdict": v.verdict],
                      fields: ["up_regions": .string(up), "down_regions": .string(down), "silent_regions": .string(silent),
                               "network_down_regions": .string(net), "down": .int(v.verdict == "down" ? 1 : 0)],
                      timeNanoseconds: v.period * 1_000_000)
        return OutgoingMessage(body: MetricsMessage.json(for: p, agentID: "clowder-verdicts").jsonBytes,
                               messageID: "service_verdict:\(v.period):\(v.target)")
    }

    static func round(_ target: String, _ region: String, _ type: String, created: Int64, rt: Double?) -> OutgoingMessage {
        var m: [String: JSONValue] = ["category": "service_status", "type": .string(type), "service_name": .string(target),
                                      "url": .string(target), "region": .string(region), "agent": .string("probe-\(region)"),
                                      "created": .int(created), "source": "clowder-agent"]
        if let rt { m["response_time_avg"] = .double(rt) }
        return OutgoingMessage(body: ClowderEvent(m).json.jsonBytes)
    }

    /// Percent of up-or-degraded among up/degraded/down periods in [from, to).
    static func uptime(_ vs: [Injected], _ target: String, from: Int64, to: Int64) -> Double {
        let w = vs.filter { $0.target == target && $0.period >= from && $0.period < to && $0.verdict != "unknown" }
        return Double(w.filter { $0.verdict != "down" }.count) / Double(w.count) * 100
    }

    static func chromium(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                       "--disable-component-update", "--disable-sync", "--disable-default-apps",
                       // Chromium's own background requests (updates, accounts) resolve nowhere: nothing leaves this machine.
                       "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--user-data-dir=" +
                       FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)").path] + args
        let dir = FileManager.default.temporaryDirectory
        let o = dir.appendingPathComponent("chr-\(UUID().uuidString)"), e = dir.appendingPathComponent("chr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: o.path, contents: nil)
        FileManager.default.createFile(atPath: e.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: o); try? FileManager.default.removeItem(at: e) }
        p.standardOutput = try FileHandle(forWritingTo: o)
        p.standardError = try FileHandle(forWritingTo: e)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: o, encoding: .utf8)) ?? "", (try? String(contentsOf: e, encoding: .utf8)) ?? "")
    }

    /// The text of the first element after `marker` in `html`, up to the next `<`.
    static func text(after marker: String, in html: Substring) -> String? {
        guard let r = html.range(of: marker), let gt = html[r.upperBound...].firstIndex(of: ">") else { return nil }
        let rest = html[html.index(after: gt)...]
        return String(rest.prefix { $0 != "<" })
    }

    @Test("rendered in headless Chromium: verdicts and uptime figures as injected; screenshot; nothing from another host")
    func page() async throws {
        let h = try await IngestHarness()
        let publisher = BrokerPublisher(url: try TestBroker.url, exchange: ExchangeDeclaration(name: h.exchange))
        publisher.start()
        let now = Int64(Date().timeIntervalSince1970 * 1000)

        // The feed's queue exists once a first round shows on the page.
        let appeared = try await { () async throws -> Bool in
            for _ in 0..<200 {
                try? await publisher.publish([Self.round(Self.a, "eu-west", "up", created: now - 20_000, rt: 0.2)])
                if let j = try await h.send(.get, "/status.json").json, j["targets"]?.arrayValue?.isEmpty == false { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return false
        }()
        try #require(appeared, "the status feed never showed a round")

        // Verdicts: 6 per hour over the last 24 hours, 4 per day over 30 days (before today), a mix of up,
        // degraded and down; then the latest periods. Published twice, as two verdict replicas would.
        var vs: [Injected] = []
        let hourStart = now / Self.hour * Self.hour - 23 * Self.hour
        for hIdx in 0..<24 {
            for k in 0..<6 {
                let period = hourStart + Int64(hIdx) * Self.hour + Int64(k) * 600_000 + 60_000
                guard period < now - 180_000 else { continue }
                let n = hIdx * 6 + k
                vs.append(Injected(target: Self.a, period: period, verdict: n % 7 == 0 ? "down" : (n % 11 == 0 ? "degraded" : "up")))
            }
        }
        let dayStart = now / Self.day * Self.day - 29 * Self.day
        for d in 0..<29 {
            for k in 0..<4 {
                vs.append(Injected(target: Self.a, period: dayStart + Int64(d) * Self.day + Int64(k) * 6 * Self.hour + 120_000,
                                   verdict: (d + k) % 5 == 0 ? "down" : "up"))
            }
        }
        vs.append(Injected(target: Self.a, period: now / 60_000 * 60_000 - 120_000, verdict: "unknown"))
        let latestA = Injected(target: Self.a, period: now / 60_000 * 60_000 - 60_000, verdict: "degraded")
        let latestB = Injected(target: Self.b, period: now / 60_000 * 60_000 - 60_000, verdict: "down")
        var messages = vs.map { Self.verdictMessage($0) }
        messages.append(Self.verdictMessage(latestA, up: "eu-west,us-east", down: "ap-south", silent: "sa-east"))
        messages.append(Self.verdictMessage(latestB, down: "eu-west,us-east"))
        messages += [
            Self.round(Self.a, "eu-west", "up", created: now - 5_000, rt: 0.1234),
            Self.round(Self.a, "us-east", "up", created: now - 6_000, rt: 0.0456),
            Self.round(Self.a, "ap-south", "down", created: now - 7_000, rt: nil),
            Self.round(Self.a, "eu-west", "down", created: now - 60_000, rt: nil),   // older: must not replace
            Self.round(Self.b, "eu-west", "down", created: now - 8_000, rt: nil),
            Self.round(Self.b, "us-east", "down", created: now - 8_000, rt: nil),
        ]
        try await publisher.publish(messages)
        try await publisher.publish(messages.filter { $0.messageID != nil })   // the second verdict replica
        vs += [latestA, latestB]

        let expected24 = Self.uptime(vs, Self.a, from: hourStart, to: now / Self.hour * Self.hour + Self.hour)
        let expected30 = Self.uptime(vs, Self.a, from: dayStart, to: now / Self.day * Self.day + Self.day)
        let countA = vs.filter { $0.target == Self.a && $0.period >= dayStart && $0.verdict != "unknown" }.count

        // Wait for the feed to have written everything (the JSON's 30-day bars count every judged period).
        var json: JSONValue?
        for _ in 0..<300 {
            json = try await h.send(.get, "/status.json").json
            let t = json?["targets"]?.arrayValue?.first { $0["service_name"]?.stringValue == Self.a }
            let days = t?["days"]?.arrayValue ?? []
            let judged = days.reduce(Int64(0)) { $0 + ($1["up"]?.intValue ?? 0) + ($1["down"]?.intValue ?? 0) }
            if judged == Int64(countA), t?["verdict"]?.stringValue == "degraded",
               json?["targets"]?.arrayValue?.count == 2 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let targets = try #require(json?["targets"]?.arrayValue)
        let ta = try #require(targets.first { $0["service_name"]?.stringValue == Self.a })
        let tb = try #require(targets.first { $0["service_name"]?.stringValue == Self.b })
        #expect(ta["verdict"] == "degraded" && tb["verdict"] == "down")
        #expect(abs((ta["uptime_24h"]?.doubleValue ?? -1) - expected24) < 1e-9, "24 h: \(String(describing: ta["uptime_24h"])) vs \(expected24)")
        #expect(abs((ta["uptime_30d"]?.doubleValue ?? -1) - expected30) < 1e-9, "30 d: \(String(describing: ta["uptime_30d"])) vs \(expected30)")
        #expect(ta["hours"]?.arrayValue?.count == 24 && ta["days"]?.arrayValue?.count == 30)
        let regions = try #require(ta["regions"]?.arrayValue)
        let eu = try #require(regions.first { $0["region"] == "eu-west" })
        #expect(eu["state"] == "up" && eu["last_round_ms"] == .int(now - 5_000) && eu["response_time"] == .double(0.1234))
        #expect(regions.first { $0["region"] == "sa-east" }?["state"] == "agent_silent")

        // The response itself: CSP, and only same-origin references.
        let reply = try await h.send(.get, "/status")
        #expect(reply.status == 200 && reply.headers[.contentSecurityPolicy] == "default-src 'self'")
        for attr in ["src=", "href="] {
            var rest = Substring(reply.text)
            while let r = rest.range(of: attr) {
                let value = rest[r.upperBound...].dropFirst().prefix { $0 != "\"" }
                #expect(value.hasPrefix("/") && !value.hasPrefix("//"), "\(attr)\(value) is not a same-origin path")
                rest = rest[r.upperBound...]
            }
        }

        // Headless Chromium: the DOM as rendered, with the network log of everything it fetched.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("status-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let netlog = dir.appendingPathComponent("net.json").path
        let dom = try Self.chromium(["--log-net-log=\(netlog)", "--dump-dom", h.baseURL + "/status"])
        try #require(dom.status == 0, "chromium --dump-dom: \(dom.err.suffix(500))")
        let html = Substring(dom.out)
        let sectionA = try #require(html.range(of: "data-target=\"\(Self.a)\"").map { html[$0.lowerBound...] })
        let sectionB = try #require(html.range(of: "data-target=\"https://other.example.org/").map { html[$0.lowerBound...] })
        #expect(sectionB.contains("https://other.example.org/&lt;b&gt;&amp;healthz"), "names from agents are escaped")
        #expect(Self.text(after: "data-verdict=", in: sectionA) == "degraded")
        #expect(Self.text(after: "data-verdict=", in: sectionB) == "down")
        #expect(Self.text(after: "data-uptime=\"24h\"", in: sectionA) == String(format: "%.2f %%", expected24))
        #expect(Self.text(after: "data-uptime=\"30d\"", in: sectionA) == String(format: "%.2f %%", expected30))
        let euRow = try #require(sectionA.range(of: "data-region=\"eu-west\"").map { sectionA[$0.lowerBound...] })
        #expect(Self.text(after: "<td class=\"rt\"", in: euRow) == "123.4 ms")
        #expect(Self.text(after: "class=\"state state-", in: euRow) == "up")

        // Every request the page made (Chromium's NetLog: URL_REQUEST_START_JOB events whose network
        // isolation key is the page's site; Chromium's own background requests carry other keys) is on the
        // ingest's own origin.
        let log = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: netlog))) as? [String: Any])
        let types = ((log["constants"] as? [String: Any])?["logEventTypes"] as? [String: Int]) ?? [:]
        let start = try #require(types["URL_REQUEST_START_JOB"])
        var pageRequests: [String] = [], otherRequests: [String] = []
        for e in log["events"] as? [[String: Any]] ?? [] where e["type"] as? Int == start {
            let params = e["params"] as? [String: Any] ?? [:]
            guard let url = params["url"] as? String else { continue }
            let nik = params["network_isolation_key"] as? String ?? ""
            if nik.hasPrefix("http://127.0.0.1 ") { pageRequests.append(url) } else { otherRequests.append(url) }
        }
        #expect(pageRequests.contains(h.baseURL + "/status") && pageRequests.contains(h.baseURL + "/status.css"), "\(pageRequests)")
        #expect(pageRequests.allSatisfy { $0.hasPrefix(h.baseURL + "/") }, "the page requested other hosts: \(pageRequests)")
        #expect(otherRequests.allSatisfy { !$0.hasPrefix(h.baseURL) }, "page requests under another isolation key: \(otherRequests)")

        // A screenshot of the rendered page.
        let shots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let png = shots.appendingPathComponent("status-page.png")
        try? FileManager.default.removeItem(at: png)
        let shot = try Self.chromium(["--screenshot=\(png.path)", "--window-size=1280,900", h.baseURL + "/status"])
        #expect(shot.status == 0, "chromium --screenshot: \(shot.err.suffix(500))")
        let bytes = try [UInt8](Data(contentsOf: png))
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && bytes.count > 10_000, "a PNG of the page (\(bytes.count) bytes)")

        await publisher.shutdown()
        await h.stop()
    }
}
