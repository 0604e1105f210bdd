import Foundation
import Testing

/// deploy/grafana/provisioning/alerting: the "extractor queue growing with no consumer" rule's
/// InfluxQL queries, run as Grafana runs them (its 15-minute relative range as $timeFilter)
/// against a real InfluxDB loaded with ``DemoData``, whose error queue grows one message a minute
/// with no consumer and whose extractor queue has one consumer.
@Suite("Grafana extractor-queue alert rule (InfluxQL against a real InfluxDB)", .serialized)
struct ExtractorAlertRuleTests {
    /// The `query: '…'` strings of the rule file, by refId (A, B), in order.
    static func queries() throws -> [String] {
        let text = try Repo.text("deploy/grafana/provisioning/alerting/clowder-extractors.yaml")
        return text.split(separator: "\n").compactMap { line in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("query: '"), t.hasSuffix("'") else { return nil }
            return String(t.dropFirst("query: '".count).dropLast())
        }
    }

    @Test("growth over 15 minutes and the consumers: the error queue fires, the extractor queue does not")
    func queueGrowingWithoutConsumer() async throws {
        let qs = try Self.queries()
        #expect(qs.count == 2)
        let text = try Repo.text("deploy/grafana/provisioning/alerting/clowder-extractors.yaml")
        #expect(text.contains(#"expression: "$RA > 0 && $RB == 0""#))
        #expect(text.contains("relativeTimeRange: { from: 900, to: 0 }"))
        let influx = try await DashboardQueryTests.requireInflux()
        let db = try await DashboardQueryTests.loadedDatabase(influx)
        defer { Task { _ = try? await influx.query("DROP DATABASE \"\(db)\"", post: true) } }
        // The last 15 minutes of the demo data, as Grafana's relative range would give them.
        let to = (DemoData.start + DemoData.duration) * 1000
        let macros = GrafanaMacros(fromMilliseconds: to - 900_000, toMilliseconds: to)
        let growth = try await influx.query(macros.apply(qs[0]), database: db)
        let consumers = try await influx.query(macros.apply(qs[1]), database: db)
        func value(_ series: [InfluxDB.Series], _ queue: String, _ column: String) -> Double? {
            guard let s = series.first(where: { $0.tags["queue"] == queue }), let v = s.column(column).first ?? nil else { return nil }
            return (v as? NSNumber)?.doubleValue
        }
        let error = "error.ncsa.image.preview", extractor = "extractors.ncsa.image.preview"
        // DemoData: the error queue holds `minute` messages at each minute, so 15 minutes add 14 or 15.
        let g = try #require(value(growth, error, "growth"))
        #expect(g >= 14 && g <= 15, "growth \(g)")
        #expect(value(consumers, error, "consumers") == 0)
        #expect(value(consumers, extractor, "consumers") == 1)
    }
}
