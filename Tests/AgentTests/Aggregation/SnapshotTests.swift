import Agent
import MetricsModel
import Parsers
import Testing

/// A snapshot taken in the middle and restored into a new pipeline gives exactly the points
/// and events of one straight pass.
@Suite("AccessLogPipeline snapshot")
struct SnapshotTests {
    @Test("two halves with snapshot/restore in between equal one straight pass", arguments: [1234, 2469, 4000])
    func roundTrip(split: Int) throws {
        let gen = try GeneratedLog(["--format", "clowder", "--seed", "9", "--lines", "5000", "--rate", "10"])
        defer { gen.remove() }
        let lines = try gen.lines()
        let config = AccessLogPipelineConfiguration(logFormat: try LogFormat(string: gen.logFormat),
                                                    tags: ["agent": "t"], emitEvents: true)
        let straight = try AccessLogPipeline(configuration: config)
        for l in lines {
            l.withUnsafeBytes { _ = straight.add(line: $0) }
        }
        let s1 = straight.takeClosed(), s2 = straight.closeAll()
        let straightPoints = s1.points + s2.points
        let straightEvents = s1.events + s2.events

        let first = try AccessLogPipeline(configuration: config)
        var points: [Point] = []
        var events: [ClowderEvent] = []
        for l in lines[..<(split - 100)] { l.withUnsafeBytes { _ = first.add(line: $0) } }
        let a = first.takeClosed()
        points += a.points
        events += a.events
        // 100 more lines: their events stay pending across the snapshot.
        for l in lines[(split - 100)..<split] { l.withUnsafeBytes { _ = first.add(line: $0) } }
        let snapshot = first.snapshot()
        let second = try AccessLogPipeline(configuration: config, snapshot: snapshot)
        #expect(second.snapshot() == snapshot)
        #expect(second.watermark == first.watermark)
        for l in lines[split...] { l.withUnsafeBytes { _ = second.add(line: $0) } }
        let b = second.takeClosed(), c = second.closeAll()
        points += b.points + c.points
        events += b.events + c.events

        #expect(points.count == straightPoints.count)
        #expect(points == straightPoints)
        #expect(events.count == straightEvents.count)
        #expect(events == straightEvents)
        #expect(second.lineCount == Int64(lines.count))
        #expect(second.malformedCount == straight.malformedCount)
    }

    @Test("a snapshot from another window size, or damaged, is refused")
    func refused() throws {
        let p = try AccessLogPipeline(configuration: .init(windowSeconds: 60))
        p.add(line: UnsafeRawBufferPointer(start: nil, count: 0))
        let s = p.snapshot()
        #expect(throws: AggregationError.self) { try AccessLogPipeline(configuration: .init(windowSeconds: 10), snapshot: s) }
        #expect(throws: AggregationError.self) { try AccessLogPipeline(configuration: .init(), snapshot: Array(s.dropLast())) }
        #expect(throws: AggregationError.self) { try AccessLogPipeline(configuration: .init(), snapshot: [1, 2, 3]) }
        let restored = try AccessLogPipeline(configuration: .init(), snapshot: s)
        #expect(restored.malformedCount == 1)
    }
}
