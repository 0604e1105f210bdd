import Foundation
import MetricsModel
import Storage
import Testing

@testable import Sinks

/// PostgreSQL from `.ci/run` (CLOWDER_TEST_POSTGRES_URL, each test with its own table prefix) and SQLite in a temp dir.
@Suite struct SQLDestinationTests {
    func messages(_ w: Workload) -> [SinkMessage] {
        w.points.map { SinkMessage(messageID: $0.id, decoded: .point($0.point)) }
            + w.events.map { SinkMessage(messageID: $0.id, decoded: .event($0.event)) }
    }

    @Test func postgresTotalsAndRedelivery() async throws {
        let prefix = TestServers.unique("pg") + "_"
        let d = try PostgresDestination(url: TestServers.postgresURL, tablePrefix: prefix, logger: TestServers.logger)
        try await d.start()
        defer { Task { try? await d.dropTables(); await d.shutdown() } }
        let w = Workload(batch: "b1", pointCount: 500, eventCount: 300)
        let all = messages(w)
        try await d.write(all)
        try await d.write(all)  // every message twice: no change
        try await d.write(Array(all.prefix(10)) + Array(all.prefix(10)))  // twice in one batch
        #expect(try await d.scalar("SELECT count(*) FROM \(prefix)points") == 500)
        #expect(try await d.scalar("SELECT sum((fields->>'requests')::bigint)::bigint FROM \(prefix)points WHERE measurement = 'nginx_access'") == w.totalRequests)
        #expect(try await d.scalar("SELECT count(*) FROM \(prefix)events WHERE category = 'download'") == 100)
        #expect(try await d.scalar("SELECT count(*) FROM \(prefix)events") == 300)
        // Columns and the whole event: sizes are i × 10 for i in 0..<300 → 10 × 299 × 300 / 2.
        #expect(try await d.scalar("SELECT sum(size)::bigint FROM \(prefix)events") == 10 * 299 * 300 / 2)
        #expect(try await d.scalar("SELECT sum((event->>'size')::bigint)::bigint FROM \(prefix)events") == 10 * 299 * 300 / 2)
        #expect(try await d.scalar("SELECT count(*) FROM \(prefix)events WHERE type = 'file' AND user_id = '5f0c1a2b3c4d5e6f7a8b9c0d'") == 300)
        // Times: the first point at 2026-11-29T12:00:00Z.
        #expect(try await d.scalar("SELECT min(extract(epoch FROM time))::bigint FROM \(prefix)points") == 1_795_953_600)
        // Integer and double fields keep their JSON types.
        #expect(try await d.scalar("SELECT count(*) FROM \(prefix)points WHERE jsonb_typeof(fields->'request_time_p50') = 'number' AND fields->>'request_time_p50' = '0.25'") == 500)
    }

    @Test func postgresRefusesNulPermanently() async throws {
        let prefix = TestServers.unique("pg") + "_"
        let d = try PostgresDestination(url: TestServers.postgresURL, tablePrefix: prefix, logger: TestServers.logger)
        try await d.start()
        defer { Task { try? await d.dropTables(); await d.shutdown() } }
        let bad = ClowderEvent(["category": "download", "created": 1, "resource_name": "a\u{0}b"])
        await #expect {
            try await d.write([SinkMessage(messageID: "nul", decoded: .event(bad))])
        } throws: { e in
            (e as? SinkError)?.code == .permanent && "\(e)".contains("22")
        }
    }

    @Test func postgresUnreachableIsRetryable() async throws {
        let d = try PostgresDestination(
            url: "postgres://postgres@127.0.0.1:\(TestServers.freePort())/x", timeout: 2, logger: TestServers.logger)
        await #expect {
            try await d.start()
        } throws: { e in
            (e as? SinkError)?.code == .retryable
        }
        await d.shutdown()
    }

    @Test func sqliteTotalsAndRedelivery() async throws {
        let dir = try TestServers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("sink.db").path
        let d = try SQLiteDestination(path: path, tablePrefix: "c_")
        try await d.start()
        let w = Workload(batch: "b1", pointCount: 500, eventCount: 300)
        let all = messages(w)
        try await d.write(all)
        try await d.write(all)
        await d.shutdown()

        let db = try SQLiteDatabase(path: path)
        func scalar(_ sql: String) throws -> Int64? { try db.query(sql).first?.first?.integer }
        #expect(try scalar("SELECT count(*) FROM c_points") == 500)
        #expect(try scalar("SELECT sum(json_extract(fields, '$.requests')) FROM c_points WHERE measurement = 'nginx_access'") == w.totalRequests)
        #expect(try scalar("SELECT count(*) FROM c_events WHERE category = 'download'") == 100)
        #expect(try scalar("SELECT count(*) FROM c_events") == 300)
        #expect(try scalar("SELECT sum(size) FROM c_events") == 10 * 299 * 300 / 2)
        #expect(try db.query("SELECT time FROM c_points ORDER BY time_ns LIMIT 1").first?.first?.text == "2026-11-29T12:00:00.000Z")
        #expect(try db.query("SELECT created FROM c_events ORDER BY created_ms LIMIT 1").first?.first?.text == "2026-11-29T12:00:00.000Z")
    }
}
