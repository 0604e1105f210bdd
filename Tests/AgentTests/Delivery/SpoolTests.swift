import Foundation
import MetricsModel
import SystemSupport
import TestSupport
import Testing

@testable import Agent

@Suite(.ownThreads) struct SpoolTests {
    @Test func commitStoresGzipBodiesAndState() throws {
        let dir = try makeTempDirectory("spool")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("spool.db").path
        let batches = (1...3).map { Samples.batch($0) }
        do {
            let spool = try Spool(path: path, maxBytes: 1 << 20)
            try spool.commit(batches: batches, state: ["logtail": [1, 2, 3], "aggregator": Array("{}".utf8)])
            try spool.commit(batches: [], state: ["logtail": [4]])
            #expect(spool.stats.batchesSpooled.load(ordering: .relaxed) == 3)
        }
        // Reopened: what was committed is there.
        let spool = try Spool(path: path, maxBytes: 1 << 20)
        #expect(try spool.loadState() == ["logtail": [4], "aggregator": Array("{}".utf8)])
        #expect(try spool.batchIDs() == batches.map(\.id))
        let first = try #require(try spool.oldest())
        #expect(first.id == batches[0].id && first.items == 3)
        #expect(try Batch(jsonBytes: Gzip.decompress(first.body)) == batches[0])
        try spool.remove(first)
        try spool.remove(first)  // already gone: fine
        #expect(try spool.oldest()?.id == batches[1].id)
        #expect(spool.stats.spoolBatches.load(ordering: .relaxed) == 2)
    }

    @Test func deadLetterMovesTheBatch() throws {
        let dir = try makeTempDirectory("spool")
        defer { try? FileManager.default.removeItem(at: dir) }
        let spool = try Spool(path: dir.appendingPathComponent("spool.db").path, maxBytes: 1 << 20)
        let batches = (1...2).map { Samples.batch($0) }
        try spool.commit(batches: batches, state: [:])
        let first = try #require(try spool.oldest())
        try spool.deadLetter(first, status: 400, problem: "400 Bad Request: points[0].fields must be a non-empty object")
        #expect(try spool.batchIDs() == [batches[1].id])
        let dead = try spool.deadLetters()
        #expect(dead.count == 1 && dead[0].id == batches[0].id && dead[0].status == 400)
        #expect(dead[0].problem.contains("points[0].fields"))
    }

    /// Limit 1 MB, 3 MB of incompressible batches: the oldest are dropped and
    /// counted, the newest kept in order; the database file stays within the
    /// bound and the WAL within a quarter of it (checkpointed and truncated).
    @Test func staysWithinItsBound() throws {
        let dir = try makeTempDirectory("spool")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("spool.db").path
        let limit: Int64 = 1_000_000
        let spool = try Spool(path: path, maxBytes: limit)
        var all: [String] = []
        for n in 0..<100 {
            let b = Samples.batch(n, points: 4, padding: 10_000)  // ~30 KB gzip each
            all.append(b.id)
            try spool.commit(batches: [b], state: ["cursor": Array(String(n).utf8)])
            let main = Spool.fileSize(path)
            let wal = Spool.fileSize(path + "-wal")
            #expect(main <= limit, "database file \(main) bytes after commit \(n)")
            #expect(wal <= limit / 4, "WAL \(wal) bytes after commit \(n)")
        }
        let kept = try spool.batchIDs()
        let dropped = spool.stats.batchesDropped.load(ordering: .relaxed)
        #expect(dropped > 0)
        #expect(Int(dropped) + kept.count == 100)
        #expect(kept == Array(all.suffix(kept.count)))  // the newest, in order
        #expect(try spool.loadState()["cursor"] == Array("99".utf8))
        #expect(spool.stats.spoolBytes.load(ordering: .relaxed) <= limit + limit / 4)
    }

