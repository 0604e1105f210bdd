import Broker
import Foundation
import Ingest
import MetricsModel
import TestSupport
import Testing

@Suite("Ingest end to end: agent → ingest → RabbitMQ", .ownThreads)
struct IngestEndToEndTests {
    @Test("a bound queue receives exactly the points and events of the batches, each once, after a replay of every batch")
    func endToEnd() async throws {
        let h = try await IngestHarness()
        defer { Task { await h.stop() } }
        let batches = (0..<6).map { Batches.make(points: 40 + $0, events: $0 % 3, seed: $0) }
        var expected: [String: JSONValue] = [:]
        for (i, b) in batches.enumerated() {
            let r = try await h.postBatch(b, gzip: i % 2 == 0)
            #expect(r.status == 202, "batch \(i): \(r.text)")
            // 40-45 points: one metric_points message (at most 100 points each), then one message per event.
            #expect(r.json?["messages"] == .int(Int64(1 + b.events.count)))
            #expect(r.json?["points"] == .int(Int64(b.points.count)))
            expected.merge(Batches.expectedMessages(b)) { a, _ in a }
        }
        // The agent retries every batch (e.g. it never saw the 202): each answers duplicate.
        for b in batches {
            let r = try await h.postBatch(b)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json?["duplicate"] == .bool(true))
        }
        let got = try await h.drainQueue()
        #expect(got.count == batches.reduce(0) { $0 + 1 + $1.events.count })
        let (bodies, seen) = try PublishedMessages.items(got)
        for d in got {
            #expect(d.contentType == "application/json")
            #expect(d.deliveryMode == 2)
            #expect(d.timestamp != nil)
            #expect(d.exchange == h.exchange)
        }
        #expect(bodies == expected)
        #expect(Set(seen.keys) == Set(expected.keys))
        #expect(seen.values.allSatisfy { $0 == 1 })
        // Integer and double fields kept their types through the trip, as the sinks read them.
        let first = try #require(got.first { $0.messageID == "agent-1:\(batches[0].id):0-39" })
        let items = try MetricsMessage.decodeAll(first.body, messageID: first.messageID)
        #expect(items.count == 40)
        #expect(items[1].messageID == "agent-1:\(batches[0].id):1")
        guard case .success(.point(let p)) = items[1].decoded else {
            Issue.record("not a point")
            return
        }
        #expect(p.fields["requests"] == .int(101))
        #expect(p.fields["request_time_max"] == .double(2.0))
        #expect(p.tags["agent"] == "web-1")
        #expect(Array("\"request_time_max\":2.0".utf8).isContained(in: first.body))

