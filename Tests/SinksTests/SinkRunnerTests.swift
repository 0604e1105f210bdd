import Broker
import Foundation
import MetricsModel
import Storage
import TestSupport
import Testing

@testable import Sinks

/// The consumer against real RabbitMQ, InfluxDB and PostgreSQL from `.ci/run`; every test uses its own exchange,
/// queues, database and tables.
@Suite(.serialized, .ownThreads) struct SinkRunnerTests {
    /// Runs the runners until `body` returns, then stops them gracefully.
    func running<T>(_ runners: [SinkRunner], _ body: () async throws -> T) async throws -> T {
        let tasks = runners.map { r in Task { try await r.run() } }
        do {
            let result = try await body()
            for r in runners { r.stop() }
            for t in tasks { try await t.value }
            return result
        } catch {
            for r in runners { r.stop() }
            for t in tasks { _ = try? await t.value }
            throw error
        }
    }

    @Test func threeSinksEachReceiveEveryMessage() async throws {
        let exchange = TestServers.unique("x")
        let dir = try TestServers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = TestServers.unique("influx")
        let prefix = TestServers.unique("pg") + "_"
        let sqlitePath = dir.appendingPathComponent("sink.db").path
        let settings = TestServers.settings(exchange: exchange)
        let influx = try SinkRunner(
            settings: settings,
            definition: TestServers.sink("influx", exchange: exchange, .influx(InfluxConfiguration(url: TestServers.influxURL, database: db))),
            logger: TestServers.logger)
        let postgres = try SinkRunner(
            settings: settings,
            definition: TestServers.sink("postgres", exchange: exchange, .postgres(url: TestServers.postgresURL, tablePrefix: prefix, maximumConnections: 2)),
            logger: TestServers.logger)
        let sqlite = try SinkRunner(
            settings: settings, definition: TestServers.sink("sqlite", exchange: exchange, .sqlite(path: sqlitePath, tablePrefix: "")),
            logger: TestServers.logger)
        let w = Workload(batch: UUID().uuidString, pointCount: 7_000, eventCount: 3_000)
        let pg = try PostgresDestination(url: TestServers.postgresURL, tablePrefix: prefix, logger: TestServers.logger)
        defer { Task { await TestServers.dropInfluxDatabase(db); try? await pg.dropTables(); await pg.shutdown() } }

        try await running([influx, postgres, sqlite]) {
            // The queues exist once the consumers are connected: only then does the fanout copy messages to them.
            #expect(await influx.consumer.waitUntilConnected(timeout: 30))
            #expect(await postgres.consumer.waitUntilConnected(timeout: 30))
            #expect(await sqlite.consumer.waitUntilConnected(timeout: 30))
            try await TestServers.publish(w.messages, exchange: exchange)
            let done = await TestServers.eventually(timeout: 120) {
                [influx, postgres, sqlite].allSatisfy { $0.stats.written == 10_000 }
            }
            #expect(done, "written: influx \(influx.stats.written), postgres \(postgres.stats.written), sqlite \(sqlite.stats.written)")
        }
        // Each store holds all 10,000.
        let points = try await TestServers.influxColumns(db: db, "SELECT count(requests) FROM nginx_access")
        let events = try await TestServers.influxColumns(db: db, "SELECT count(message_id) FROM events")
        #expect(points["count"]?.intValue == 7_000)
        #expect(events["count"]?.intValue == 3_000)
        try await pg.start()
        #expect(try await pg.scalar("SELECT (SELECT count(*) FROM \(prefix)points) + (SELECT count(*) FROM \(prefix)events)") == 10_000)
        let lite = try SQLiteDatabase(path: sqlitePath)
        #expect(try lite.query("SELECT (SELECT count(*) FROM points) + (SELECT count(*) FROM events)").first?.first?.integer == 10_000)
        #expect([influx, postgres, sqlite].allSatisfy { $0.stats.deadLettered == 0 })
    }

