import Foundation
import Testing

/// The Grafana alert rules in deploy/grafana/provisioning/alerting: each rule's
/// InfluxQL query (A) runs against a real InfluxDB 1.x, with `$timeFilter` as
/// Grafana substitutes it for the rule's relative time range; its reduce (B) and
/// math condition (C) are then applied per series as Grafana's expressions do.
/// The data has, per rule, one series that must fire (tag value `fire`) and
/// one that must stay quiet (`quiet`), each worked out by hand below.
@Suite("Grafana alert rules (InfluxQL against a real InfluxDB)", .serialized)
struct AlertRuleTests {
    static let file = "deploy/grafana/provisioning/alerting/clowder-alerts.json"
    /// Stands for Grafana's environment in the p95 rule.
    static let p95Seconds = "1.0"

    struct Rule {
        var uid: String, query: String, range: Int, reducer: String, condition: String, pending: String
    }

    static func rules() throws -> [Rule] {
        let text = try Repo.text(file).replacingOccurrences(of: "${CLOWDER_ALERT_P95_SECONDS}", with: p95Seconds)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(doc["apiVersion"] as? Int == 1)
        let groups = try #require(doc["groups"] as? [[String: Any]])
        var out: [Rule] = []
        for g in groups {
            for r in g["rules"] as? [[String: Any]] ?? [] {
                let data = r["data"] as? [[String: Any]] ?? []
                func model(_ id: String) -> [String: Any] {
                    (data.first { $0["refId"] as? String == id }?["model"] as? [String: Any]) ?? [:]
                }
                let a = data.first { $0["refId"] as? String == "A" }
                #expect(a?["datasourceUid"] as? String == DashboardQueryTests.datasourceUID, "\(r["uid"] ?? "?"): datasource")
                #expect(r["condition"] as? String == "C")
                out.append(Rule(
                    uid: r["uid"] as? String ?? "", query: model("A")["query"] as? String ?? "",
                    range: (a?["relativeTimeRange"] as? [String: Any])?["from"] as? Int ?? 0,
                    reducer: model("B")["reducer"] as? String ?? "", condition: model("C")["expression"] as? String ?? "",
                    pending: r["for"] as? String ?? ""))
            }
        }
        return out
    }

    /// Line protocol for every rule's fire and quiet series, `now` in epoch seconds.
    static func data(now: Int64) -> String {
        func t(_ agoSeconds: Int64) -> String { String((now - agoSeconds) * 1_000_000_000) }
        var l: [String] = []
        // target-down: fire's last verdict is down; quiet was down, but its last verdict is up.
        l += ["service_verdict,service_name=fire,verdict=up down=0i,regions_silent=0i \(t(250))",
              "service_verdict,service_name=fire,verdict=down down=1i,regions_silent=0i \(t(130))",
              "service_verdict,service_name=fire,verdict=down down=1i,regions_silent=0i \(t(70))",
              "service_verdict,service_name=quiet,verdict=down down=1i,regions_silent=0i \(t(130))",
              "service_verdict,service_name=quiet,verdict=up down=0i,regions_silent=0i \(t(70))"]
        // agent-silent (same measurement, its own targets): fire's last verdict has a silent region, quiet's not.
        l += ["service_verdict,service_name=silent-fire,verdict=up down=0i,regions_silent=1i \(t(70))",
              "service_verdict,service_name=silent-quiet,verdict=up down=0i,regions_silent=1i \(t(190))",
              "service_verdict,service_name=silent-quiet,verdict=up down=0i,regions_silent=0i \(t(70))"]
        // p95: 20 successful rounds each; fire has 2 of 3.0 s (nearest-rank p95 = the 19th of 20 = 3.0 > 1.0),
        // quiet 20 of 0.2 s plus timeouts of 10 s, which the rule leaves out (result != success).
        for i in 0..<20 {
            let slow = i >= 18 ? 3.0 : 0.2
            l.append("http_response,server=fire,region=eu,result=success response_time=\(slow),tls_cert_expiry=864000 \(t(Int64(30 + i * 20)))")
            l.append("http_response,server=quiet,region=eu,result=success response_time=0.2,tls_cert_expiry=2592000 \(t(Int64(30 + i * 20)))")
        }
        l += ["http_response,server=quiet,region=eu,result=timeout response_time=10 \(t(25))",
              "http_response,server=quiet,region=eu,result=timeout response_time=10 \(t(26))"]
        // spool: fire's counter grows 0 → 3 → 5 within 15 minutes; quiet's stays at 5 from earlier drops, and a
        // restart takes it back to 0 (a negative step, not a drop).
        l += ["agent,agent=fire batches_dropped=0i \(t(400))", "agent,agent=fire batches_dropped=3i \(t(300))",
              "agent,agent=fire batches_dropped=5i \(t(200))",
              "agent,agent=quiet batches_dropped=5i \(t(400))", "agent,agent=quiet batches_dropped=5i \(t(300))",
              "agent,agent=quiet batches_dropped=0i \(t(200))", "agent,agent=quiet batches_dropped=0i \(t(100))"]
        // malformed: fire 3 of 203 lines (1.48 %), quiet 1 of 201 (0.50 %).
        l += ["nginx_access,host=fire requests=100i,malformed_lines=3i \(t(300))",
              "nginx_access,host=fire requests=100i,malformed_lines=0i \(t(200))",
              "nginx_access,host=quiet requests=100i,malformed_lines=1i \(t(300))",
              "nginx_access,host=quiet requests=100i,malformed_lines=0i \(t(200))"]
        return l.joined(separator: "\n")
    }

