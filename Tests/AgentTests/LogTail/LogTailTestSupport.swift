import Agent
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fresh temporary directory for one test; removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "clowder-logtail-XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: p)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Appends bytes with one `write(2)` (O_APPEND, like NGINX).
func appendToFile(_ text: String, to path: String) throws {
    try appendToFile(Array(text.utf8), to: path)
}

func appendToFile(_ bytes: [UInt8], to path: String) throws {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard n == bytes.count else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
}

func inodeNumber(of path: String) -> UInt64 {
    var st = stat()
    return stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
}

/// Numbered lines `prefix-0 …`, each newline-terminated.
func numberedLines(_ prefix: String, _ range: Range<Int>, padding: Int = 0) -> String {
    range.map { "\(prefix)-\($0)" + String(repeating: "x", count: padding) + "\n" }.joined()
}

/// Collects what a LogTail hands out, as strings (tests only: the hot path has no String).
final class LineCollector {
    var lines: [String] = []

    @discardableResult
    func poll(_ tail: LogTail) throws -> Int {
        try tail.poll { self.lines.append(String(decoding: $0, as: UTF8.self)) }
    }

    /// Polls (waiting on the tail between polls) until `done` holds or 20 s pass.
    /// Returns whether `done` held; the deadline is a safety net, not a timing check.
    @discardableResult
    func poll(_ tail: LogTail, until done: (LineCollector) -> Bool) throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            try poll(tail)
            if done(self) { return true }
            if ContinuousClock.now > deadline { return false }
            tail.waitForData(timeout: .milliseconds(100))
        }
    }
}
