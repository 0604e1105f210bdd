import Foundation
import TestSupport
import Testing

import SystemSupport

@Suite(.ownThreads) struct GzipTests {
    @Test func roundTripAndWrapper() throws {
        for size in [0, 1, 100, 70_000, 300_000] {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: ($0 * 7) ^ ($0 >> 5)) }
            let z = try Gzip.compress(bytes)
            #expect(z.prefix(3) == [0x1F, 0x8B, 0x08])  // RFC 1952 §2.3.1: ID1 ID2 CM=deflate
            #expect(try Gzip.decompress(z) == bytes)
        }
    }

    /// Decompressed by an independent implementation: the system `gzip` tool.
    @Test func systemGzipReadsIt() throws {
        let text = Array(String(repeating: "clowder metrics ", count: 1000).utf8)
        let dir = try makeTempDirectory("gzip")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("x.gz")
        try Data(try Gzip.compress(text)).write(to: file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-dc", file.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(Array(data) == text)
    }

    @Test func corruptInputIsAnError() throws {
        var z = try Gzip.compress(Array("hello hello hello".utf8))
        #expect(throws: Gzip.Failure.invalid("truncated gzip data")) { try Gzip.decompress(Array(z.prefix(z.count - 9))) }
        z[12] ^= 0xFF
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(z) }
    }

    /// Several members read as one (RFC 1952 §2.2); the limit refuses a bomb; plain text is refused.
    @Test func membersAndLimit() throws {
        let text = Array(String(repeating: "clowder metrics ", count: 1000).utf8)
        let z = try Gzip.compress(text)
        #expect(z.count < text.count / 10)
        #expect(try Gzip.decompress(z + Gzip.compress(Array("!".utf8)), limit: 1 << 20) == text + Array("!".utf8))
        #expect(try Gzip.decompress(z, limit: text.count) == text)
        #expect(throws: Gzip.Failure.tooLarge(1000)) { try Gzip.decompress(z, limit: 1000) }
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(text, limit: 1 << 20) }
    }

    /// What the system's gzip wrote, we read.
    @Test func readsSystemGzip() throws {
        let text = Array(String(repeating: "clowder metrics ", count: 1000).utf8)
        let dir = try makeTempDirectory("gzip")
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("t")
        try Data(text).write(to: f)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-k", f.path]
        try p.run()
        p.waitUntilExit()
        let gz = try Data(contentsOf: dir.appendingPathComponent("t.gz"))
        #expect(try Gzip.decompress(Array(gz), limit: 1 << 20) == text)
    }
}

/// A fresh directory under the system's temporary directory.
func makeTempDirectory(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clowder-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}
