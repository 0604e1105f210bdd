import Foundation
import MetricsModel
import TestSupport
import Testing

@testable import Sinks

/// InfluxDB 1.x from `.ci/run` (CLOWDER_TEST_INFLUX_URL, default http://127.0.0.1:8086); each test uses its own database.
@Suite(.ownThreads) struct InfluxDestinationTests {
    func messages(_ w: Workload) -> [SinkMessage] {
        w.points.map { SinkMessage(messageID: $0.id, decoded: .point($0.point)) }
            + w.events.map { SinkMessage(messageID: $0.id, decoded: .event($0.event)) }
    }

    @Test func totalsByInfluxQL() async throws {
        let db = TestServers.unique("influx")
        defer { Task { await TestServers.dropInfluxDatabase(db) } }
        let d = try InfluxDestination(InfluxConfiguration(url: TestServers.influxURL, database: db))
        try await d.start()
        let w = Workload(batch: "b1", pointCount: 600, eventCount: 240)
        let all = messages(w)
        for start in stride(from: 0, to: all.count, by: 200) {
            try await d.write(Array(all[start..<min(all.count, start + 200)]))
        }
        // Redelivery of everything changes nothing.
        try await d.write(all)

        let sum = try await TestServers.influxColumns(db: db, "SELECT sum(requests) FROM nginx_access")
        #expect(sum["sum"]?.intValue == w.totalRequests)
        // By hand: 600 = 46 × 13 + 2, so 46 full cycles of 1…13 (91 each) plus 1 + 2.
        #expect(w.totalRequests == 46 * 91 + 3)
        // count(*) counts per field: each event has `message_id`, so count_message_id is the number of events.
        let downloads = try await TestServers.influxColumns(db: db, "SELECT count(*) FROM events WHERE category='download'")
        #expect(downloads["count_message_id"]?.intValue == 80)
        #expect(downloads["count_size"]?.intValue == 80)
        let all3 = try await TestServers.influxColumns(db: db, "SELECT count(message_id) FROM events")
        #expect(all3["count"]?.intValue == 240)
    }

    @Test func specialCharactersRoundTrip() async throws {
        let db = TestServers.unique("influx")
        defer { Task { await TestServers.dropInfluxDatabase(db) } }
        let d = try InfluxDestination(InfluxConfiguration(url: TestServers.influxURL, database: db))
        try await d.start()
        let text = #"a "quoted", spaced = value \ with backslash"#
        let p = Point(
            measurement: "odd measure,ment", tags: ["tag key": "v a,l=ue"], fields: ["field key": .string(text), "n": .int(-5)],
            timeNanoseconds: 1_795_953_600_000_000_000)
        try await d.write([SinkMessage(messageID: "x:0", decoded: .point(p))])
        let row = try await TestServers.influxColumns(db: db, #"SELECT "field key", n, "tag key" FROM "odd measure,ment""#)
        #expect(row["field key"]?.stringValue == text)
        #expect(row["n"]?.intValue == -5)
        #expect(row["tag key"]?.stringValue == "v a,l=ue")
    }

    /// A field type conflict is refused for the point at fault (a partial write naming it), not retried.
    @Test func fieldTypeConflictRefusesThePoint() async throws {
        let db = TestServers.unique("influx")
        defer { Task { await TestServers.dropInfluxDatabase(db) } }
        let d = try InfluxDestination(InfluxConfiguration(url: TestServers.influxURL, database: db))
        try await d.start()
        let t: Int64 = 1_795_953_600_000_000_000
        try await d.write([SinkMessage(messageID: "a", decoded: .point(Point(measurement: "m", fields: ["v": 1], timeNanoseconds: t)))])
        await #expect {
            try await d.write([SinkMessage(messageID: "b", decoded: .point(Point(measurement: "m", fields: ["v": "text"], timeNanoseconds: t + 1)))])
        } throws: { e in
            guard let e = e as? SinkError, e.code == .partial, let reason = e.refused[0] else { return false }
            return reason.contains("400") && reason.contains(#"field type conflict: input field "v" on measurement "m" is type string"#)
        }
    }

    @Test func unreachableIsRetryable() async throws {
        let d = try InfluxDestination(InfluxConfiguration(url: "http://127.0.0.1:\(TestServers.freePort())", database: "x"))
        await #expect {
            try await d.write([SinkMessage(messageID: "a", decoded: .point(Point(measurement: "m", fields: ["v": 1], timeNanoseconds: 1)))])
        } throws: { e in
            (e as? SinkError)?.code == .retryable
        }
    }

    /// InfluxDB 2.x is not installed here: the request is checked against the documented API
    /// (https://docs.influxdata.com/influxdb/v2/api/#operation/PostWrite) with a local receiver.
    @Test func version2RequestShape() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        receiver.respond(status: 204, body: "")
        let d = try InfluxDestination(
            InfluxConfiguration(url: receiver.url + "/", version: .v2, org: "clowder org", bucket: "metrics", token: "tok=en"))
        try await d.start()  // 2.x: no CREATE DATABASE
        try await d.write([SinkMessage(messageID: "a", decoded: .point(Point(measurement: "m", tags: ["t": "x"], fields: ["v": 1], timeNanoseconds: 7)))])
        let r = try #require(receiver.requests.first)
        #expect(receiver.requests.count == 1)
        #expect(r.method == "POST")
        #expect(r.path == "/api/v2/write")
        #expect(r.query == ["org": "clowder org", "bucket": "metrics", "precision": "ns"])
        #expect(r.headers["authorization"] == "Token tok=en")
        #expect(String(decoding: r.body, as: UTF8.self) == "m,t=x v=1i 7\n")
    }

    /// 1.x with a user: HTTP Basic authentication, `db`, `rp` and `precision=ns` in the query.
    @Test func version1RequestShape() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        receiver.respond(status: 204, body: "")
        let d = try InfluxDestination(
            InfluxConfiguration(url: receiver.url, database: "clowder", retentionPolicy: "one_year", username: "u", password: "p:w", createDatabase: false))
        try await d.write([SinkMessage(messageID: "a", decoded: .point(Point(measurement: "m", fields: ["v": 1.5], timeNanoseconds: 7)))])
        let r = try #require(receiver.requests.first)
        #expect(r.path == "/write")
        #expect(r.query == ["db": "clowder", "rp": "one_year", "precision": "ns"])
        #expect(r.headers["authorization"] == "Basic " + Data("u:p:w".utf8).base64EncodedString())
        #expect(String(decoding: r.body, as: UTF8.self) == "m v=1.5 7\n")
    }
}
