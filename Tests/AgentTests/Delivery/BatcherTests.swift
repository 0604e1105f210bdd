import MetricsModel
import Testing

@testable import Agent

@Suite struct BatcherTests {
    let agent = Samples.agent

    @Test func closesAtItemCount() {
        var b = Batcher(agent: agent, maxItems: 3, maxBytes: 1 << 20, maxAge: 60)
        var closed: [Batch] = []
        for n in 0..<7 { closed += b.add(Samples.point(n), now: 1000) }
        #expect(closed.map(\.points.count) == [3, 3])
        #expect(closed.flatMap { $0.points.map { $0.fields["seq"] } } == (0..<6).map { .int(Int64($0)) })
        #expect(b.count == 1)
        #expect(closed.allSatisfy { $0.agent == agent && $0.created == 1000 })
    }

    @Test func closesBeforeExceedingBytes() {
        let size = Samples.point(0).json.jsonBytes.count + 1
        // Envelope 256 bytes + room for exactly two points.
        var b = Batcher(agent: agent, maxItems: 100, maxBytes: Batcher.envelopeBytes + 2 * size + 1, maxAge: 60)
        var closed: [Batch] = []
        for n in 0..<5 { closed += b.add(Samples.point(n), now: 0) }
        #expect(closed.map(\.points.count) == [2, 2])
        #expect(closed.allSatisfy { $0.jsonBytes.count <= Batcher.envelopeBytes + 2 * size + 1 })
    }

    @Test func closesAtAge() {
        var b = Batcher(agent: agent, maxItems: 100, maxBytes: 1 << 20, maxAge: 10)
        #expect(b.add(Samples.point(1), now: 5_000).isEmpty)
        #expect(b.poll(now: 14_999).isEmpty)
        let closed = b.poll(now: 15_000)
        #expect(closed.count == 1 && closed[0].points.count == 1 && closed[0].created == 15_000)
        #expect(b.isEmpty && b.poll(now: 99_999).isEmpty)
        // An add after the age limit closes the old batch first.
        _ = b.add(Samples.point(2), now: 20_000)
        let next = b.add(Samples.point(3), now: 30_001)
        #expect(next.map(\.points.count) == [1])
        #expect(b.count == 1)
    }

    @Test func pendingStateSurvivesARestart() {
        var b = Batcher(agent: agent, maxItems: 100, maxBytes: 1 << 20, maxAge: 10)
        _ = b.add(Samples.point(1), now: 5_000)
        _ = b.add(ClowderEvent(["category": "download", "created": 5_000, "type": "file"]), now: 5_000)
        var restored = Batcher(agent: agent, maxItems: 100, maxBytes: 1 << 20, maxAge: 10, pending: b.pendingState)
        #expect(restored.count == 2)
        let closed = restored.poll(now: 15_000)  // the age counts from before the restart
        #expect(closed.count == 1 && closed[0].points == [Samples.point(1)] && closed[0].events.count == 1)
    }

    @Test func uuidsAreVersion4() {
        var seen: Set<String> = []
        for _ in 0..<1000 {
            let u = Batcher.uuidV4()
            let b = Array(u.utf8)
            #expect(b.count == 36 && b[8] == 45 && b[13] == 45 && b[18] == 45 && b[23] == 45)
            #expect(b[14] == UInt8(ascii: "4"))
            #expect([UInt8(ascii: "8"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "b")].contains(b[19]))
            seen.insert(u)
        }
        #expect(seen.count == 1000)
    }
}
