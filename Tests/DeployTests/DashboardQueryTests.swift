import Foundation
import Testing

/// Every InfluxQL query of every dashboard in deploy/grafana/dashboards, with
/// Grafana's macros substituted as Grafana would, against a real InfluxDB 1.x
/// loaded with data shaped like the sinks write (``DemoData``).
@Suite("Grafana dashboards (InfluxQL against a real InfluxDB)", .serialized)
struct DashboardQueryTests {
    static let datasourceUID = "clowder-influxdb"

    /// Loads the demo data into a fresh database; the caller drops it.
    static func loadedDatabase(_ influx: InfluxDB) async throws -> String {
        let db = "deploy_dashboards_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        _ = try await influx.query("CREATE DATABASE \"\(db)\"", post: true)
        let lines = DemoData().lineProtocol.split(separator: "\n", omittingEmptySubsequences: true)
        var chunk: [Substring] = []
        for line in lines {
            chunk.append(line)
            if chunk.count == 5000 { try await influx.write(chunk.joined(separator: "\n"), database: db); chunk = [] }
        }
        if !chunk.isEmpty { try await influx.write(chunk.joined(separator: "\n"), database: db) }
        return db
    }

    static func requireInflux() async throws -> InfluxDB {
        let influx = InfluxDB()
        guard await influx.isUp() else {
            Issue.record("InfluxDB is not answering at \(influx.base)/ping: start it with scripts/start-servers.sh (or set CLOWDER_TEST_INFLUX_URL)")
            throw InfluxDB.Failure(description: "no InfluxDB")
        }
        return influx
    }

    @Test("the datasource is provisioned with the uid, type and database the dashboards use")
    func datasourceProvisioning() throws {
        let text = try Repo.text("deploy/grafana/provisioning/datasources/clowder-influxdb.yaml")
        #expect(text.contains("uid: \(Self.datasourceUID)"))
        #expect(text.contains("type: influxdb"))
        #expect(text.contains("version: InfluxQL"))
        #expect(text.contains("dbName: clowder"))
        let provider = try Repo.text("deploy/grafana/provisioning/dashboards/clowder-metrics.yaml")
        #expect(provider.contains("path: /var/lib/grafana/dashboards/clowder-metrics"))
    }

    @Test("every dashboard target is raw InfluxQL on the provisioned datasource")
    func targetsAreRawInfluxQL() throws {
        let boards = try Dashboard.all()
        #expect(boards.count >= 3)
        for b in boards {
            #expect(!b.targets.isEmpty, "\(b.file) has no queries")
            for t in b.targets {
                #expect(t.rawQuery, "\(b.file) / \(t.panel): the query must be raw InfluxQL")
                #expect(t.datasourceUID == Self.datasourceUID, "\(b.file) / \(t.panel): datasource uid")
                #expect(t.query.uppercased().hasPrefix("SELECT "), "\(b.file) / \(t.panel)")
                #expect(t.query.contains("$timeFilter"), "\(b.file) / \(t.panel): without $timeFilter the panel ignores the time range")
            }
        }
    }

    @Test("every template variable and every panel query returns the series its panel expects")
    func queriesReturnSeries() async throws {
        let influx = try await Self.requireInflux()
        let db = try await Self.loadedDatabase(influx)
        defer { Task { _ = try? await influx.query("DROP DATABASE \"\(db)\"", post: true) } }

        let from = DemoData.start * 1000, to = (DemoData.start + DemoData.duration) * 1000
        for board in try Dashboard.all() {
            // Three selections, with the variables evaluated in order as Grafana does (each query
            // sees the earlier selections): all "All"; the last value of each; the first two of each.
            // A variable with no values under the earlier selections stays at "All".
            var selections: [GrafanaMacros] = []
            for pick in [0, 1, 2] {
                var macros = GrafanaMacros(fromMilliseconds: from, toMilliseconds: to)
                for v in board.variables {
                    #expect(v.allValue == ".*", "\(board.file): $\(v.name) needs allValue .* so that points without the tag match All")
                    let q = macros.apply(v.query)
                    let series = try await influx.query(q, database: db)
                    // Grafana shows each value once (without FROM, InfluxDB answers one series per measurement).
                    let found = Array(Set(series.flatMap { $0.column("value") }.compactMap { $0 as? String })).sorted()
                    if pick == 0 { #expect(!found.isEmpty, "\(board.file): variable $\(v.name) has no values: \(q)") }
                    switch pick {
                    case 1 where !found.isEmpty: macros.variables[v.name] = [found.last!]
                    case 2 where !found.isEmpty: macros.variables[v.name] = Array(found.prefix(2))
                    default: macros.variables[v.name] = .some(nil)
                    }
                }
                selections.append(macros)
            }
            for selection in selections {
                for t in board.targets {
                    var m = selection
                    m.interval = t.interval ?? "1m"
                    let q = m.apply(t.query)
                    #expect(q.range(of: #"\$[A-Za-z_{]|\[\["#, options: .regularExpression) == nil, "\(board.file) / \(t.panel): unsubstituted macro in \(q)")
                    let series: [InfluxDB.Series]
                    do { series = try await influx.query(q, database: db) } catch {
                        Issue.record("\(board.file) / \(t.panel) (\(t.refID)): \(error)")
                        continue
                    }
                    #expect(!series.isEmpty, "\(board.file) / \(t.panel): no series for \(q)")
                    let shape = ExpectedShape(t.query)
                    for column in shape.columns {
                        let present = series.contains { s in s.column(column).contains { $0 != nil } }
                        #expect(present, "\(board.file) / \(t.panel): column \(column) missing or all null; got \(series.first?.columns ?? []) for \(q)")
                    }
                    for tag in shape.groupTags {
                        #expect(series.allSatisfy { $0.tags[tag] != nil }, "\(board.file) / \(t.panel): series not grouped by \(tag)")
                    }
                }
            }
        }
    }
}
