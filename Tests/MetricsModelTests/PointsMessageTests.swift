import MetricsModel
import Testing

/// The `metric_points` wire format (several points of one batch in one message): its bytes, the ids of its
/// points, and ``MetricsMessage/decodeAll(_:messageID:)``, which is total.
@Suite struct PointsMessageTests {
    let a = Point(measurement: "nginx_access", tags: ["vhost": "a.example.org"], fields: ["requests": 3, "request_time_p99": 0.5], timeNanoseconds: 1_795_953_600_000_000_000)
    let b = Point(measurement: "ping", tags: ["agent": "probe-2"], fields: ["up": true], timeNanoseconds: 1_795_953_660_000_000_000)

    @Test("the bytes are the documented JSON, keys sorted, and read back point by point with their own ids")
    func roundTrip() throws {
        let body = MetricsMessage.pointsMessageBytes(
            id: "agent-1:b-1", first: 200, agentID: "web-1", keyID: "agent-1",
            elements: [MetricsMessage.elementBytes(for: a), MetricsMessage.elementBytes(for: b)])
        // Written out by hand from the format's documentation.
        let expected =
            #"{"agent":"web-1","category":"metric_points","first":200,"id":"agent-1:b-1","key_id":"agent-1","points":["#
            + #"{"fields":{"request_time_p99":0.5,"requests":3},"tags":{"vhost":"a.example.org"},"time_ns":1795953600000000000,"type":"nginx_access"},"#
            + #"{"fields":{"up":true},"tags":{"agent":"probe-2"},"time_ns":1795953660000000000,"type":"ping"}]}"#
        #expect(String(decoding: body, as: UTF8.self) == expected)
        #expect(MetricsMessage.pointsMessageID(id: "agent-1:b-1", first: 200, count: 2) == "agent-1:b-1:200-201")
        let items = try MetricsMessage.decodeAll(body, messageID: "agent-1:b-1:200-201")
        #expect(items.map(\.messageID) == ["agent-1:b-1:200", "agent-1:b-1:201"])
        #expect(items.map(\.position) == [0, 1])
        var withAgent = a
        withAgent.tags["agent"] = "web-1"  // the envelope's agent, as a tag
        guard case .success(.point(let p0)) = items[0].decoded, case .success(.point(let p1)) = items[1].decoded else {
            Issue.record("not two points: \(items)")
            return
        }
        #expect(p0 == withAgent)
        #expect(p1 == b, "a point's own agent tag wins")
        // A reader of single messages refuses it rather than taking it for an event.
        #expect(throws: ModelError.self) { try MetricsMessage.decode(body) }
    }

    @Test("a single message is one item with the message id")
    func single() throws {
        let body = MetricsMessage.json(for: a, agentID: "web-1").jsonBytes
        let items = try MetricsMessage.decodeAll(body, messageID: "k:b:7")
        #expect(items.count == 1)
        #expect(items[0].messageID == "k:b:7" && items[0].position == nil)
        #expect(try items[0].decoded.get() == MetricsMessage.decode(body))
    }

    @Test("a wrong envelope throws naming the member; a wrong point fails alone, naming points[j]")
    func totality() throws {
        func envelopeError(_ text: String) -> String {
            do {
                _ = try MetricsMessage.decodeAll(Array(text.utf8), messageID: nil)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(envelopeError(#"{"category":"metric_points"}"#).contains("without points"))
        #expect(envelopeError(#"{"category":"metric_points","points":[]}"#).contains("without points"))
        #expect(envelopeError(#"{"category":"metric_points","points":{}}"#).contains("without points"))
        #expect(envelopeError(#"{"category":"metric_points","first":-1,"points":[{}]}"#).contains("first -1"))
        #expect(envelopeError(#"{"category":"metric_points","first":9223372036854775807,"points":[{}]}"#).contains("first"))
        #expect(envelopeError(#"{"category":"metric_points","first":1.5,"points":[{}]}"#).contains("first 1.5"))
        #expect(envelopeError(#"{"category":"metric_points","id":7,"points":[{}]}"#).contains("id 7"))
        #expect(envelopeError(#"{"category":"metric_points","agent":[],"points":[{}]}"#).contains("agent"))
        #expect(envelopeError(#"{"category":"metric_points","points":[{}]"#).contains("invalid JSON"))
        let body = #"{"category":"metric_points","id":"k:b","points":[7,{"type":"m","time_ns":1,"fields":{"v":1}},{"type":"m","time_ns":9223372036854775807,"fields":{"v":1}},{"type":"","time_ns":1,"fields":{"v":1}},{"type":"m","time_ns":2,"fields":{}}]}"#
        let items = try MetricsMessage.decodeAll(Array(body.utf8), messageID: "k:b:0-4")
        #expect(items.map(\.messageID) == ["k:b:0", "k:b:1", "k:b:2", "k:b:3", "k:b:4"])
        func failure(_ i: Int) -> String? { if case .failure(let e) = items[i].decoded { e.message } else { nil } }
        #expect(failure(0) == "points[0] is not a JSON object")
        #expect(failure(1) == nil)
        #expect(failure(2)?.hasPrefix("points[2] time_ns 9223372036854775807 is not an integer in") == true)
        #expect(failure(3) == "points[3] without type (the measurement)")
        #expect(failure(4) == "points[4] without fields")
    }

    @Test("without an id in the body, a point's id is the message id and its place; without either, none")
    func idFallback() throws {
        let body = Array(#"{"category":"metric_points","points":[{"type":"m","time_ns":1,"fields":{"v":1}}]}"#.utf8)
        #expect(try MetricsMessage.decodeAll(body, messageID: "x").map(\.messageID) == ["x:0"])
        #expect(try MetricsMessage.decodeAll(body, messageID: nil).map(\.messageID) == [nil])
    }

    @Test("the point count of a message from its message id alone")
    func pointCount() {
        #expect(MetricsMessage.pointCount(messageID: "agent-1:5f-uuid-1:200-299") == 100)
        #expect(MetricsMessage.pointCount(messageID: "agent-1:b:7") == 1)
        #expect(MetricsMessage.pointCount(messageID: "k:b:9-3") == 1)
        #expect(MetricsMessage.pointCount(messageID: "k:b:-3-4") == 1)
        #expect(MetricsMessage.pointCount(messageID: "k:b:0-99999999999999999999") == 1)
        #expect(MetricsMessage.pointCount(messageID: nil) == 1)
        #expect(MetricsMessage.pointCount(messageID: "no-colon-1-2") == 1)
    }
}
