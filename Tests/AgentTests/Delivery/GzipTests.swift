import Foundation
import TestSupport
import Testing

@testable import Agent

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
        #expect(throws: DeliveryError.self) { try Gzip.decompress(Array(z.prefix(z.count - 9))) }
        z[12] ^= 0xFF
        #expect(throws: DeliveryError.self) { try Gzip.decompress(z) }
    }
}