    @Test func aBatchLargerThanTheBoundIsDroppedItself() throws {
        let dir = try makeTempDirectory("spool")
        defer { try? FileManager.default.removeItem(at: dir) }
        let spool = try Spool(path: dir.appendingPathComponent("spool.db").path, maxBytes: 100_000)
        let small = Samples.batch(1)
        try spool.commit(batches: [small], state: [:])
        let dropped = try spool.commit(batches: [Samples.batch(2, points: 20, padding: 10_000)], state: ["k": [1]])
        #expect(dropped.count == 2)
        #expect(try spool.count() == 0)
        #expect(try spool.loadState()["k"] == [1])  // the state still commits
    }
}

/// `kill -9` of a process committing batches and state in a loop, at random
/// moments: after each kill the spool holds exactly the batches of every
/// committed state, no more and no fewer.
///
/// The writer is this test binary itself, re-run with
/// `CLOWDER_TEST_SPOOL_WRITER=<spool path>` so that only ``writerChild()``
/// does anything (no fork of a multi-threaded process, no extra executable).
@Suite(.ownThreads) struct SpoolCrashTests {
    static let writerVariable = "CLOWDER_TEST_SPOOL_WRITER"

    /// The child half: commits forever when the variable is set; otherwise does nothing.
    @Test func writerChild() throws {
        guard let path = ProcessInfo.processInfo.environment[Self.writerVariable] else { return }
        let spool = try Spool(path: path, maxBytes: 256 << 20)
        var n = Int(String(decoding: try spool.loadState()["cursor"] ?? Array("0".utf8), as: UTF8.self))!
        while true {
            n += 1
            // Two batches and two state keys per transaction; batch ids name their sequence number.
            let batches = [2 * n - 1, 2 * n].map { k in
                Batch(id: "batch-\(k)", created: Int64(k), agent: Samples.agent, points: [Samples.point(k)], events: [])
            }
            try spool.commit(batches: batches, state: ["cursor": Array(String(n).utf8), "mirror": Array(String(n).utf8)])
        }
    }

    @Test func killedWriterLosesAndRepeatsNothing() throws {
        let dir = try makeTempDirectory("spool-crash")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("spool.db").path
        var lastCursor = 0
        for round in 0..<10 {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            child.arguments = ["--testing-library", "swift-testing", "--filter", "SpoolCrashTests/writerChild"]
            var env = ProcessInfo.processInfo.environment
            env[Self.writerVariable] = path
            child.environment = env
            child.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            child.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try child.run()
            // Wait until it has committed something (however slow its start), then a
            // random while longer, so the kill lands anywhere in a transaction.
            try waitForProgress(spoolPath: path, beyond: lastCursor, child: child)
            usleep(UInt32.random(in: 0...300_000))
            #expect(child.isRunning, "round \(round): the writer exited early")
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()

            let spool = try Spool(path: path, maxBytes: 256 << 20)
            let state = try spool.loadState()
            let cursor = Int(String(decoding: state["cursor"] ?? Array("0".utf8), as: UTF8.self))!
            #expect(state["mirror"] == state["cursor"], "round \(round)")
            #expect(cursor > lastCursor, "round \(round): no progress (cursor \(cursor))")
            let ids = try spool.batchIDs()
            #expect(ids == (0..<(2 * cursor)).map { "batch-\($0 + 1)" }, "round \(round): cursor \(cursor), \(ids.count) batches")
            lastCursor = cursor
        }
    }
}

/// Polls the spool's `cursor` state (a second connection, as WAL allows)
/// until it passes `beyond`, the child exits, or a minute passes.
func waitForProgress(spoolPath: String, beyond: Int, child: Process) throws {
    let reader = try Spool(path: spoolPath, maxBytes: 256 << 20)
    let end = Date().addingTimeInterval(60)
    while child.isRunning, Date() < end {
        let cursor = try reader.loadState()["cursor"].flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
        if cursor > beyond { return }
        usleep(20_000)
    }
}
