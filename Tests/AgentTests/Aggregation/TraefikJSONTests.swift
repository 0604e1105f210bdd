@testable import Agent
import Foundation
import MetricsModel
import Parsers
import Testing

/// `traefik_json`: Traefik's JSON access log, real lines from elastic/integrations' Traefik
/// package (Tests/Fixtures/elastic_traefik_access_json.log, origin in SOURCES.md): members that
/// come and go (no ClientHost, no StartUTC), blanks after colons, IPv6. Expected values read off
/// the lines by hand; epoch milliseconds computed from their RFC 3339 times.
@Suite("Traefik JSON access log (traefik_json)")
struct TraefikJSONTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/elastic_traefik_access_json.log")

    static func lines() throws -> [[UInt8]] {
        try [UInt8](Data(contentsOf: fixture)).split(separator: 0x0A).map(Array.init)
    }

    @Test("each object becomes one line of the translated format; absent members give the fallbacks")
    func translation() throws {
        let all = try Self.lines()
        #expect(all.count == 7)
        let text = try all.map { l in
            String(decoding: try #require(l.withUnsafeBytes { TraefikJSONTranslator.translate($0) }), as: UTF8.self)
        }
        #expect(text[0] == #"1615921014.735 127.0.0.1 "GET / HTTP/1.1" 404 19 0 0.000 backend.elastic-package-service.docker.localhost "curl/7.67.0" "-""#)
        // No ClientHost: ClientAddr without its port; no StartUTC: StartLocal; RequestContentSize 814.
        #expect(text[3].hasPrefix(#"1706893628.048 10.10.10.20 "GET /foo/bar/baz.php HTTP/1.1" 404 19 814 0.000 10.10.10.11 "Mozilla/5.0 (Macintosh;"#))
        // Blanks after the colons; Duration 59518533 ns = 0.059 s.
        #expect(text[5] == #"1707479612.609 175.16.199.10 "GET /api/v1/study/140410210038/card/comment HTTP/1.0" 200 88 0 0.059 api-students.unpad.ac.id "-" "-""#)
        #expect(text[6].hasPrefix("1713187593.809 ::1 "))
        #expect("not json".utf8.withContiguousStorageIfAvailable { TraefikJSONTranslator.translate(UnsafeRawBufferPointer($0)) } == .some(nil))
    }

    @Test("the pipeline with traefik_json counts every object; a non-JSON line is malformed")
    func pipeline() throws {
        let format = try LogFormat.resolve("traefik_json")
        let p = try AccessLogPipeline(configuration: .init(logFormat: format, windowSeconds: 60, latenessSeconds: 0))
        var lines = try Self.lines()
        lines.append(Array("2024-04-15 13:26:34 not a Traefik line".utf8))
        for l in lines { l.withUnsafeBytes { _ = p.add(line: $0) } }
        let points = p.closeAll().points
        func sum(_ f: String) -> Int64 { points.reduce(0) { $0 + ($1.fields[f]?.intValue ?? 0) } }
        #expect(sum("requests") == 7)
        #expect(sum("status_2xx") == 3)
        #expect(sum("status_3xx") == 1)
        #expect(sum("status_4xx") == 3)
        #expect(sum("bytes_sent") == 19 + 383 + 2 + 19 + 0 + 88 + 19)
        #expect(sum("upload_bytes") == 0)
        #expect(sum("malformed_lines") == 1)
        #expect(p.malformedCount == 1)
        let starts = Set(points.map { $0.timeNanoseconds / 1_000_000 })
        let expected: [Int64] = [1_615_921_014_735, 1_615_921_721_039, 1_706_802_218_669, 1_706_893_628_048, 1_706_890_704_844,
                                 1_707_479_612_609, 1_713_187_593_809]
        // Line 5 (16:18:24) comes after line 4 (17:07:08 the same day): with no allowed lateness it is late,
        // counted in the oldest open window and in late_lines, so its own minute has no point.
        #expect(starts == Set(expected.enumerated().filter { $0.offset != 4 }.map { $0.element / 60_000 * 60_000 }))
        #expect(sum("late_lines") == 1)
        // The virtual host comes from RequestHost.
        #expect(points.contains { $0.tags["vhost"] == "api-students.unpad.ac.id" })
    }
}
