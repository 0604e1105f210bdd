import Broker
import Foundation
import MetricsModel
import TestSupport
import Testing

@testable import Sinks

/// How each destination's refusals are classified, and InfluxDB's partial writes resolved point by point.
@Suite(.ownThreads) struct SinkClassificationTests {
    @Test("PostgreSQL: SQLSTATE classes 21, 22, 23, 42 (not 42501) and 54 are permanent, the rest retryable")
    func postgresClasses() {
        for state in ["54000", "54001", "22P05", "22008", "22001", "23505", "23502", "21000", "42P01", "42703", "42804"] {
            #expect(PostgresDestination.isPermanent(sqlState: state), "\(state)")
        }
        for state in ["42501", "08006", "08001", "40001", "40P01", "53100", "53200", "53300", "55P03", "57P01", "57014", "58030", "XX000", "", "5400"] {
            #expect(!PostgresDestination.isPermanent(sqlState: state), "\(state)")
        }
    }

    @Test("a delivery's number: x-delivery-count on quorum queues, the sink's own count of redeliveries otherwise")
    func deliveryCounter() {
        var c = DeliveryCounter(capacity: 4)
        var d = BrokerDelivery(body: [], messageID: "a")
        #expect(c.record(d, id: "a") == 1)
        d.headers["x-delivery-count"] = "3"
        #expect(c.record(d, id: "a") == 4)
        // Classic queue: no header, only the redelivered flag; counted per id by the sink.
        var r = BrokerDelivery(body: [], messageID: "b", redelivered: true)
        #expect(c.record(r, id: "b") == 2)
        #expect(c.record(r, id: "b") == 3)
        #expect(c.record(r, id: "b") == 4)
        c.forget("b")
        #expect(c.record(r, id: "b") == 2)
        // Bounded: the oldest half goes when full.
        for id in ["c", "d", "e", "f"] { _ = c.record(r, id: id) }
        #expect(c.count <= 4)
        r.headers["x-delivery-count"] = "not a number"
        #expect(c.record(r, id: "z") == 2)
    }

    @Test("InfluxDB 1.x partial-write reasons name the points at fault")
    func pointsAtFault() {
        let messages = [
            SinkMessage(messageID: "0", decoded: .point(Point(measurement: "m", fields: ["v": 1], timeNanoseconds: 1))),
            SinkMessage(messageID: "1", decoded: .point(Point(measurement: "m", fields: ["v": "s"], timeNanoseconds: 2))),
            SinkMessage(messageID: "2", decoded: .point(Point(measurement: "m", fields: ["v": true], timeNanoseconds: 3))),
            SinkMessage(messageID: "3", decoded: .point(Point(measurement: "m2", fields: ["v": "s"], timeNanoseconds: 4))),
            SinkMessage(messageID: "4", decoded: .point(Point(measurement: "m", fields: ["v": .null], timeNanoseconds: 5))),
        ]
        let (lines, refused) = InfluxDestination.lines(messages)
        #expect(lines.map(\.index) == [0, 1, 2, 3])
        #expect(refused.keys.sorted() == [4])
        // InfluxDB 1.6.7's answer, as received (checked by hand with curl against the server .ci/run starts).
        let error = #"partial write: field type conflict: input field "v" on measurement "m" is type string, already exists as type integer dropped=2"#
        let atFault = InfluxDestination.pointsAtFault(error, in: lines)
        #expect(atFault.keys.sorted() == [1])
        #expect(atFault[1] == #"field type conflict: input field "v" on measurement "m" is type string, already exists as type integer"#)
        let parse = "partial write: unable to parse 'm v=\"s\" 2': invalid field format\nunable to parse 'm2 v=\"s\" 4': bad dropped=0"
        #expect(InfluxDestination.pointsAtFault(parse, in: lines).keys.sorted() == [1, 3])
        #expect(InfluxDestination.pointsAtFault("partial write: points beyond retention policy dropped=1", in: lines).isEmpty)
        #expect(InfluxDestination.pointsAtFault("unable to parse 'm v=\"s\" 2': x", in: lines).isEmpty)
    }

    @Test("InfluxDB: conflicts of several fields in one batch are refused point by point; every good point is stored")
    func influxPartialWrites() async throws {
        let db = TestServers.unique("influx")
        defer { Task { await TestServers.dropInfluxDatabase(db) } }
        let d = try InfluxDestination(InfluxConfiguration(url: TestServers.influxURL, database: db))
        try await d.start()
        func point(_ i: Int, _ fields: [String: JSONValue], _ m: String = "m") -> SinkMessage {
            SinkMessage(messageID: "p\(i)", decoded: .point(Point(measurement: m, tags: ["k": "\(i)"], fields: fields, timeNanoseconds: Int64(1_000 + i))))
        }
        // The field types: v integer, w float, on m.
        try await d.write([point(0, ["v": 1, "w": 0.5])])
        var batch: [SinkMessage] = []
        var bad: Set<Int> = []
        for i in 1...60 {
            switch i % 10 {
            case 3: batch.append(point(i, ["v": "text"])); bad.insert(i - 1)  // string into integer
            case 6: batch.append(point(i, ["w": true])); bad.insert(i - 1)  // boolean into float
            case 9: batch.append(point(i, ["v": 2.5])); bad.insert(i - 1)  // float into integer
            default: batch.append(point(i, ["v": .int(Int64(i)), "w": 1.5]))
            }
        }
        batch.append(point(61, ["x": 7], "other"))
        do {
            try await d.write(batch)
            Issue.record("expected a partial write")
        } catch let e as SinkError {
            #expect(e.code == .partial)
            #expect(Set(e.refused.keys) == bad)
            #expect(e.refused[2]?.contains(#"input field "v" on measurement "m" is type string"#) == true, "\(e.refused)")
            #expect(e.refused[5]?.contains(#"input field "w" on measurement "m" is type boolean"#) == true, "\(e.refused)")
            #expect(e.refused[8]?.contains(#"input field "v" on measurement "m" is type float"#) == true, "\(e.refused)")
        }
        // 1 + 42 good points of m (60 − 18), and the other measurement's point.
        let count = try await TestServers.influxColumns(db: db, "SELECT count(v) FROM m")
        #expect(count["count"]?.intValue == 43)
        let sum = try await TestServers.influxColumns(db: db, "SELECT sum(v) FROM m")
        let expected = 1 + (1...60).filter { ![3, 6, 9].contains($0 % 10) }.reduce(0, +)
        #expect(sum["sum"]?.intValue == Int64(expected))
        let other = try await TestServers.influxColumns(db: db, "SELECT count(x) FROM other")
        #expect(other["count"]?.intValue == 1)
    }
}
