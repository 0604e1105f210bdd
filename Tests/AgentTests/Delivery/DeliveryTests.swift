import Foundation
import MetricsModel
import SystemSupport
import TestSupport
import Testing

@testable import Agent

/// ``Delivery``: the batcher's open batch, the batches and the caller's state
/// go into the spool together.
@Suite(.ownThreads) struct DeliveryTests {
    static func configuration(_ dir: URL) throws -> DeliveryConfiguration {
        var c = try Samples.configuration(dir, ingestURL: "http://127.0.0.1:9")
        c.batchMaxPoints = 7
        c.batchMaxAge = 3600
        return c
    }

    /// `seq` of every point in the spooled batches, in order, and in the saved open batch.
    static func contents(_ spool: Spool) throws -> (spooled: [Int64], pending: [Int64]) {
        var spooled: [Int64] = []
        let db = try Spool(path: spool.path, maxBytes: spool.maxBytes)  // a second connection, like a forwarder
        while let b = try db.oldest() {
            spooled += try Batch(jsonBytes: Gzip.decompress(b.body)).points.compactMap { $0.fields["seq"]?.intValue }
            try db.remove(b)
        }
        let pending = try JSONValue(parsing: try spool.loadState()[Delivery.batcherStateKey] ?? Array("{}".utf8))
        return (spooled, (pending["points"]?.arrayValue ?? []).compactMap { $0["fields"]?["seq"]?.intValue })
    }

    @Test func openBatchIsSavedWithTheState() throws {
        let dir = try makeTempDirectory("delivery")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try Self.configuration(dir)
        do {
            let d = try Delivery(configuration: config, agent: Samples.agent)
            for n in 1...10 { try d.submit(points: [Samples.point(n)], state: ["cursor": Array(String(n).utf8)]) }
            #expect(try d.loadState() == ["cursor": Array("10".utf8)])
            #expect(try d.spool.count() == 1)  // 7 closed, 3 open
        }
        let d = try Delivery(configuration: config, agent: Samples.agent)  // "restart"
        try d.submit(points: (11...14).map { Samples.point($0) })          // 3 + 4 = 7: closes
        let (spooled, pending) = try Self.contents(d.spool)
        #expect(spooled == Array(1...14))
        #expect(pending == [])
    }

    @Test func tickClosesByAge() throws {
        let dir = try makeTempDirectory("delivery")
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = try Self.configuration(dir)
        config.batchMaxAge = 5
        let d = try Delivery(configuration: config, agent: Samples.agent)
        try d.submit(points: [Samples.point(1)], now: 1_000)
        #expect(try d.tick(now: 5_999) == 0)
        #expect(try d.tick(now: 6_000) == 1)
        #expect(try Self.contents(d.spool) == ([1], []))
    }

    /// The child half of the crash test: submits forever when the variable is set.
    @Test func writerChild() throws {
        guard let dir = ProcessInfo.processInfo.environment["CLOWDER_TEST_DELIVERY_WRITER"] else { return }
        let d = try Delivery(configuration: Self.configuration(URL(fileURLWithPath: dir)), agent: Samples.agent)
        var n = Int(String(decoding: try d.loadState()["cursor"] ?? Array("0".utf8), as: UTF8.self))!
        while true {
            let k = Int.random(in: 1...4)  // a few "lines" per turn, the cursor after them
            try d.submit(points: (n + 1...n + k).map { Samples.point($0) }, state: ["cursor": Array(String(n + k).utf8)])
            n += k
        }
    }

    /// `kill -9` of a process submitting in a loop: after each kill, the
    /// spooled batches plus the saved open batch hold exactly the points up
    /// to the saved cursor — nothing lost, nothing twice.
    @Test func killedSubmitterLosesAndRepeatsNothing() throws {
        let dir = try makeTempDirectory("delivery-crash")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try Self.configuration(dir)
        var last = 0
        var delivered: [Int64] = []
        for round in 0..<8 {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            child.arguments = ["--testing-library", "swift-testing", "--filter", "DeliveryTests/writerChild"]
            var env = ProcessInfo.processInfo.environment
            env["CLOWDER_TEST_DELIVERY_WRITER"] = dir.path
            child.environment = env
            child.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            child.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try child.run()
            try waitForProgress(spoolPath: config.spoolPath, beyond: last, child: child)
            usleep(UInt32.random(in: 0...300_000))
            #expect(child.isRunning, "round \(round): the writer exited early")
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()

            let spool = try Spool(path: config.spoolPath, maxBytes: config.spoolMaxBytes)
            let cursor = Int(String(decoding: try spool.loadState()["cursor"] ?? Array("0".utf8), as: UTF8.self))!
            #expect(cursor > last, "round \(round): no progress")
            let (spooled, pending) = try Self.contents(spool)  // removes the spooled batches, as a forwarder does
            delivered += spooled
            let all = delivered + pending
            let expected = (0..<cursor).map { Int64($0 + 1) }
            #expect(all == expected, "round \(round): cursor \(cursor), \(all.count) points, first \(all.first ?? -1), last \(all.last ?? -1)")
            last = cursor
        }
    }
}
