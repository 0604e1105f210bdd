import Foundation
import MetricsModel
import TestSupport
import Testing

@testable import Ingest

/// How the ingest cuts a batch's points into messages (`CLOWDER_INGEST_POINTS_PER_MESSAGE`,
/// `CLOWDER_INGEST_MAX_MESSAGE_BYTES`), end to end through a real ingest and RabbitMQ too.
@Suite("Ingest: several points per message", .ownThreads)
struct PointMessagesTests {
    static func points(_ n: Int, padding: Int = 0) -> [Point] {
        (0..<n).map { i in
            Point(
                measurement: "nginx_access", tags: ["vhost": "v\(i % 3).example.org", "pad": String(repeating: "p", count: padding)],
                fields: ["requests": .int(Int64(i))], timeNanoseconds: 1_795_953_600_000_000_000 + Int64(i))
        }
    }

    /// Every point of `messages`, in order, with its id, read back as the sinks read them.
    static func readBack(_ messages: [(id: String, body: [UInt8])]) throws -> [(String, Point)] {
        try messages.flatMap { m in
            try MetricsMessage.decodeAll(m.body, messageID: m.id).map { item in
                guard case .success(.point(let p)) = item.decoded else { throw ReadError() }
                return (item.messageID ?? "-", p)
            }
        }
    }
    struct ReadError: Error {}

    @Test("at most POINTS_PER_MESSAGE points a message, in order, each keeping <key>:<batch>:<index>")
    func countBound() throws {
        let ps = Self.points(250)
        let m = try IngestService.pointMessages(ps, batchID: "k:b", agentID: "web-1", keyID: "k", perMessage: 100, maxBytes: 262_144).get()
        #expect(m.map(\.id) == ["k:b:0-99", "k:b:100-199", "k:b:200-249"])
        let back = try Self.readBack(m)
        #expect(back.map(\.0) == (0..<250).map { "k:b:\($0)" })
        #expect(back.map { $0.1.fields["requests"] } == (0..<250).map { .int(Int64($0)) })
        #expect(back.allSatisfy { $0.1.tags["agent"] == "web-1" })
        // One per message: the flat single-point form, message id per point.
        let single = try IngestService.pointMessages(ps, batchID: "k:b", agentID: "web-1", keyID: "k", perMessage: 1, maxBytes: 262_144).get()
        #expect(single.count == 250 && single[7].id == "k:b:7")
        #expect(try JSONValue(parsing: single[7].body)["category"] == "metric")
    }

    @Test("a message never exceeds MAX_MESSAGE_BYTES: a batch is split into as many messages as that takes")
    func byteBound() throws {
        // Elements of about 1,100 bytes: at most 3 fit in 4,096 bytes with the envelope.
        let ps = Self.points(20, padding: 1_000)
        let element = MetricsMessage.elementBytes(for: ps[0]).count
        #expect((1_050...1_150).contains(element))
        let m = try IngestService.pointMessages(ps, batchID: "k:b", agentID: "web-1", keyID: "k", perMessage: 100, maxBytes: 4096).get()
        #expect(m.allSatisfy { $0.body.count <= 4096 }, "\(m.map(\.body.count))")
        #expect(m.count == 7, "20 points, 3 to a message: \(m.map(\.id))")
        #expect(try Self.readBack(m).map(\.0) == (0..<20).map { "k:b:\($0)" })
        // A point too large for a message of its own is refused, naming it.
        var big = Self.points(3)
        big[1].tags["pad"] = String(repeating: "x", count: 5000)
        let refused = IngestService.pointMessages(big, batchID: "k:b", agentID: "web-1", keyID: "k", perMessage: 100, maxBytes: 4096)
        guard case .failure(let e) = refused else {
            Issue.record("accepted a point of 5,000 bytes with MAX_MESSAGE_BYTES 4096")
            return
        }
        #expect(e.index == 1)
    }

    @Test("through the ingest: a 1,050-point batch is 11 messages and every point arrives once with its id")
    func throughTheIngest() async throws {
        let h = try await IngestHarness { $0.status.enabled = false }
        defer { Task { await h.stop() } }
        let b = Batches.make(points: 1_050, events: 2, seed: 3)
        let r = try await h.postBatch(b)
        #expect(r.status == 202, "\(r.text)")
        #expect(r.json?["messages"] == 13)
        let got = try await h.drainQueue()
        #expect(got.count == 13)
        #expect(got.allSatisfy { $0.body.count <= h.configuration.limits.maxMessageBytes })
        let items = try PublishedMessages.items(got)
        #expect(items.bodies == Batches.expectedMessages(b))
        #expect(items.counts.values.allSatisfy { $0 == 1 })
    }
}
