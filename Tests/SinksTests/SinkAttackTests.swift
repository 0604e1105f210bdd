import Broker
import Foundation
import MetricsModel
import Storage
import TestSupport
import Testing

@testable import Sinks

/// The sink half of the attack suite (issue 11): hostile messages against three sinks at once — InfluxDB,
/// PostgreSQL and SQLite, each consuming its own quorum queue of one exchange on the real RabbitMQ — and, in the
/// same run, a workload of good messages. For each class: the message, the dead letter it must give (which sink,
/// which reason), and that every other message reaches every store exactly once.
///
/// | class | message | InfluxDB | PostgreSQL | SQLite |
/// |---|---|---|---|---|
/// | overflowing `created` | event and metric with `created` = 2⁶³−1 ms | dead letter | dead letter | dead letter |
/// | too-long measurement | 12,000 characters of hex | stored | dead letter (SQLSTATE 54000) | stored |
/// | field type conflict | `nginx_access.requests` as a string | dead letter (400 field type conflict) | stored | stored |
/// | poison redelivered | returned unacknowledged 3 times (a crash loop), the limit of 3 | dead letter | dead letter | dead letter |
/// | (control) returned once | delivered twice, within the limit of 3: written alone | stored | stored | stored |
@Suite(.serialized, .ownThreads) struct SinkAttackTests {
    @Test func hostileMessagesAreDeadLetteredAndEverythingElseIsStoredOnce() async throws {
        let exchange = TestServers.unique("attack")
        let dir = try TestServers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = TestServers.unique("influx")
        let prefix = TestServers.unique("pg") + "_"
        let sqlitePath = dir.appendingPathComponent("sink.db").path
        var settings = TestServers.settings(exchange: exchange)
        settings.queueType = "quorum"
        settings.maxDeliveries = 3
        let definitions = [
            TestServers.sink("influx", exchange: exchange, batchSize: 400, .influx(InfluxConfiguration(url: TestServers.influxURL, database: db))),
            TestServers.sink("postgres", exchange: exchange, batchSize: 400, .postgres(url: TestServers.postgresURL, tablePrefix: prefix, maximumConnections: 2)),
            TestServers.sink("sqlite", exchange: exchange, batchSize: 400, .sqlite(path: sqlitePath, tablePrefix: "")),
        ]
        let pg = try PostgresDestination(url: TestServers.postgresURL, tablePrefix: prefix, logger: TestServers.logger)
        let topology = try SinkTopology(settings: settings, exchange: exchange, definitions: definitions)
        defer {
            topology.remove()
            Task { await TestServers.dropInfluxDatabase(db); try? await pg.dropTables(); await pg.shutdown() }
        }
        // The sinks' queues, declared as the sinks declare them, so that the poison is in each before they start.
        try topology.declare()

        // Class 4, poison redelivered: a message that crashed its consumer three times. Each crash is a consumer
        // that took it (basic.get, no ack) and died (connection closed): the quorum queue counts the returns.
        // (One more return and RabbitMQ itself would dead-letter it: x-delivery-limit is 3, see SinkQuorumTests.)
        let t0 = Workload.baseMilliseconds * 1_000_000
        let poison = OutgoingMessage(
            body: MetricsMessage.json(
                for: Point(measurement: "nginx_access", tags: ["vhost": "poison"], fields: ["requests": 1], timeNanoseconds: t0),
                agentID: "web-9"
            ).jsonBytes, messageID: "attack:redelivered")
        // Below the limit, a message that came back once is written (alone: the sink suspects it) and stored once.
        let onceBack = OutgoingMessage(
            body: MetricsMessage.json(
                for: Point(measurement: "nginx_access", tags: ["vhost": "once"], fields: ["requests": 5], timeNanoseconds: t0 + 3),
                agentID: "web-9"
            ).jsonBytes, messageID: "attack:redelivered-once")
        try await TestServers.publish([poison], exchange: exchange)
        for _ in 0..<2 {
            let crashing = try AMQPConnection(url: try BrokerURL(TestServers.amqpURL))
            for d in definitions { #expect(try crashing.get(queue: d.queue, autoAck: false)?.messageID == "attack:redelivered") }
            crashing.close()
        }
        // A third crash holds both: the poison's third return, the other one's first.
        try await TestServers.publish([onceBack], exchange: exchange)
        let crashing = try AMQPConnection(url: try BrokerURL(TestServers.amqpURL))
        for d in definitions {
            let ids = try [crashing.get(queue: d.queue, autoAck: false), crashing.get(queue: d.queue, autoAck: false)].map { $0?.messageID }
            #expect(Set(ids) == ["attack:redelivered", "attack:redelivered-once"])
        }
        crashing.close()

        let runners = try definitions.map { try SinkRunner(settings: settings, definition: $0, logger: TestServers.logger) }
        let prime = Workload(batch: "prime", pointCount: 200, eventCount: 90)
        let good = Workload(batch: "good", pointCount: 300, eventCount: 150, offsetMilliseconds: 3_600_000)
        let overflowEvent = OutgoingMessage(
            body: Array(#"{"category":"download","type":"file","resource_id":"5f0000000000000000000001","created":9223372036854775807}"#.utf8),
            messageID: "attack:created-event")
        let overflowMetric = OutgoingMessage(
            body: Array(#"{"category":"metric","type":"nginx_access","created":9223372036854775807,"tags":{},"fields":{"requests":1}}"#.utf8),
            messageID: "attack:created-metric")
        let longName = (0..<340).map { _ in UUID().uuidString.replacing("-", with: "") }.joined().prefix(12_000)
        let longMeasurement = OutgoingMessage(
            body: MetricsMessage.json(
                for: Point(measurement: String(longName), fields: ["v": 1], timeNanoseconds: t0 + 5), agentID: "web-9"
            ).jsonBytes, messageID: "attack:long-measurement")
        let conflict = OutgoingMessage(
            body: MetricsMessage.json(
                for: Point(measurement: "nginx_access", tags: ["vhost": "conflict"], fields: ["requests": "many"], timeNanoseconds: t0 + 7),
                agentID: "web-9"
            ).jsonBytes, messageID: "attack:field-type")
        let goodMessages = good.messages
        let half = goodMessages.count / 2
        // The attacks in the middle of good messages, so that each lands in a batch with good ones.
        let attack = Array(goodMessages[..<half]) + [overflowEvent, overflowMetric, longMeasurement, conflict] + Array(goodMessages[half...])

        let tasks = runners.map { r in Task { try await r.run() } }
        defer { for r in runners { r.stop() } }
        for r in runners { #expect(await r.consumer.waitUntilConnected(timeout: 30)) }
        // The poison and the priming workload first: the field type of nginx_access.requests is integer before the conflict.
        try await TestServers.publish(prime.messages, exchange: exchange)
        #expect(await TestServers.eventually(timeout: 60) { runners.allSatisfy { $0.stats.written + $0.stats.deadLettered == 292 } })
        try await TestServers.publish(attack, exchange: exchange)
        let total = 2 + prime.messages.count + attack.count
        let done = await TestServers.eventually(timeout: 120) {
            runners.allSatisfy { $0.stats.written + $0.stats.deadLettered == total }
        }
        #expect(done, "\(runners.map { "\($0.definition.name): \($0.stats.written) written, \($0.stats.deadLettered) dead" })")
        for r in runners { r.stop() }
        for t in tasks { try await t.value }

        // The dead letters: sink → message id → reason.
        var dead: [String: [String: String]] = [:]
        while let d = try topology.connection.get(queue: settings.deadLetterQueue) {
            let sink = d.headers["x-clowder-sink"] ?? "?"
            #expect(dead[sink, default: [:]][d.messageID ?? "?"] == nil, "dead-lettered twice: \(sink) \(d.messageID ?? "?")")
            dead[sink, default: [:]][d.messageID ?? "?"] = d.headers["x-clowder-reason"] ?? ""
        }
        let everywhere: Set = ["attack:created-event", "attack:created-metric", "attack:redelivered"]
        #expect(Set(dead["influx", default: [:]].keys) == everywhere.union(["attack:field-type"]))
        #expect(Set(dead["postgres", default: [:]].keys) == everywhere.union(["attack:long-measurement"]))
        #expect(Set(dead["sqlite", default: [:]].keys) == everywhere)
        for sink in ["influx", "postgres", "sqlite"] {
            let reasons = dead[sink, default: [:]]
            #expect(reasons["attack:created-event"]?.contains("event created 9223372036854775807 is not an integer in") == true, "\(reasons)")
            #expect(reasons["attack:created-metric"]?.contains("created 9223372036854775807 is not an integer in") == true, "\(reasons)")
            #expect(reasons["attack:redelivered"]?.contains("delivered 4 times (CLOWDER_SINK_MAX_DELIVERIES=3)") == true, "\(reasons)")
        }
        #expect(dead["postgres"]?["attack:long-measurement"]?.hasPrefix("PostgreSQL 54000:") == true, "\(dead["postgres"] ?? [:])")
        #expect(dead["influx"]?["attack:field-type"]?.contains("400: field type conflict") == true, "\(dead["influx"] ?? [:])")
        #expect(dead["influx"]?["attack:field-type"]?.contains(#"input field "requests" on measurement "nginx_access" is type string"#) == true)

        // Every other message, in every store, exactly once.
        let points = prime.points.count + good.points.count + 1  // 500 good nginx_access points and the one back once
        let events = prime.events.count + good.events.count  // 240 good events
        let influxPoints = try await TestServers.influxColumns(db: db, "SELECT count(requests) FROM nginx_access")
        let influxEvents = try await TestServers.influxColumns(db: db, "SELECT count(message_id) FROM events")
        #expect(influxPoints["count"]?.intValue == Int64(points))
        #expect(influxEvents["count"]?.intValue == Int64(events))
        let sumInflux = try await TestServers.influxColumns(db: db, "SELECT sum(requests) FROM nginx_access")
        #expect(sumInflux["sum"]?.intValue == prime.totalRequests + good.totalRequests + 5)
        try await pg.start()
        #expect(try await pg.scalar("SELECT count(*) FROM \(prefix)points WHERE measurement = 'nginx_access'") == Int64(points + 1))
        #expect(try await pg.scalar("SELECT count(DISTINCT message_id) FROM \(prefix)points") == Int64(points + 1))
        #expect(try await pg.scalar("SELECT count(*) FROM \(prefix)points WHERE message_id = 'attack:field-type'") == 1)
        #expect(try await pg.scalar("SELECT count(*) FROM \(prefix)points WHERE message_id = 'attack:redelivered-once'") == 1)
        #expect(try await pg.scalar("SELECT count(*) FROM \(prefix)events") == Int64(events))
        let lite = try SQLiteDatabase(path: sqlitePath)
        #expect(try lite.query("SELECT count(*), count(DISTINCT message_id) FROM points").first?.map(\.integer) == [Int64(points + 2), Int64(points + 2)])
        #expect(try lite.query("SELECT count(*) FROM points WHERE message_id = 'attack:long-measurement'").first?.first?.integer == 1)
        #expect(try lite.query("SELECT count(*) FROM events").first?.first?.integer == Int64(events))
        for r in runners {
            #expect(r.stats.deadLettered == dead[r.definition.name, default: [:]].count, "\(r.definition.name)")
        }
    }

    /// Found by the trial in `Benchmarks/attack` (probes L4, L6, L9, L10): InfluxDB 1.x takes a separator preceded
    /// by any backslash as escaped, so names ending in an even run of backslashes (which the writer kept) made lines
    /// InfluxDB refused (the point dead-lettered, stored by every other sink), and a measurement ending in `\\`
    /// swallowed its tags into its name (`lp_bs,agent=web-a`). Every trailing backslash is now dropped.
    @Test func namesEndingInBackslashesAreStoredNotRefusedOrMerged() async throws {
        let db = TestServers.unique("influx")
        defer { Task { await TestServers.dropInfluxDatabase(db) } }
        let d = try InfluxDestination(InfluxConfiguration(url: TestServers.influxURL, database: db))
        try await d.start()
        let t = Workload.baseMilliseconds * 1_000_000
        let points = [
            Point(measurement: "lp", tags: ["probe": "tag-value", "t": #"two\\"#], fields: ["v": 1], timeNanoseconds: t),
            Point(measurement: "lp", tags: ["probe": "tag-key", #"k\\"#: "v"], fields: ["v": 2], timeNanoseconds: t + 1),
            Point(measurement: "lp", tags: ["probe": "field-key"], fields: [#"fk\\"#: 3], timeNanoseconds: t + 2),
            Point(measurement: #"lp_bs\\"#, tags: ["probe": "measurement", "region": "eu-west"], fields: ["v": 4], timeNanoseconds: t + 3),
            Point(measurement: "lp", tags: ["probe": "only-backslashes", "t": #"\\\"#], fields: ["v": 5], timeNanoseconds: t + 4),
        ]
        // One write: before the fix InfluxDB refused three of the lines (a partial write, thrown here).
        try await d.write(points.enumerated().map { SinkMessage(messageID: "bs:\($0.offset)", decoded: .point($0.element)) })
        let rows = try await TestServers.influxQuery(db: db, #"SELECT v, fk, probe, t, k FROM lp"#)
        // Columns: time, v, fk, probe, t, k.
        let byProbe = Dictionary(uniqueKeysWithValues: rows.map { ($0[3].stringValue ?? "", $0) })
        #expect(byProbe["tag-value"]?[4].stringValue == "two", "\(rows)")
        #expect(byProbe["tag-key"]?[5].stringValue == "v", "\(rows)")
        #expect(byProbe["field-key"]?[2].intValue == 3, "\(rows)")
        #expect(byProbe["only-backslashes"]?[1].intValue == 5 && byProbe["only-backslashes"]?[4] == .null, "the empty tag is left out: \(rows)")
        let measured = try await TestServers.influxColumns(db: db, #"SELECT v, probe, region FROM lp_bs"#)
        #expect(measured["v"]?.intValue == 4 && measured["region"]?.stringValue == "eu-west", "\(measured)")
        let names = try await TestServers.influxQuery(db: db, "SHOW MEASUREMENTS")
        #expect(Set(names.compactMap { $0.first?.stringValue }) == ["lp", "lp_bs"])
    }
}
