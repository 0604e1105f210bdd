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

    @Test("a window closed by a shutdown and continued after the restart: the two pieces have distinct times and add up")
    func windowClosedEarly() throws {
        func line(_ time: String, _ path: String) -> [UInt8] {
            Array(#"192.0.2.7 - - [29/Nov/2026:\#(time) +0000] "GET \#(path) HTTP/1.1" 200 100 "-" "Mozilla/5.0""#.utf8)
        }
        func add(_ p: AccessLogPipeline, _ lines: [[UInt8]]) { for l in lines { l.withUnsafeBytes { _ = p.add(line: $0) } } }
        func requests(_ points: [Point], at t: Int64) -> Int64? {
            points.first { $0.timeNanoseconds == t }.flatMap { if case .int(let v) = $0.fields["requests"] { v } else { nil } }
        }
        let minute10 = Int64(1_795_946_400) * 1_000_000_000  // 2026-11-29T10:00:00Z in ns
        let config = AccessLogPipelineConfiguration(windowSeconds: 60, latenessSeconds: 30)

        // Before the shutdown: 2 requests at 10:00; SIGTERM closes the open window.
        let before = try AccessLogPipeline(configuration: config)
        add(before, [line("10:00:05", "/"), line("10:00:20", "/datasets")])
        let atShutdown = before.closeAll().points
        #expect(atShutdown.map(\.timeNanoseconds) == [minute10])
        #expect(requests(atShutdown, at: minute10) == 2)

        // After the restart (state restored from the spool): 3 more at 10:00, then 10:01 and 10:03.
        let after = try AccessLogPipeline(configuration: config, snapshot: before.snapshot())
        add(after, [line("10:00:40", "/"), line("10:00:50", "/"), line("10:00:59", "/files"),
                    line("10:01:30", "/"), line("10:03:00", "/")])
        let closed = after.takeClosed().points
        // The second piece of 10:00 is 1 ns later, so InfluxDB keeps both (same series and time would overwrite).
        #expect(closed.map(\.timeNanoseconds) == [minute10 + 1, minute10 + 60_000_000_000])
        #expect(requests(closed, at: minute10 + 1) == 3)
        #expect(requests(closed, at: minute10 + 60_000_000_000) == 1)

        // A second shutdown and restart within the same minute makes a third piece.
        let again = try AccessLogPipeline(configuration: config, snapshot: before.snapshot())
        add(again, [line("10:00:45", "/")])
        let second = again.closeAll().points
        let third = try AccessLogPipeline(configuration: config, snapshot: again.snapshot())
        add(third, [line("10:00:55", "/")])
        #expect(second.map(\.timeNanoseconds) == [minute10 + 1])
        #expect(third.closeAll().points.map(\.timeNanoseconds) == [minute10 + 2])

        // 10:00 closed on time once 10:03 arrived and is forgotten; the open 10:03 has no earlier piece.
        #expect(after.closeAll().points.map(\.timeNanoseconds) == [minute10 + 180_000_000_000])
    }
}
