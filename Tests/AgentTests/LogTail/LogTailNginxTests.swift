import Agent
import Foundation
import Storage
import Testing
#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// LogTail following the access log of a real NGINX (Debian package) that
/// serves real HTTP requests, through each kind of rotation. Every request has
/// its own query string (`/r?id=<burst>-<n>`), so the test checks that each one
/// was handed out exactly once, not just the count.
@Suite("LogTail with NGINX", .serialized, .ownThreads)
struct LogTailNginxTests {
    /// `$request_id` and `$msec` make every line's first bytes unique, as in real logs.
    static let format = #"$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_id $msec"#

    /// Sends `count` requests `/r?id=<burst>-<n>` and returns their ids.
    static func burst(_ nginx: NginxServer, _ burst: String, _ count: Int) throws -> [String] {
        try (0..<count).map { n in
            let id = "\(burst)-\(n)"
            let response = try nginx.get("/r?id=\(id)")
            #expect(response.status == 200)
            return id
        }
    }

    /// The request ids in the lines handed out, in order.
    static func ids(_ lines: [String]) -> [String] {
        lines.compactMap { line in
            guard let start = line.range(of: "/r?id=")?.upperBound,
                  let end = line[start...].firstIndex(of: " ") else { return nil }
            return String(line[start..<end])
        }
    }

    /// Polls until every id in `expected` was seen, then once more, and checks
    /// each was seen exactly once and nothing else was.
    static func expectExactly(_ expected: [String], _ collector: LineCollector, _ tail: LogTail,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let want = Set(expected)
        try collector.poll(tail) { Set(ids($0.lines)).isSuperset(of: want) }
        try collector.poll(tail)
        let got = ids(collector.lines)
        #expect(got.count == collector.lines.count, "lines that are not our requests", sourceLocation: sourceLocation)
        #expect(Set(got) == want, sourceLocation: sourceLocation)
        #expect(got.count == expected.count, "some request handed out twice", sourceLocation: sourceLocation)
    }

    static func options() -> LogTailOptions {
        var o = LogTailOptions()
        o.rotateWait = .seconds(30)   // never close a rotated file during the test
        return o
    }

    @Test("mv + kill -USR1, with requests before, between and after")
    func renameAndReopen() throws {
        let nginx = try NginxServer(logFormat: Self.format)
        defer { nginx.stop() }
        let tail = try LogTail(paths: [nginx.accessLogPath], options: Self.options())
        let c = LineCollector()
        var sent = try Self.burst(nginx, "a", 30)
        try c.poll(tail) { Self.ids($0.lines).count == 30 }
        sent += try Self.burst(nginx, "b", 20)
        try c.poll(tail)                                    // maybe part of b
        try FileManager.default.moveItem(atPath: nginx.accessLogPath, toPath: nginx.accessLogPath + ".1")
        sent += try Self.burst(nginx, "c", 20)              // still written to access.log.1
        try c.poll(tail)
        try nginx.reopenLogs()
        sent += try Self.burst(nginx, "d", 30)              // the new access.log
        try Self.expectExactly(sent, c, tail)
        #expect(tail.stats.rotations == 1)
        #expect(tail.stats.truncations == 0)
        #expect(tail.stats.filesOpen == 2)
    }

    @Test("copytruncate of the live file")
    func copyTruncate() throws {
        let nginx = try NginxServer(logFormat: Self.format)
        defer { nginx.stop() }
        let tail = try LogTail(paths: [nginx.accessLogPath], options: Self.options())
        let c = LineCollector()
        var sent = try Self.burst(nginx, "a", 40)
        try c.poll(tail) { Set(Self.ids($0.lines)).count == 40 }
        try FileManager.default.copyItem(atPath: nginx.accessLogPath, toPath: nginx.accessLogPath + ".1")
        #expect(truncate(nginx.accessLogPath, 0) == 0)
        sent += try Self.burst(nginx, "b", 10)              // fewer bytes than before: shorter file
        try c.poll(tail) { Set(Self.ids($0.lines)).count == 50 }
        try FileManager.default.copyItem(atPath: nginx.accessLogPath, toPath: nginx.accessLogPath + ".2")
        #expect(truncate(nginx.accessLogPath, 0) == 0)
        sent += try Self.burst(nginx, "c", 60)              // refilled past the old offset before the poll
        try Self.expectExactly(sent, c, tail)
        #expect(tail.stats.truncations == 2)
    }

    @Test("copytruncate with the copies watched: requests after the last poll are read from the copy")
    func copyTruncateCopyWatched() throws {
        let nginx = try NginxServer(logFormat: Self.format)
        defer { nginx.stop() }
        let tail = try LogTail(paths: [nginx.accessLogPath + "*"], options: Self.options())
        let c = LineCollector()
        var sent = try Self.burst(nginx, "a", 30)
        try c.poll(tail) { Set(Self.ids($0.lines)).count == 30 }
        sent += try Self.burst(nginx, "b", 15)              // not polled before the copy
        // Wait until NGINX wrote all of b (it logs after answering) before copying.
        let want = 45
        let deadline = Date().addingTimeInterval(20)
        while (try String(contentsOfFile: nginx.accessLogPath, encoding: .utf8)).split(separator: "\n").count < want,
              Date() < deadline { usleep(2_000) }
        try FileManager.default.copyItem(atPath: nginx.accessLogPath, toPath: nginx.accessLogPath + ".1")
        #expect(truncate(nginx.accessLogPath, 0) == 0)
        sent += try Self.burst(nginx, "c", 20)
        try Self.expectExactly(sent, c, tail)
        #expect(tail.stats.truncations == 1)
    }

