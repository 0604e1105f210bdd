import Foundation
import Ingest
import MetricsModel
import TestSupport
import Testing

@Suite("Ingest refuses what it must, with the right status and a problem document", .ownThreads)
struct IngestRefusalTests {
    /// Checks an RFC 9457 answer.
    func expectProblem(_ r: IngestHarness.Reply, _ status: Int, _ name: String? = nil, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(what): \(r.status) \(r.text)", sourceLocation: sourceLocation)
        #expect(r.contentType == "application/problem+json", "\(what)", sourceLocation: sourceLocation)
        #expect(r.json?["status"] == .int(Int64(status)), "\(what)", sourceLocation: sourceLocation)
        #expect(r.json?["title"]?.stringValue?.isEmpty == false, "\(what)", sourceLocation: sourceLocation)
        if let name { #expect(r.json?["type"]?.stringValue == "urn:clowder-metrics:problem:\(name)", "\(what)", sourceLocation: sourceLocation) }
    }

    @Test("unsigned, wrong key, tampered body or digest, old created, replay, oversized, malformed, schema violations")
    func refusals() async throws {
        let h = try await IngestHarness { $0.maxBodyBytes = 64 * 1024 }
        defer { Task { await h.stop() } }
        let b = Batches.make(points: 5, events: 1, seed: 1)
        let body = b.jsonBytes

        // Unsigned.
        let unsigned = try await h.send(.post, "/v1/batches", headers: [("Content-Type", "application/json"), ("Idempotency-Key", b.id)], body: body)
        expectProblem(unsigned, 401, "signature", "unsigned")

        // Unknown keyid, and a known keyid with the wrong secret.
        let unknown = try await h.send(.post, "/v1/batches", headers: try h.signedHeaders(body: body, id: b.id, keyID: "nobody"), body: body)
        expectProblem(unknown, 401, "unknown-key", "unknown key")
        let wrongSecret = try await h.send(
            .post, "/v1/batches", headers: try h.signedHeaders(body: body, id: b.id, secret: Array("not-the-right-secret-at-all!".utf8)), body: body)
        expectProblem(wrongSecret, 401, "signature", "wrong secret")

        // Tampered body: signed for one body, another sent.
        var tampered = body
        tampered[tampered.count / 2] = tampered[tampered.count / 2] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
        let tamperedBody = try await h.send(.post, "/v1/batches", headers: try h.signedHeaders(body: body, id: b.id), body: tampered)
        expectProblem(tamperedBody, 401, "digest", "tampered body")

        // Tampered digest: the digest of the sent body, but the signature was over the original digest.
        var headers = try h.signedHeaders(body: body, id: b.id)
        headers.removeAll { $0.0 == "Content-Digest" }
        headers.append(("Content-Digest", ContentDigest.fieldValue(for: tampered)))
        let tamperedDigest = try await h.send(.post, "/v1/batches", headers: headers, body: tampered)
        expectProblem(tamperedDigest, 401, "signature", "tampered digest")

        // created 10 minutes old.
        let old = try await h.send(
            .post, "/v1/batches", headers: try h.signedHeaders(body: body, id: b.id, created: Int64(Date().timeIntervalSince1970) - 600), body: body)
        expectProblem(old, 401, "expired", "created 10 minutes old")

        // A key allowed only events may not post batches.
        let eventsOnly = try await h.send(
            .post, "/v1/batches",
            headers: try h.signedHeaders(body: body, id: b.id, keyID: "events-only", secret: IngestHarness.eventsOnlySecret), body: body)
        expectProblem(eventsOnly, 403, "forbidden", "events-only key")

        // Oversized (as sent, over 64 KiB).
        let big = Batches.make(points: 600, events: 0, seed: 2)
        let bigBody = big.jsonBytes
        #expect(bigBody.count > 64 * 1024)
        let oversized = try await h.send(.post, "/v1/batches", headers: try h.signedHeaders(body: bigBody, id: big.id), body: bigBody)
        expectProblem(oversized, 413, "too-large", "oversized")

        // Malformed JSON, correctly signed.
        let junk = Array(#"{"id": "x", "points": [1, 2"#.utf8)
        let malformed = try await h.send(.post, "/v1/batches", headers: try h.signedHeaders(body: junk, id: "x"), body: junk)
        expectProblem(malformed, 400, "invalid-body", "malformed JSON")
        // Not gzip although it says so.
        let notGzip = try await h.send(.post, "/v1/batches", headers: try h.signedHeaders(body: body, id: b.id, gzip: true), body: body)
        expectProblem(notGzip, 400, "invalid-body", "not gzip")

        // Schema violations, each correctly signed.
        let violations: [(String, String)] = [
            ("points not an array", #"{"id":"v1","created":1,"agent":{"id":"a"},"points":5}"#),
            ("point without measurement", #"{"id":"v2","created":1,"agent":{"id":"a"},"points":[{"time_ns":1,"fields":{"x":1}}]}"#),
            ("point with empty fields", #"{"id":"v3","created":1,"agent":{"id":"a"},"points":[{"measurement":"m","time_ns":1,"fields":{}}]}"#),
            ("tag not a string", #"{"id":"v4","created":1,"agent":{"id":"a"},"points":[{"measurement":"m","time_ns":1,"tags":{"t":1},"fields":{"x":1}}]}"#),
            ("time_ns a string", #"{"id":"v5","created":1,"agent":{"id":"a"},"points":[{"measurement":"m","time_ns":"1","fields":{"x":1}}]}"#),
            ("event without category", #"{"id":"v6","created":1,"agent":{"id":"a"},"events":[{"created":1}]}"#),
            ("agent missing", #"{"id":"v7","created":1}"#),
            ("created not an integer", #"{"id":"v8","created":"now","agent":{"id":"a"}}"#),
            ("not an object", #"[1,2,3]"#),
        ]
        let nowMs = String(Int64(Date().timeIntervalSince1970 * 1000))
        let nowNs = nowMs + "000000"
        for (what, template) in violations {
            // Times within the accepted window, so each case fails for its own reason.
            let text = template.replacingOccurrences(of: #""created":1"#, with: #""created":"# + nowMs)
                .replacingOccurrences(of: #""time_ns":1,"#, with: #""time_ns":"# + nowNs + ",")
            let v = Array(text.utf8)
            let id = (try? JSONValue(parsing: v))?["id"]?.stringValue ?? "v0"
            let r = try await h.send(.post, "/v1/batches", headers: try h.signedHeaders(body: v, id: id), body: v)
            expectProblem(r, 400, "invalid-body", what)
        }
        // Idempotency-Key and body id disagree.
        let mismatch = try await h.send(.post, "/v1/batches", headers: try h.signedHeaders(body: body, id: "another-id"), body: body)
        expectProblem(mismatch, 400, "invalid-body", "id mismatch")

        // Nothing was published so far.
        #expect(try await h.drainQueue().isEmpty)

        // Accept it once; replay with a new created and the same batch id: duplicate, nothing published.
        let first = try await h.postBatch(b, gzip: false)
        #expect(first.status == 202, "\(first.text)")
        let replay = try await h.send(
            .post, "/v1/batches", headers: try h.signedHeaders(body: body, id: b.id, created: Int64(Date().timeIntervalSince1970) + 5), body: body)
        #expect(replay.status == 200, "\(replay.text)")
        #expect(replay.json?["duplicate"] == .bool(true))
        let published = try PublishedMessages.items(try await h.drainQueue())
        #expect(published.bodies == Batches.expectedMessages(b))
        #expect(published.counts.values.allSatisfy { $0 == 1 })
    }

    @Test("over the per-key rate limit: 429 with Retry-After")
    func rateLimit() async throws {
        let h = try await IngestHarness(broker: false) {
            $0.rateLimit = 0.5
            $0.rateBurst = 2
        }
        defer { Task { await h.stop() } }
        var statuses: [Int] = []
        var last: IngestHarness.Reply?
        for i in 0..<3 {
            let r = try await h.postBatch(Batches.make(points: 1, events: 0, seed: i), retry503: false)
            statuses.append(r.status)
            last = r
        }
        #expect(statuses == [202, 202, 429])
        let r = try #require(last)
        expectProblem(r, 429, "rate-limited", "rate limit")
        #expect((r.retryAfter ?? 0) >= 1)
    }

    @Test("events: signed events are accepted; unsupported encoding 415; empty array 400")
    func events() async throws {
        let h = try await IngestHarness(broker: false)
        defer { Task { await h.stop() } }
        let ms = Int64(Date().timeIntervalSince1970 * 1000)
        let body = Array(#"[{"category":"upload","created":\#(ms),"type":"file"},{"category":"delete","created":\#(ms + 1)}]"#.utf8)
        let signed = try await h.send(.post, "/v1/events", headers: try h.signedHeaders(path: "/v1/events", body: body, id: "events-\(UUID().uuidString)"), body: body)
        #expect(signed.status == 202, "\(signed.text)")
        #expect(signed.json?["events"] == 2)
        var headers = [("X-API-Key", IngestHarness.clowderAPIKey), ("Content-Encoding", "br")]
        let br = try await h.send(.post, "/v1/events", headers: headers, body: body)
        expectProblem(br, 415, "unsupported-encoding", "br")
        headers = [("X-API-Key", IngestHarness.clowderAPIKey)]
        let empty = try await h.send(.post, "/v1/events", headers: headers, body: Array("[]".utf8))
        expectProblem(empty, 400, "invalid-body", "empty array")
        let badType = try await h.send(.post, "/v1/events", headers: headers, body: Array(#"{"category":"x","created":\#(ms),"type":5}"#.utf8))
        expectProblem(badType, 400, "invalid-body", "type not a string")
        let none = try await h.send(.post, "/v1/events", headers: [], body: body)
        expectProblem(none, 401, "unauthenticated", "no credentials")
    }
}