    /// The tag that tells fire from quiet in each rule's series.
    static let key: [String: String] = [
        "clowder-target-down": "service_name", "clowder-agent-silent": "service_name", "clowder-p95-slow": "server",
        "clowder-tls-expiry": "server", "clowder-spool-dropping": "agent", "clowder-malformed-lines": "host",
    ]

    /// Grafana's reduce (mode dropNN: non-numbers dropped).
    static func reduce(_ values: [Double], _ reducer: String) throws -> Double? {
        guard !values.isEmpty else { return nil }
        switch reducer {
        case "last": return values.last
        case "sum": return values.reduce(0, +)
        case "max": return values.max()
        case "mean": return values.reduce(0, +) / Double(values.count)
        default: throw InfluxDB.Failure(description: "reducer \(reducer) not handled by this test")
        }
    }

    /// `$B > N` or `$B < N`.
    static func holds(_ condition: String, _ b: Double) throws -> Bool {
        let parts = condition.split(separator: " ")
        guard parts.count == 3, parts[0] == "$B", let n = Double(parts[2]) else {
            throw InfluxDB.Failure(description: "condition \(condition) not of the form $B > N")
        }
        switch parts[1] {
        case ">": return b > n
        case "<": return b < n
        default: throw InfluxDB.Failure(description: "operator \(parts[1])")
        }
    }

    @Test("the six rules of the issue are provisioned, each with its pending period")
    func provisioned() throws {
        let rules = try Self.rules()
        #expect(Set(rules.map(\.uid)) == Set(Self.key.keys))
        let pending = Dictionary(uniqueKeysWithValues: rules.map { ($0.uid, $0.pending) })
        #expect(pending["clowder-target-down"] == "2m" && pending["clowder-agent-silent"] == "5m")
        for r in rules { #expect(r.query.contains("$timeFilter") && r.range > 0, "\(r.uid)") }
    }

    @Test("every rule fires on the data made for it and stays quiet on the other")
    func firesAndStaysQuiet() async throws {
        let influx = try await DashboardQueryTests.requireInflux()
        let db = "deploy_alerts_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        _ = try await influx.query("CREATE DATABASE \"\(db)\"", post: true)
        defer { Task { _ = try? await influx.query("DROP DATABASE \"\(db)\"", post: true) } }
        let now = Int64(Date().timeIntervalSince1970)
        try await influx.write(Self.data(now: now), database: db)
        for rule in try Self.rules() {
            // Grafana's $timeFilter for a relative range [now - from, now].
            let filter = "time >= \((now - Int64(rule.range)) * 1000)ms and time <= \(now * 1000)ms"
            let q = rule.query.replacingOccurrences(of: "$timeFilter", with: filter)
            let series = try await influx.query(q, database: db)
            let key = try #require(Self.key[rule.uid])
            var firing: Set<String> = [], seen: Set<String> = []
            for s in series {
                let label = s.tags[key] ?? "?"
                let column = s.columns.first { $0 != "time" } ?? ""
                let values = s.column(column).compactMap { ($0 as? NSNumber)?.doubleValue }
                guard let b = try Self.reduce(values, rule.reducer) else { continue }
                seen.insert(label)
                if try Self.holds(rule.condition, b) { firing.insert(label) }
            }
            let own: Set<String> = rule.uid == "clowder-agent-silent" ? ["silent-fire", "silent-quiet"]
                : (rule.uid == "clowder-target-down" ? ["fire", "quiet"] : ["fire", "quiet"])
            #expect(seen.isSuperset(of: own), "\(rule.uid): series \(seen) for \(q)")
            let expected: Set<String> = rule.uid == "clowder-agent-silent" ? ["silent-fire"] : ["fire"]
            #expect(firing.intersection(own) == expected, "\(rule.uid): firing \(firing) for \(q)")
        }
    }
}