    @Test("rm + kill -USR1 (delete and re-create)")
    func deleteAndRecreate() throws {
        let nginx = try NginxServer(logFormat: Self.format)
        defer { nginx.stop() }
        let tail = try LogTail(paths: [nginx.accessLogPath], options: Self.options())
        let c = LineCollector()
        var sent = try Self.burst(nginx, "a", 25)
        try c.poll(tail) { Self.ids($0.lines).count == 25 }
        sent += try Self.burst(nginx, "b", 10)
        #expect(unlink(nginx.accessLogPath) == 0)
        sent += try Self.burst(nginx, "c", 10)              // written to the deleted file
        try nginx.reopenLogs()
        sent += try Self.burst(nginx, "d", 25)
        try Self.expectExactly(sent, c, tail)
        #expect(tail.stats.rotations == 1)
    }

    @Test("tail stopped and restarted from saved checkpoints, with requests and a rotation while stopped")
    func restart() throws {
        let nginx = try NginxServer(logFormat: Self.format)
        defer { nginx.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try SQLiteDatabase(path: dir.file("spool.db"))
        let store = try CheckpointStore(database: db)
        #expect(try store.load().isEmpty)

        // The "spool": ids committed in the same transaction as the checkpoints.
        try db.execute("CREATE TABLE seen (id TEXT NOT NULL)")
        func commit(_ collector: LineCollector, _ tail: LogTail) throws {
            try db.transaction {
                for id in Self.ids(collector.lines) { try db.run("INSERT INTO seen VALUES (?)", .text(id)) }
                try store.save(tail.checkpoints)
            }
            collector.lines.removeAll()
        }

        var sent: [String] = []
        do {
            let tail = try LogTail(paths: [nginx.accessLogPath], options: Self.options(), checkpoints: try store.load())
            let c = LineCollector()
            sent += try Self.burst(nginx, "a", 30)
            try c.poll(tail) { Self.ids($0.lines).count == 30 }
            try commit(c, tail)
            sent += try Self.burst(nginx, "b", 20)
            try c.poll(tail)
            try commit(c, tail)
            sent += try Self.burst(nginx, "c", 10)
            try c.poll(tail)             // read but never committed: a crash loses these from memory
        }
        // Stopped: requests, a rename rotation, more requests.
        sent += try Self.burst(nginx, "d", 15)
        try FileManager.default.moveItem(atPath: nginx.accessLogPath, toPath: nginx.accessLogPath + ".1")
        sent += try Self.burst(nginx, "e", 5)
        try nginx.reopenLogs()
        sent += try Self.burst(nginx, "f", 20)

        let saved = try store.load()
        #expect(saved.count == 1)
        let tail = try LogTail(paths: [nginx.accessLogPath], options: Self.options(), checkpoints: saved)
        let c = LineCollector()
        sent += try Self.burst(nginx, "g", 10)
        let committed = try db.query("SELECT id FROM seen").compactMap { $0[0].text }
        try c.poll(tail) { Set(committed + Self.ids($0.lines)).isSuperset(of: Set(sent)) }
        try c.poll(tail)
        try commit(c, tail)
        let all = try db.query("SELECT id FROM seen").compactMap { $0[0].text }
        #expect(all.count == sent.count, "each request exactly once")
        #expect(Set(all) == Set(sent))
        #expect(try store.load().count == 2)    // access.log.1 (being finished) and access.log
    }
    @Test("requests arriving all the time through mv + USR1, rm + USR1 and a restart of the tail")
    func continuousTraffic() throws {
        let nginx = try NginxServer(logFormat: Self.format)
        defer { nginx.stop() }
        let total = 400
        // Follow the log before the first request: a first start reads from the end.
        var tail = try LogTail(paths: [nginx.accessLogPath], options: Self.options())
        let done = DispatchSemaphore(value: 0)
        let failures = SenderFailures()
        DispatchQueue.global().async {
            for n in 0..<total {
                do {
                    if try nginx.get("/r?id=s-\(n)").status != 200 { failures.add("s-\(n): status") }
                } catch { failures.add("s-\(n): \(error)") }
                if n % 20 == 0 { usleep(2_000) }
            }
            done.signal()
        }
        var committed: [String] = []
        let log = nginx.accessLogPath
        func seen(_ lines: [String]) -> Int { Set(committed + Self.ids(lines)).count }

        var c = LineCollector()
        try c.poll(tail) { seen($0.lines) >= 60 }
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        try c.poll(tail)
        try nginx.reopenLogs()
        try c.poll(tail) { seen($0.lines) >= 150 }
        #expect(unlink(log + ".1") == 0)          // the rotated file goes while still open
        try FileManager.default.moveItem(atPath: log, toPath: log + ".2")
        try nginx.reopenLogs()
        try c.poll(tail) { seen($0.lines) >= 220 }
        // Stop the tail (its state saved with what it handed out), keep NGINX busy, start a new one.
        let saved = tail.checkpointData()
        committed += Self.ids(c.lines)
        usleep(50_000)
        // Rotated while stopped (renamed: a file deleted while no tail holds it open is gone with its lines).
        try FileManager.default.moveItem(atPath: log, toPath: log + ".3")
        try nginx.reopenLogs()
        tail = try LogTail(paths: [log], options: Self.options(), checkpointData: saved)
        c = LineCollector()
        try c.poll(tail) { seen($0.lines) >= 300 }
        done.wait()
        let expected = (0..<total).map { "s-\($0)" }
        try c.poll(tail) { Set(committed + Self.ids($0.lines)) == Set(expected) }
        try c.poll(tail)
        let all = committed + Self.ids(c.lines)
        #expect(failures.list.isEmpty)
        #expect(Set(all) == Set(expected), "missing: \(Set(expected).subtracting(all).sorted())")
        #expect(all.count == total, "some request handed out twice")
    }
}

/// Errors collected on the sender's thread.
final class SenderFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var list: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