    @Test func influxTotalsFromPublishedBatchesAndEvents() async throws {
        let exchange = TestServers.unique("x")
        let db = TestServers.unique("influx")
        defer { Task { await TestServers.dropInfluxDatabase(db) } }
        let settings = TestServers.settings(exchange: exchange)
        let runner = try SinkRunner(
            settings: settings,
            definition: TestServers.sink("influx", exchange: exchange, .influx(InfluxConfiguration(url: TestServers.influxURL, database: db))),
            logger: TestServers.logger)
        let w = Workload(batch: UUID().uuidString, pointCount: 1_300, eventCount: 600)
        try await running([runner]) {
            #expect(await runner.consumer.waitUntilConnected(timeout: 30))
            // Every message twice: InfluxDB overwrites the same series and time.
            try await TestServers.publish(w.messages + w.messages, exchange: exchange)
            #expect(await TestServers.eventually(timeout: 60) { runner.stats.written == 2 * 1_900 })
        }
        let sum = try await TestServers.influxColumns(db: db, "SELECT sum(requests) FROM nginx_access WHERE time >= '2026-11-29T12:00:00Z'")
        // By hand: 1300 = 100 × 13, so 100 cycles of 1…13 (91 each).
        #expect(sum["sum"]?.intValue == 9_100)
        let downloads = try await TestServers.influxColumns(db: db, "SELECT count(*) FROM events WHERE category='download'")
        // 600 events cycling three categories: 200 downloads; twelve share each millisecond and keep apart.
        #expect(downloads["count_message_id"]?.intValue == 200)
        #expect(downloads["count_resource_id"]?.intValue == 200)
    }

