import Agent
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// LogTail on plain files written by the test (NGINX-driven cases are in LogTailNginxTests).
@Suite("LogTail", .ownThreads)
struct LogTailTests {
    static func fromStart() -> LogTailOptions {
        var o = LogTailOptions()
        o.startAtBeginning = true
        return o
    }

    @Test("a line split across two writes 50 ms apart is handed out once, whole")
    func splitLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile("", to: log)
        let tail = try LogTail(paths: [log])
        let c = LineCollector()
        try appendToFile("127.0.0.1 - - [29/Nov/2026:17:00:00 +0000] \"GET /fi", to: log)
        #expect(try c.poll(tail) == 0)
        usleep(50_000)
        try appendToFile("les/1 HTTP/1.1\" 200 5\n", to: log)
        #expect(try c.poll(tail) == 1)
        #expect(c.lines == ["127.0.0.1 - - [29/Nov/2026:17:00:00 +0000] \"GET /files/1 HTTP/1.1\" 200 5"])
        #expect(try c.poll(tail) == 0)
        #expect(tail.stats.lines == 1)
        #expect(tail.stats.bytes == 73)
        #expect(tail.checkpoints.map(\.offset) == [73])
    }

    @Test("files present at the first start are read from their end; new files from their start")
    func startPositions() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try appendToFile(numberedLines("old", 0..<3), to: dir.file("a.log"))
        let tail = try LogTail(paths: [dir.path + "/*.log"])
        let c = LineCollector()
        #expect(try c.poll(tail) == 0)
        try appendToFile(numberedLines("a", 0..<2), to: dir.file("a.log"))
        try appendToFile(numberedLines("b", 0..<2), to: dir.file("b.log"))   // appears after the start
        try appendToFile(numberedLines("ignored", 0..<2), to: dir.file("c.txt"))
        try c.poll(tail)
        #expect(c.lines.sorted() == ["a-0", "a-1", "b-0", "b-1"])
        #expect(tail.stats.filesOpen == 2)

        let again = try LogTail(paths: [dir.file("a.log")], options: Self.fromStart())
        let c2 = LineCollector()
        try c2.poll(again)
        #expect(c2.lines == ["old-0", "old-1", "old-2", "a-0", "a-1"])
    }

    @Test("a file found at the end mid-line skips that line's rest")
    func startMidLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile("first\nhalf a li", to: log)
        let tail = try LogTail(paths: [log])
        let c = LineCollector()
        try appendToFile("ne\nnext\n", to: log)
        try c.poll(tail)
        #expect(c.lines == ["next"])
    }

    @Test("an over-long line is cut to the limit, counted and sampled")
    func overlongLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile("", to: log)
        var options = LogTailOptions()
        options.maxLineLength = 100
        options.readBufferSize = 4096
        let tail = try LogTail(paths: [log], options: options)
        let c = LineCollector()
        let long = String(repeating: "L", count: 250)
        // One long line inside one read, and one (10,000 bytes) arriving over several reads and polls.
        try appendToFile("short\n\(long)\nafter\n", to: log)
        try c.poll(tail)
        try appendToFile(String(repeating: "M", count: 6000), to: log)
        try c.poll(tail)
        try appendToFile(String(repeating: "M", count: 4000) + "\nend\n", to: log)
        try c.poll(tail)
        #expect(c.lines == ["short", String(repeating: "L", count: 100), "after", String(repeating: "M", count: 100), "end"])
        let stats = tail.stats
        #expect(stats.overlongLines == 2)
        #expect(stats.lines == 5)
        #expect(stats.bytes == Int64(6 + 251 + 6 + 10_001 + 4))
        #expect(stats.overlongLineSamples.map(\.offset) == [6, 263])
        #expect(stats.overlongLineSamples.map { $0.start.count } == [100, 100])
        #expect(stats.overlongLineSamples[1].start == Array(repeating: UInt8(ascii: "M"), count: 100))
        #expect(tail.checkpoints.map(\.offset) == [Int64(6 + 251 + 6 + 10_001 + 4)])
    }

    @Test("the default limit cuts a 70,000-byte line to 65,536 bytes")
    func defaultLimit() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile(String(repeating: "z", count: 70_000) + "\nok\n", to: log)
        let tail = try LogTail(paths: [log], options: Self.fromStart())
        var lengths: [Int] = []
        try tail.poll { lengths.append($0.count) }
        #expect(lengths == [65_536, 2])
        #expect(tail.stats.overlongLines == 1)
    }

    @Test("copytruncate: a file shorter than the position is read again from 0")
    func truncation() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile(numberedLines("before", 0..<20), to: log)
        let tail = try LogTail(paths: [log], options: Self.fromStart())
        let c = LineCollector()
        try c.poll(tail)
        #expect(c.lines.count == 20)
        #expect(truncate(log, 0) == 0)
        try appendToFile(numberedLines("after", 0..<3), to: log)
        try c.poll(tail)
        #expect(c.lines.suffix(3) == ["after-0", "after-1", "after-2"])
        #expect(tail.stats.truncations == 1)
        #expect(c.lines.count == 23)
    }

    @Test("copytruncate refilled past the old position before the next poll is noticed by the fingerprint")
    func truncationRefilledPastOffset() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile(numberedLines("before", 0..<10), to: log)
        let tail = try LogTail(paths: [log], options: Self.fromStart())
        let c = LineCollector()
        try c.poll(tail)
        let offset = tail.checkpoints[0].offset
        #expect(truncate(log, 0) == 0)
        try appendToFile(numberedLines("refill", 0..<40), to: log)
        #expect(Int64(try FileManager.default.attributesOfItem(atPath: log)[.size] as! Int) > offset)
        try c.poll(tail)
        #expect(c.lines == (0..<10).map { "before-\($0)" } + (0..<40).map { "refill-\($0)" })
        #expect(tail.stats.truncations == 1)
    }

    @Test("rename rotation: the old file is read to its end, the new one from its start")
    func renameRotation() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile("", to: log)
        let tail = try LogTail(paths: [log])
        let c = LineCollector()
        try appendToFile(numberedLines("one", 0..<5), to: log)
        try c.poll(tail)
        #expect(rename(log, log + ".1") == 0)
        try appendToFile(numberedLines("late", 0..<3), to: log + ".1")    // a worker that has not reopened yet
        try appendToFile(numberedLines("two", 0..<4), to: log)
        try c.poll(tail)
        try appendToFile(numberedLines("later", 0..<2), to: log + ".1")
        try c.poll(tail)
        let expected: [String] = [("one", 5), ("late", 3), ("two", 4), ("later", 2)].flatMap { name, count in
            (0..<count).map { "\(name)-\($0)" }
        }
        #expect(c.lines.count == 14)
        #expect(Set(c.lines) == Set(expected))
        #expect(tail.stats.rotations == 1)
        #expect(tail.stats.filesOpen == 2)
    }

    @Test("a rotated file is closed once it stopped growing for rotateWait")
    func rotatedFileClosed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile("", to: log)
        var options = LogTailOptions()
        options.rotateWait = .zero
        let tail = try LogTail(paths: [log], options: options)
        let c = LineCollector()
        try appendToFile(numberedLines("one", 0..<2), to: log)
        #expect(unlink(log) == 0)
        try c.poll(tail)
        #expect(c.lines == ["one-0", "one-1"])
        #expect(tail.stats.filesOpen == 0)
        #expect(tail.checkpoints.isEmpty)
        try appendToFile(numberedLines("two", 0..<2), to: log)
        try c.poll(tail)
        #expect(c.lines == ["one-0", "one-1", "two-0", "two-1"])
    }

    @Test("restart: each file resumes after its last line; a file renamed meanwhile is found and finished")
    func restartFromCheckpoints() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile(numberedLines("a", 0..<5), to: log)
        let first = try LogTail(paths: [log], options: Self.fromStart())
        let c = LineCollector()
        try c.poll(first)
        try appendToFile("b-0\nb-1\nb-", to: log)
        try c.poll(first)
        let saved = first.checkpointData()
        #expect(first.checkpoints.map(\.offset) == [Int64(5 * 4 + 8)])
        // Stopped: more lines, then rotation by rename and a new file.
        try appendToFile("2\nb-3\n", to: log)
        #expect(rename(log, log + ".1") == 0)
        try appendToFile(numberedLines("c", 0..<2), to: log)
        let second = try LogTail(paths: [log], checkpointData: saved)
        try c.poll(second)
        #expect(c.lines == ["a-0", "a-1", "a-2", "a-3", "a-4", "b-0", "b-1", "b-2", "b-3", "c-0", "c-1"])
    }

    @Test("a file shorter than the fingerprint when first seen keeps its identity as it grows")
    func shortFileGrows() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile("tiny-0\n", to: log)
        let tail = try LogTail(paths: [log], options: Self.fromStart())
        let c = LineCollector()
        try c.poll(tail)
        let early = tail.checkpoints
        #expect(early.map(\.fingerprintLength) == [7])
        try appendToFile(numberedLines("grow", 0..<40), to: log)
        try c.poll(tail)
        #expect(tail.stats.truncations == 0)
        #expect(tail.checkpoints.map(\.fingerprintLength) == [256])
        #expect(c.lines.count == 41)
        // A restart from the early checkpoint (7 bytes) resumes right after tiny-0.
        let again = try LogTail(paths: [log], checkpoints: early)
        let c2 = LineCollector()
        try c2.poll(again)
        #expect(c2.lines == (0..<40).map { "grow-\($0)" })
    }

    @Test("inode reuse: a new file with a saved file's inode but other first bytes is read from its start")
    func inodeReuse() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile(numberedLines("old", 0..<30), to: log)
        let first = try LogTail(paths: [log], options: Self.fromStart())
        try LineCollector().poll(first)
        var saved = first.checkpoints
        let oldInode = inodeNumber(of: log)
        #expect(saved.map(\.inode) == [oldInode])
        #expect(unlink(log) == 0)
        // Create files until the file system hands out the freed inode again (ext4 does at once).
        var reused = false
        for i in 0..<64 {
            let candidate = dir.file("new-\(i)")
            try appendToFile("", to: candidate)
            if inodeNumber(of: candidate) == oldInode {
                #expect(rename(candidate, log) == 0)
                reused = true
                break
            }
        }
        if !reused {
            // ext4 does not hand out an inode deleted in the last few seconds again; what the
            // tail then sees of a reuse (the same device and inode, other first bytes) is made
            // by writing new content into a file that keeps the inode.
            for i in 0..<64 { unlink(dir.file("new-\(i)")) }
            let keeper = dir.file("keeper")
            try appendToFile(numberedLines("old", 0..<30), to: keeper)
            let reusedInode = inodeNumber(of: keeper)
            #expect(rename(keeper, log) == 0)
            #expect(truncate(log, 0) == 0)
            saved = saved.map { var c = $0; c.inode = reusedInode; return c }
            Issue.record("inode \(oldInode) was not reused by the file system; same inode, new content instead",
                         severity: .warning)
        }
        try appendToFile(numberedLines("new", 0..<40), to: log)
        let second = try LogTail(paths: [log], checkpoints: saved)
        let c = LineCollector()
        try c.poll(second)
        #expect(c.lines == (0..<40).map { "new-\($0)" })
        #expect(second.checkpoints.map(\.inode) == [inodeNumber(of: log)])
    }

    @Test("saved checkpoint data without files is a restart: files that appeared meanwhile are read from their start")
    func restartWithNoFiles() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try LogTail(paths: [dir.path + "/*.log"])
        let saved = first.checkpointData()
        #expect(saved == Array("LTC1".utf8) + [0, 0, 0, 0])
        try appendToFile(numberedLines("while-stopped", 0..<2), to: dir.file("access.log"))
        let second = try LogTail(paths: [dir.path + "/*.log"], checkpointData: saved)
        let c = LineCollector()
        try c.poll(second)
        #expect(c.lines == ["while-stopped-0", "while-stopped-1"])
        // Nothing saved at all: a first start, read from the end.
        let fresh = try LogTail(paths: [dir.path + "/*.log"], checkpointData: [])
        #expect(try fresh.poll { _ in } == 0)
    }

    @Test("a restart on a renumbered device (remount) matches by inode and first bytes")
    func renumberedDevice() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile(numberedLines("old", 0..<20), to: log)
        let first = try LogTail(paths: [log], options: Self.fromStart())
        try LineCollector().poll(first)
        let saved = first.checkpoints.map { var c = $0; c.device &+= 1; return c }
        try appendToFile(numberedLines("new", 0..<3), to: log)
        let second = try LogTail(paths: [log], checkpoints: saved)
        let c = LineCollector()
        try c.poll(second)
        #expect(c.lines == ["new-0", "new-1", "new-2"])
    }

    @Test("same inode, rewritten in place while stopped, is a new file")
    func rewrittenWhileStopped() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile(numberedLines("old", 0..<30), to: log)
        let first = try LogTail(paths: [log], options: Self.fromStart())
        try LineCollector().poll(first)
        let saved = first.checkpoints
        #expect(truncate(log, 0) == 0)
        try appendToFile(numberedLines("fresh", 0..<60), to: log)
        let second = try LogTail(paths: [log], checkpoints: saved)
        let c = LineCollector()
        try c.poll(second)
        #expect(c.lines == (0..<60).map { "fresh-\($0)" })
    }

    @Test("a throw from the closure: checkpoints cover exactly the lines before it, which are not handed out again")
    func closureThrows() throws {
        struct Stop: Error {}
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile(numberedLines("l", 0..<10), to: log)
        let tail = try LogTail(paths: [log], options: Self.fromStart())
        var seen: [String] = []
        #expect(throws: Stop.self) {
            try tail.poll { line in
                if seen.count == 4 { throw Stop() }
                seen.append(String(decoding: line, as: UTF8.self))
            }
        }
        #expect(tail.checkpoints.map(\.offset) == [16])   // "l-0\n" … "l-3\n"
        let saved = tail.checkpoints
        // The same tail goes on with the refused line…
        let c = LineCollector()
        try c.poll(tail)
        #expect(seen + c.lines == (0..<10).map { "l-\($0)" })
        // …and so does a new tail from the checkpoints taken at the throw.
        let again = try LogTail(paths: [log], checkpoints: saved)
        let c2 = LineCollector()
        try c2.poll(again)
        #expect(seen + c2.lines == (0..<10).map { "l-\($0)" })
    }

    @Test("copytruncate with the copy watched: lines written after the last poll are read from the copy")
    func copyTruncateWithCopyWatched() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile("", to: log)
        let tail = try LogTail(paths: [log + "*"])
        let c = LineCollector()
        try appendToFile(numberedLines("a", 0..<10, padding: 30), to: log)
        try c.poll(tail)
        try appendToFile(numberedLines("b", 0..<5, padding: 30), to: log)    // not polled before the copy
        try FileManager.default.copyItem(atPath: log, toPath: log + ".1")
        #expect(truncate(log, 0) == 0)
        try appendToFile(numberedLines("c", 0..<3, padding: 30), to: log)
        try c.poll(tail)
        try c.poll(tail)
        let expected = ["a", "b", "c"].flatMap { p in
            (0..<(p == "a" ? 10 : p == "b" ? 5 : 3)).map { "\(p)-\($0)" + String(repeating: "x", count: 30) }
        }
        #expect(c.lines.sorted() == expected.sorted())
        #expect(tail.stats.truncations == 1)
    }

    @Test("a copy made before the truncation waits and is read only from where the original stood")
    func copySeenBeforeTruncation() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("access.log")
        try appendToFile("", to: log)
        let tail = try LogTail(paths: [log + "*"])
        let c = LineCollector()
        try appendToFile(numberedLines("a", 0..<10, padding: 30), to: log)
        try c.poll(tail)
        try FileManager.default.copyItem(atPath: log, toPath: log + ".1")
        try c.poll(tail)                           // sees the copy: same first bytes, not read
        #expect(c.lines.count == 10)
        try appendToFile(numberedLines("b", 0..<2, padding: 30), to: log)   // after the copy: lost by copytruncate
        #expect(truncate(log, 0) == 0)
        try appendToFile(numberedLines("c", 0..<3, padding: 30), to: log)
        try c.poll(tail)
        try c.poll(tail)
        #expect(c.lines.count == 13)
        #expect(c.lines.suffix(3).map { String($0.prefix(3)) } == ["c-0", "c-1", "c-2"])
    }

    @Test("checkpoint data round-trips; damaged data is refused")
    func checkpointEncoding() throws {
        let list = [
            FileCheckpoint(device: 2049, inode: 1_234_567, fingerprintLength: 256, fingerprint: 0xDEAD_BEEF_0123_4567,
                           offset: 9_876_543_210, path: "/var/log/nginx/access.log"),
            FileCheckpoint(device: UInt64.max, inode: 1, fingerprintLength: 0, fingerprint: 0, offset: 0, path: "é"),
        ]
        let data = FileCheckpoint.encode(list)
        #expect(data.count == 8 + 2 * 36 + 25 + 2)
        #expect(try FileCheckpoint.decode(data) == list)
        #expect(try FileCheckpoint.decode([]) == [])
        #expect(throws: LogTailError.self) { try FileCheckpoint.decode(Array(data.dropLast())) }
        #expect(throws: LogTailError.self) { try FileCheckpoint.decode(Array("nope0000".utf8)) }
    }

    @Test("an unreadable path gives an error naming the path and the errno text")
    func unreadablePath() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let missing = dir.file("nodir/missing.log")
        do {
            _ = try LogTail(paths: [missing])
            Issue.record("no error")
        } catch let error as LogTailError {
            #expect(error.code == .cannotOpen)
            #expect(error.errno == ENOENT)
            #expect(error.description == "cannot open \(missing): No such file or directory (errno 2)")
        }
        #expect(throws: LogTailError(code: .notARegularFile, path: dir.path)) {
            _ = try LogTail(paths: [dir.path])
        }
        do {
            _ = try LogTail(paths: [dir.path + "/nodir/*.log"])
            Issue.record("no error")
        } catch let error as LogTailError {
            #expect(error.code == .cannotOpen)
            #expect(error.errno == ENOENT)
            #expect(error.description.contains("\(dir.path)/nodir/*.log"))
        }
        // A glob whose directory exists may match nothing yet: files can appear later.
        let tail = try LogTail(paths: [dir.path + "/*.log"])
        #expect(tail.stats.filesOpen == 0)
    }

    @Test("a plain path not there yet is waited for and read from its start when it appears")
    func plainPathAppearsLater() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("access.log")
        let tail = try LogTail(paths: [path])  // a first start: files present would be read from their end
        #expect(tail.stats.filesOpen == 0)
        #expect(try tail.poll { _ in } == 0)
        try "one\ntwo\n".write(toFile: path, atomically: false, encoding: .utf8)
        var lines: [String] = []
        let deadline = Date().addingTimeInterval(10)
        while lines.count < 2, Date() < deadline {
            try tail.poll { lines.append(String(decoding: $0, as: UTF8.self)) }
            if lines.count < 2 { tail.waitForData(timeout: .milliseconds(100)) }
        }
        #expect(lines == ["one", "two"])
    }
}