        // /healthz and /metrics tell the story.
        // The outage suite may have the broker stopped right now: wait for the reconnect.
        var health = try await h.send(.get, "/healthz")
        for _ in 0..<300 where health.status != 200 {
            try await Task.sleep(for: .milliseconds(200))
            health = try await h.send(.get, "/healthz")
        }
        #expect(health.status == 200)
        #expect(health.json == ["status": "ok"], "up or down, nothing about the broker: \(health.text)")
        let metrics = try await h.send(.get, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("clowder_ingest_batches_total 6\n"))
        #expect(metrics.text.contains("clowder_ingest_duplicates_total 6\n"))
        let points = batches.reduce(0) { $0 + $1.points.count }
        #expect(metrics.text.contains("clowder_ingest_points_total \(points)\n"))
        #expect(metrics.text.contains(#"clowder_ingest_requests_total{operation="postBatch",status="202"} 6"#))
    }

    @Test("a Clowder-format event posted with X-API-Key appears on the exchange unchanged, and nothing else")
    func clowderEventWithAPIKey() async throws {
        let h = try await IngestHarness()
        defer { Task { await h.stop() } }
        // As Clowder v1's SinkService sends a download event: flat JSON, created in epoch ms.
        let created = Int64(Date().timeIntervalSince1970 * 1000) - 5000
        let body = Array(
            #"{"author_id":"5c5b0b2ce4b0b7e8a0c8a3f1","category":"download","created":\#(created),"resource_id":"5f1e2d3c4b5a697887a6b5c4","resource_name":"scan.tif","size":73400320,"type":"file","user_id":"5c5b0b2ce4b0b7e8a0c8a3f2"}"#
                .utf8)
        var r = try await h.send(.post, "/v1/events", headers: [("X-API-Key", IngestHarness.clowderAPIKey), ("Content-Type", "application/json")], body: body)
        while r.status == 503 {  // the outage suite may be running
            try await Task.sleep(for: .milliseconds(200))
            r = try await h.send(.post, "/v1/events", headers: [("X-API-Key", IngestHarness.clowderAPIKey), ("Content-Type", "application/json")], body: body)
        }
        #expect(r.status == 202, "\(r.text)")
        #expect(r.json?["events"] == 1)
        let wrong = try await h.send(.post, "/v1/events", headers: [("X-API-Key", "not-the-key")], body: body)
        #expect(wrong.status == 401)
        #expect(wrong.contentType == "application/problem+json")
        let got = try await h.drainQueue()
        #expect(got.count == 1)
        // The sender's members unchanged, plus the ingest's key_id stamp.
        var expected = try #require(try JSONValue(parsing: body).objectValue)
        expected["key_id"] = "clowder"
        #expect(try got.first.map { try JSONValue(parsing: $0.body) } == .object(expected))
        #expect(got.first?.messageID?.hasPrefix("clowder:") == true)
        #expect(got.first?.messageID?.hasSuffix(":0") == true)
    }

    @Test("with no broker URL, messages go to the local SQLite journal")
    func journal() async throws {
        let h = try await IngestHarness(broker: false)
        defer { Task { await h.stop() } }
        let b = Batches.make(points: 3, events: 1, seed: 9)
        let r = try await h.postBatch(b)
        #expect(r.status == 202, "\(r.text)")
        let health = try await h.send(.get, "/healthz")
        #expect(health.json == ["status": "ok"])
        let journal = try JournalDestination(path: h.configuration.journalPath)
        let rows = try journal.messages()
        let expected = Batches.expectedMessages(b)
        #expect(rows.count == 2, "one message of 3 points, one event")
        var bodies: [String: JSONValue] = [:]
        for row in rows { for (id, body) in try PublishedMessages.expand(id: row.id, body: row.body) { bodies[id] = body } }
        #expect(bodies == expected)
    }

    @Test("/openapi.yaml serves the spec and /docs the Swagger UI")
    func docs() async throws {
        let h = try await IngestHarness(broker: false)
        defer { Task { await h.stop() } }
        let spec = try await h.send(.get, "/openapi.yaml")
        #expect(spec.status == 200)
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/Ingest/openapi.yaml")
        #expect(spec.body == Array(try Data(contentsOf: file)))
        let docs = try await h.send(.get, "/docs")
        let dir = try #require(IngestHarness.swaggerUIDirectory, "Swagger UI is not installed (scripts/install-deps.sh: PyPI swagger-ui-py in .venv)")
        #expect(docs.status == 200)
        #expect(docs.text.contains("SwaggerUIBundle"))
        #expect(docs.text.contains("/openapi.yaml"))
        #expect(!docs.text.contains("https://") && !docs.text.contains("http://"), "nothing loaded from another host")
        for name in ["swagger-ui-bundle.js", "swagger-ui.css"] {
            let asset = try await h.send(.get, "/docs/\(name)")
            #expect(asset.status == 200)
            #expect(asset.body == Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))), "\(name) served from \(dir)")
        }
        // Without the setting: 404 saying what to set.
        let bare = try await IngestHarness(broker: false) { $0.swaggerUIDirectory = nil }
        defer { Task { await bare.stop() } }
        let missing = try await bare.send(.get, "/docs")
        #expect(missing.status == 404)
        #expect(missing.text.contains("CLOWDER_INGEST_SWAGGER_UI_DIR"))
    }
}

extension Array where Element == UInt8 {
    func isContained(in other: [UInt8]) -> Bool {
        guard count <= other.count else { return false }
        if isEmpty { return true }
        for i in 0...(other.count - count) where other[i..<(i + count)].elementsEqual(self) { return true }
        return false
    }
}
