import Broker
import Foundation
import MetricsModel
import Storage
import TestSupport
import Testing

@testable import Sinks

/// Messages of several points (`metric_points`, as the ingest publishes points by default) against the real
/// RabbitMQ, InfluxDB, PostgreSQL and SQLite: every point reaches every store exactly once — through a broker URL
/// list whose first node refuses connections, with quorum queues, after a crash of the consumer that held the
/// messages (redelivery), a partial write of a message before that crash, the same batch cut differently by
/// another replica, and the whole batch published twice (a 503 retry) — and a bad one is dead-lettered.
@Suite(.serialized, .ownThreads) struct MultiPointMessageTests {
    /// `points` as the ingest cuts them: `perMessage` to a message, point i keeping the id `<batchID>:<i>`.
    static func pointsMessages(_ points: ArraySlice<Point>, batchID: String, perMessage: Int) -> [OutgoingMessage] {
        stride(from: points.startIndex, to: points.endIndex, by: perMessage).map { first in
            let chunk = points[first..<min(points.endIndex, first + perMessage)]
            return OutgoingMessage(
                body: MetricsMessage.pointsMessageBytes(
                    id: batchID, first: first, agentID: "web-1", keyID: "agent-1", elements: chunk.map(MetricsMessage.elementBytes(for:))),
                messageID: MetricsMessage.pointsMessageID(id: batchID, first: first, count: chunk.count))
        }
    }