    @Test func poisonMessagesGoToTheDeadLetterQueueWithTheirReason() async throws {
        let exchange = TestServers.unique("x")
        let db = TestServers.unique("influx")
        defer { Task { await TestServers.dropInfluxDatabase(db) } }
        let settings = TestServers.settings(exchange: exchange)
        let runner = try SinkRunner(
            settings: settings,
            definition: TestServers.sink("influx", exchange: exchange, batchSize: 50, maxDelay: 0.5, .influx(InfluxConfiguration(url: TestServers.influxURL, database: db))),
            logger: TestServers.logger)
        let t: Int64 = Workload.baseMilliseconds * 1_000_000
        func point(_ id: String, _ v: JSONValue, _ i: Int64) -> OutgoingMessage {
            OutgoingMessage(body: MetricsMessage.json(for: Point(measurement: "m", tags: ["k": "a"], fields: ["v": v], timeNanoseconds: t + i), agentID: "web-1").jsonBytes, messageID: id)
        }
        var messages = (0..<20).map { point("good:\($0)", .int(Int64($0)), Int64($0)) }
        messages.append(OutgoingMessage(body: Array(#"{"category": "download", "created": "#.utf8), messageID: "poison:json"))
        messages.append(OutgoingMessage(body: Array(#"{"type": "file", "created": 1}"#.utf8), messageID: "poison:shape"))
        messages.append(point("poison:type", "a string where an integer was", 100))  // InfluxDB: 400 field type conflict
        messages += (20..<40).map { point("good:\($0)", .int(Int64($0)), Int64($0)) }
        try await running([runner]) {
            #expect(await runner.consumer.waitUntilConnected(timeout: 30))
            // The first good point fixes the field type before the batch that holds the poison.
            try await TestServers.publish([messages[0]], exchange: exchange)
            #expect(await TestServers.eventually(timeout: 30) { runner.stats.written == 1 })
            try await TestServers.publish(Array(messages.dropFirst()), exchange: exchange)
            #expect(await TestServers.eventually(timeout: 60) { runner.stats.written + runner.stats.deadLettered == 43 })
        }
        #expect(runner.stats.deadLettered == 3)
        // Every good point behind the poison is written.
        let count = try await TestServers.influxColumns(db: db, "SELECT count(v) FROM m")
        #expect(count["count"]?.intValue == 40)
        // The dead-letter queue holds the three, each with its reason.
        let conn = try AMQPConnection(url: try BrokerURL(TestServers.amqpURL))
        defer { try? conn.deleteQueue(settings.deadLetterQueue); try? conn.deleteQueue("\(exchange).influx"); try? conn.deleteExchange(exchange); try? conn.deleteExchange(settings.deadLetterExchange); conn.close() }
        var reasons: [String: String] = [:]
        while let d = try conn.get(queue: settings.deadLetterQueue) {
            reasons[d.messageID ?? "?"] = d.headers["x-clowder-reason"]
            #expect(d.headers["x-clowder-sink"] == "influx")
        }
        #expect(Set(reasons.keys) == ["poison:json", "poison:shape", "poison:type"])
        #expect(reasons["poison:json"]?.contains("invalid JSON") == true)
        #expect(reasons["poison:shape"]?.contains("category") == true)
        #expect(reasons["poison:type"]?.contains("400") == true)
        #expect(reasons["poison:type"]?.contains("conflict") == true)
    }

    @Test func destinationDownKeepsMessagesQueued() async throws {
        let influxd = try PrivateInflux()
        try await influxd.start()
        let exchange = TestServers.unique("x")
        let settings = TestServers.settings(exchange: exchange)
        let runner = try SinkRunner(
            settings: settings,
            definition: TestServers.sink("influx", exchange: exchange, batchSize: 200, maxDelay: 0.2, .influx(InfluxConfiguration(url: influxd.url, database: "outage"))),
            logger: TestServers.logger)
        let w = Workload(batch: UUID().uuidString, pointCount: 3_000, eventCount: 0)
        let all = w.messages
        try await running([runner]) {
            #expect(await runner.consumer.waitUntilConnected(timeout: 30))
            try await TestServers.publish(Array(all.prefix(500)), exchange: exchange)
            #expect(await TestServers.eventually(timeout: 30) { runner.stats.written == 500 })

            influxd.stop()
            try await TestServers.publish(Array(all.dropFirst(500)), exchange: exchange)
            // Writes fail and are retried; nothing more is acknowledged, and the queue keeps what is not in flight.
            #expect(await TestServers.eventually(timeout: 30) { runner.stats.retries >= 3 })
            try await Task.sleep(for: .seconds(2))
            #expect(runner.stats.written == 500)
            let conn = try AMQPConnection(url: try BrokerURL(TestServers.amqpURL))
            let ready = try conn.declareQueue(QueueDeclaration(name: "\(exchange).influx", deadLetterExchange: settings.deadLetterExchange), passive: true).messageCount
            conn.close()
            // 2,500 published while down, at most `prefetch` (400) of them delivered and unacknowledged.
            #expect(ready >= 2_100)

            try await influxd.start()
            #expect(await TestServers.eventually(timeout: 60) { runner.stats.written == 3_000 })
        }
        let count = try await TestServers.influxColumns(influxd.url, db: "outage", "SELECT count(requests) FROM nginx_access")
        #expect(count["count"]?.intValue == 3_000)
        let sum = try await TestServers.influxColumns(influxd.url, db: "outage", "SELECT sum(requests) FROM nginx_access")
        // 3000 = 230 × 13 + 10: 230 cycles of 91 plus 1 + … + 10.
        #expect(sum["sum"]?.intValue == Int64(230 * 91 + 55))
        influxd.stop()
    }

    @Test func postgresAndSQLiteIgnoreRepublishedMessages() async throws {
        let exchange = TestServers.unique("x")
        let dir = try TestServers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let prefix = TestServers.unique("pg") + "_"
        let sqlitePath = dir.appendingPathComponent("sink.db").path
        let settings = TestServers.settings(exchange: exchange)
        let postgres = try SinkRunner(
            settings: settings,
            definition: TestServers.sink("postgres", exchange: exchange, .postgres(url: TestServers.postgresURL, tablePrefix: prefix, maximumConnections: 2)),
            logger: TestServers.logger)
        let sqlite = try SinkRunner(
            settings: settings, definition: TestServers.sink("sqlite", exchange: exchange, .sqlite(path: sqlitePath, tablePrefix: "")),
            logger: TestServers.logger)
        let pg = try PostgresDestination(url: TestServers.postgresURL, tablePrefix: prefix, logger: TestServers.logger)
        defer { Task { try? await pg.dropTables(); await pg.shutdown() } }
        let w = Workload(batch: UUID().uuidString, pointCount: 1_000, eventCount: 900)
        try await running([postgres, sqlite]) {
            #expect(await postgres.consumer.waitUntilConnected(timeout: 30))
            #expect(await sqlite.consumer.waitUntilConnected(timeout: 30))
            try await TestServers.publish(w.messages, exchange: exchange)
            try await TestServers.publish(w.messages.reversed(), exchange: exchange)
            #expect(await TestServers.eventually(timeout: 60) { postgres.stats.written == 3_800 && sqlite.stats.written == 3_800 })
        }
        try await pg.start()
        #expect(try await pg.scalar("SELECT count(*) FROM \(prefix)points") == 1_000)
        // 1000 = 76 × 13 + 12: 76 cycles of 91 plus 1 + … + 12.
        #expect(try await pg.scalar("SELECT sum((fields->>'requests')::bigint)::bigint FROM \(prefix)points") == 76 * 91 + 78)
        #expect(try await pg.scalar("SELECT count(*) FROM \(prefix)events WHERE category = 'download'") == 300)
        let lite = try SQLiteDatabase(path: sqlitePath)
        #expect(try lite.query("SELECT count(*) FROM points").first?.first?.integer == 1_000)
        #expect(try lite.query("SELECT sum(json_extract(fields, '$.requests')) FROM points").first?.first?.integer == 76 * 91 + 78)
        #expect(try lite.query("SELECT count(*) FROM events WHERE category = 'download'").first?.first?.integer == 300)
    }
}
