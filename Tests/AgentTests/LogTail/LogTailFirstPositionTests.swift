import Agent
import Foundation
import TestSupport
import Testing

/// `LogTail.poll(onNewFiles:_:)`: the position a file is first read from is offered for
/// committing before any of its lines is handed out (issue 12, first-start checkpoint).
@Suite("LogTail first positions", .ownThreads)
struct LogTailFirstPositionTests {
    @Test("onNewFiles runs before the first line of every new file, with the file at its starting offset")
    func announcedBeforeLines() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let old = numberedLines("old", 0..<3)
        try appendToFile(old, to: dir.file("a.log"))
        let tail = try LogTail(paths: [dir.path + "/*.log"])
        var lines: [String] = []
        var announced: [[FileCheckpoint]] = []
        var linesAtAnnouncement: [Int] = []
        func poll() throws {
            try tail.poll(onNewFiles: {
                announced.append(tail.checkpoints)
                linesAtAnnouncement.append(lines.count)
            }) { lines.append(String(decoding: $0, as: UTF8.self)) }
        }
        try poll()
        // The first start: a.log at its end (READ_FROM=end), before anything was read.
        #expect(announced.count == 1)
        #expect(announced.first?.map(\.offset) == [Int64(old.utf8.count)])
        try poll()
        #expect(announced.count == 1, "no new file, no second announcement")

        try appendToFile(numberedLines("a", 0..<2), to: dir.file("a.log"))
        try appendToFile(numberedLines("b", 0..<2), to: dir.file("b.log"))  // appears later: from its start
        try poll()
        #expect(announced.count == 2)
        let second = announced.last ?? []
        #expect(second.first { $0.path.hasSuffix("b.log") }?.offset == 0)
        #expect(second.first { $0.path.hasSuffix("a.log") }?.offset == Int64(old.utf8.count))
        #expect(linesAtAnnouncement == [0, 0], "nothing was handed out before either announcement")
        #expect(lines.sorted() == ["a-0", "a-1", "b-0", "b-1"])

        // A crash right after the second announcement: a LogTail from those checkpoints reads every
        // line written after the committed positions, and nothing before them.
        let resumed = try LogTail(paths: [dir.path + "/*.log"], checkpoints: second)
        let c = LineCollector()
        try c.poll(resumed)
        #expect(c.lines.sorted() == ["a-0", "a-1", "b-0", "b-1"])
    }

    @Test("a throwing onNewFiles hands out nothing and is asked again at the next poll")
    func throwingAnnouncement() throws {
        struct CommitFailed: Error {}
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try appendToFile("", to: dir.file("a.log"))
        let tail = try LogTail(paths: [dir.file("a.log")])
        try appendToFile(numberedLines("x", 0..<3), to: dir.file("a.log"))
        var lines = 0
        #expect(throws: CommitFailed.self) { try tail.poll(onNewFiles: { throw CommitFailed() }) { _ in lines += 1 } }
        #expect(lines == 0)
        var calls = 0
        #expect(try tail.poll(onNewFiles: { calls += 1 }) { _ in lines += 1 } == 3)
        #expect(calls == 1)
        #expect(lines == 3)
    }
}