    @Test func everyPointOfMultiPointMessagesIsStoredOnceInEveryStore() async throws {
        let exchange = TestServers.unique("mp")
        let dir = try TestServers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = TestServers.unique("influx")
        let prefix = TestServers.unique("pg") + "_"
        let sqlitePath = dir.appendingPathComponent("sink.db").path
        var settings = TestServers.settings(exchange: exchange)
        // A cluster's settings: the first node refuses connections, quorum queues.
        settings.amqpURL = "amqp://guest:guest@127.0.0.1:\(TestServers.freePort())/,\(TestServers.amqpURL)"
        settings.queueType = "quorum"
        let influxConfig = InfluxConfiguration(url: TestServers.influxURL, database: db)
        let definitions = [
            TestServers.sink("influx", exchange: exchange, batchSize: 250, .influx(influxConfig)),
            TestServers.sink("postgres", exchange: exchange, batchSize: 250, .postgres(url: TestServers.postgresURL, tablePrefix: prefix, maximumConnections: 2)),
            TestServers.sink("sqlite", exchange: exchange, batchSize: 250, .sqlite(path: sqlitePath, tablePrefix: "")),
        ]
        let pg = try PostgresDestination(url: TestServers.postgresURL, tablePrefix: prefix, logger: TestServers.logger)
        let topology = try SinkTopology(settings: settings, exchange: exchange, definitions: definitions)
        defer {
            topology.remove()
            Task { await TestServers.dropInfluxDatabase(db); try? await pg.dropTables(); await pg.shutdown() }
        }
        try topology.declare()

        let w = Workload(batch: "mp", pointCount: 1_300, eventCount: 60)
        let batchID = "agent-1:\(UUID().uuidString.lowercased())"
        let points = w.points.map(\.point)
        let cut = Self.pointsMessages(points[...], batchID: batchID, perMessage: 100)  // 13 messages
        let events = w.events.enumerated().map { j, e in OutgoingMessage(body: e.event.json.jsonBytes, messageID: "\(batchID):\(1_300 + j)") }
        // Another replica cut the first 600 points 37 to a message (a batch it published in part, then answered 503).
        let otherCut = Self.pointsMessages(points[..<600], batchID: batchID, perMessage: 37)  // 17 messages
        #expect(cut.count == 13 && otherCut.count == 17)
        #expect(cut.allSatisfy { $0.body.count < 262_144 })
        try await TestServers.publish(cut + events + otherCut, exchange: exchange)

        // A sink took every message of its queue and crashed (connection closed, nothing acknowledged) after
        // writing the first 50 points of the first message.
        let crashed = try AMQPConnection(url: try BrokerURL(TestServers.amqpURL))
        for d in definitions {
            var taken = 0
            while try crashed.get(queue: d.queue, autoAck: false) != nil { taken += 1 }
            #expect(taken == 13 + 60 + 17, "\(d.name)")
        }
        let partial = (0..<50).map { SinkMessage(messageID: "\(batchID):\($0)", decoded: .point(points[$0])) }
        let influxDestination = try InfluxDestination(influxConfig)
        try await influxDestination.start()
        try await influxDestination.write(partial)
        await influxDestination.shutdown()
        try await pg.start()
        try await pg.write(partial)
        let sqliteDestination = try SQLiteDestination(path: sqlitePath)
        try await sqliteDestination.start()
        try await sqliteDestination.write(partial)
        await sqliteDestination.shutdown()
        crashed.close()

        let runners = try definitions.map { try SinkRunner(settings: settings, definition: $0, logger: TestServers.logger) }
        let tasks = runners.map { r in Task { try await r.run() } }
        defer { for r in runners { r.stop() } }
        for r in runners {
            #expect(await r.consumer.waitUntilConnected(timeout: 30), "\(r.definition.name): \(r.consumer.state)")
            #expect(r.consumer.currentURL == (try BrokerURL(TestServers.amqpURL)), "moved past the node that refuses connections")
        }
        let first = await TestServers.eventually(timeout: 90) { runners.allSatisfy { $0.stats.written == 13 + 60 + 17 } }
        #expect(first, "\(runners.map { "\($0.definition.name): \($0.stats.written) written, \($0.stats.deadLettered) dead" })")
        // The agent's retry of the whole batch through another replica: the same 13 messages again.
        try await TestServers.publish(cut, exchange: exchange)
        let second = await TestServers.eventually(timeout: 60) { runners.allSatisfy { $0.stats.written == 13 + 60 + 17 + 13 } }
        #expect(second, "\(runners.map { "\($0.definition.name): \($0.stats.written) written, \($0.stats.deadLettered) dead" })")
        for r in runners { r.stop() }
        for t in tasks { try await t.value }
        #expect(runners.allSatisfy { $0.stats.deadLettered == 0 })
        #expect(try topology.connection.get(queue: settings.deadLetterQueue) == nil, "the dead-letter queue is empty")

        // Every store: 1,300 points once each, Σ requests by plain arithmetic (100 cycles of 1…13), 60 events.
        let total = w.totalRequests
        #expect(total == 9_100)
        let influxCount = try await TestServers.influxColumns(db: db, "SELECT count(requests), sum(requests) FROM nginx_access")
        #expect(influxCount["count"]?.intValue == 1_300)
        #expect(influxCount["sum"]?.intValue == total)
        let influxEvents = try await TestServers.influxColumns(db: db, "SELECT count(message_id) FROM events")
        #expect(influxEvents["count"]?.intValue == 60)
        #expect(try await pg.scalar("SELECT count(*) FROM \(prefix)points") == 1_300)
        #expect(try await pg.scalar("SELECT count(DISTINCT message_id) FROM \(prefix)points WHERE message_id LIKE '\(batchID):%'") == 1_300)
        #expect(try await pg.scalar("SELECT sum((fields->>'requests')::bigint)::bigint FROM \(prefix)points") == total)
        #expect(try await pg.scalar("SELECT count(*) FROM \(prefix)events") == 60)
        #expect(try await pg.scalar("SELECT count(*) FROM \(prefix)points WHERE tags->>'agent' = 'web-1'") == 1_300)
        let lite = try SQLiteDatabase(path: sqlitePath)
        #expect(
            try lite.query("SELECT count(*), count(DISTINCT message_id), sum(json_extract(fields, '$.requests')) FROM points").first?.map(\.integer)
                == [1_300, 1_300, total])
        #expect(try lite.query("SELECT count(*) FROM events").first?.first?.integer == 60)
    }

    @Test func aBadMultiPointMessageIsDeadLetteredNamingItsPointsAndItsGoodPointsAreWritten() async throws {
        let exchange = TestServers.unique("mpbad")
        let dir = try TestServers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = TestServers.unique("influx")
        let sqlitePath = dir.appendingPathComponent("sink.db").path
        let settings = TestServers.settings(exchange: exchange)
        let definitions = [
            TestServers.sink("influx", exchange: exchange, batchSize: 50, .influx(InfluxConfiguration(url: TestServers.influxURL, database: db))),
            TestServers.sink("sqlite", exchange: exchange, batchSize: 50, .sqlite(path: sqlitePath, tablePrefix: "")),
        ]
        let topology = try SinkTopology(settings: settings, exchange: exchange, definitions: definitions)
        defer {
            topology.remove()
            Task { await TestServers.dropInfluxDatabase(db) }
        }
        let t0 = Workload.baseMilliseconds * 1_000_000
        func element(_ i: Int64, _ requests: JSONValue) -> [UInt8] {
            MetricsMessage.elementBytes(for: Point(measurement: "m", tags: ["k": "mp"], fields: ["requests": requests], timeNanoseconds: t0 + i))
        }
        let prime = OutgoingMessage(
            body: MetricsMessage.json(for: Point(measurement: "m", tags: ["k": "prime"], fields: ["requests": 1], timeNanoseconds: t0), agentID: "web-1")
                .jsonBytes, messageID: "prime:0")
        // points[2]: a time that is not an integer (undecodable); points[4]: requests as a string (InfluxDB: field type conflict).
        let badTime = Array(#"{"fields":{"requests":3},"tags":{"k":"mp"},"time_ns":"soon","type":"m"}"#.utf8)
        let mixed = OutgoingMessage(
            body: MetricsMessage.pointsMessageBytes(
                id: "mp", first: 0, agentID: "web-1", keyID: "agent-1",
                elements: [element(1, 1), element(2, 2), badTime, element(4, 4), element(5, "many")]),
            messageID: "mp:0-4")
        let envelope = OutgoingMessage(body: Array(#"{"category":"metric_points","id":"e","first":0,"points":[]}"#.utf8), messageID: "bad:envelope")
        let negative = OutgoingMessage(
            body: Array(#"{"category":"metric_points","id":"n","first":-1,"points":[{"type":"m","time_ns":1,"fields":{"v":1}}]}"#.utf8),
            messageID: "bad:first")
        let good = (10..<30).map { i in
            OutgoingMessage(
                body: MetricsMessage.json(for: Point(measurement: "m", tags: ["k": "good"], fields: ["requests": .int(Int64(i))], timeNanoseconds: t0 + Int64(i)), agentID: "web-1")
                    .jsonBytes, messageID: "good:\(i)")
        }
        let runners = try definitions.map { try SinkRunner(settings: settings, definition: $0, logger: TestServers.logger) }
        let tasks = runners.map { r in Task { try await r.run() } }
        defer { for r in runners { r.stop() } }
        for r in runners { #expect(await r.consumer.waitUntilConnected(timeout: 30)) }
        // The integer field type first, so that points[4] conflicts in InfluxDB.
        try await TestServers.publish([prime], exchange: exchange)
        #expect(await TestServers.eventually(timeout: 30) { runners.allSatisfy { $0.stats.written == 1 } })
        try await TestServers.publish([mixed, envelope, negative] + good, exchange: exchange)
        #expect(await TestServers.eventually(timeout: 60) { runners.allSatisfy { $0.stats.written + $0.stats.deadLettered == 24 } })
        for r in runners { r.stop() }
        for t in tasks { try await t.value }

        var dead: [String: [String: String]] = [:]
        while let d = try topology.connection.get(queue: settings.deadLetterQueue) {
            dead[d.headers["x-clowder-sink"] ?? "?", default: [:]][d.messageID ?? "?"] = d.headers["x-clowder-reason"] ?? ""
            if d.messageID == "mp:0-4" { #expect(d.body == mixed.body, "the dead letter is the message as published") }
        }
        for sink in ["influx", "sqlite"] {
            let reasons = dead[sink, default: [:]]
            #expect(Set(reasons.keys) == ["mp:0-4", "bad:envelope", "bad:first"], "\(sink): \(reasons)")
            #expect(reasons["mp:0-4"]?.contains("points[2] time_ns \"soon\" is not an integer") == true, "\(sink): \(reasons)")
            #expect(reasons["bad:envelope"]?.contains("without points") == true, "\(sink): \(reasons)")
            #expect(reasons["bad:first"]?.contains("first -1 is not an integer") == true, "\(sink): \(reasons)")
        }
        let influxReason = dead["influx"]?["mp:0-4"] ?? ""
        #expect(influxReason.hasPrefix("2 points at fault"), "\(influxReason)")
        #expect(influxReason.contains("points[4] (mp:4)") && influxReason.contains("field type conflict"), "\(influxReason)")
        #expect(dead["sqlite"]?["mp:0-4"]?.contains("points[4]") == false, "SQLite stores a string field")

        // The good points of the bad message are written, and every other message.
        let mpInflux = try await TestServers.influxColumns(db: db, "SELECT count(requests), sum(requests) FROM m WHERE k = 'mp'")
        #expect(mpInflux["count"]?.intValue == 3)
        #expect(mpInflux["sum"]?.doubleValue == 7, "1 + 2 + 4")
        let goodInflux = try await TestServers.influxColumns(db: db, "SELECT count(requests) FROM m WHERE k = 'good'")
        #expect(goodInflux["count"]?.intValue == 20)
        let lite = try SQLiteDatabase(path: sqlitePath)
        #expect(
            try lite.query("SELECT message_id FROM points WHERE message_id LIKE 'mp:%' ORDER BY message_id").map { $0[0].text ?? "" }
                == ["mp:0", "mp:1", "mp:3", "mp:4"])
        #expect(try lite.query("SELECT count(*) FROM points WHERE message_id LIKE 'good:%'").first?.first?.integer == 20)
    }

    @Test func aQuorumQueueDeadLettersAMessageReturnedMoreOftenThanTheDeliveryLimit() async throws {
        let exchange = TestServers.unique("limit")
        var settings = TestServers.settings(exchange: exchange)
        settings.queueType = "quorum"
        settings.maxDeliveries = 2
        let definition = TestServers.sink("sqlite", exchange: exchange, .sqlite(path: "/dev/null", tablePrefix: ""))
        let queue = SinkRunner.queueDeclaration(settings: settings, definition: definition)
        #expect(queue.queueType == "quorum" && queue.deliveryLimit == 2)
        let dlq = SinkRunner.deadLetterQueueDeclaration(settings: settings)
        #expect(dlq.queueType == "quorum")
        let conn = try AMQPConnection(url: try BrokerURL(TestServers.amqpURL))
        defer {
            try? conn.deleteQueue(queue.name)
            try? conn.deleteQueue(dlq.name)
            try? conn.deleteExchange(exchange)
            try? conn.deleteExchange(settings.deadLetterExchange)
            conn.close()
        }
        try conn.declareExchange(ExchangeDeclaration(name: exchange))
        try conn.declareExchange(ExchangeDeclaration(name: settings.deadLetterExchange))
        _ = try conn.declareQueue(queue)
        try conn.bindQueue(queue.name, exchange: exchange)
        _ = try conn.declareQueue(dlq)
        try conn.bindQueue(dlq.name, exchange: settings.deadLetterExchange)
        try await TestServers.publish([OutgoingMessage(body: Array("{}".utf8), messageID: "crash-loop")], exchange: exchange)
        // Three consumers take it and die: returned three times, one more than x-delivery-limit 2.
        for k in 0..<3 {
            let crashing = try AMQPConnection(url: try BrokerURL(TestServers.amqpURL))
            var got: BrokerDelivery?
            for _ in 0..<50 where got == nil {
                got = try crashing.get(queue: queue.name, autoAck: false)
                if got == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(got?.messageID == "crash-loop", "take \(k + 1)")
            if k > 0 { #expect(got?.headers["x-delivery-count"] == String(k)) }
            crashing.close()
        }
        var dead: BrokerDelivery?
        for _ in 0..<50 where dead == nil {
            dead = try conn.get(queue: dlq.name)
            if dead == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(dead?.messageID == "crash-loop")
        #expect(dead?.headers["x-first-death-reason"] == "delivery_limit", "\(dead?.headers ?? [:])")
        #expect(try conn.get(queue: queue.name) == nil)
    }
}
