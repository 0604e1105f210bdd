import Foundation
import Parsers
import Testing

/// Replays the committed fuzz corpus of log lines (`Tests/Fixtures/fuzz/logline`: the first byte picks the
/// format, as in `Benchmarks/fuzz/targets/logline.swift`) through parser, classifier and redaction: no crash,
/// and redaction is idempotent.
@Suite struct LogLineFuzzCorpusTests {
    @Test func corpus() throws {
        let dir = Fixtures.directory.appendingPathComponent("fuzz/logline")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names.count >= 3)
        let parsers = [
            try AccessLogParser(format: .combined), try AccessLogParser(format: .clowderMetrics),
            try AccessLogParser(
                format: LogFormat(
                    string: #"{"t":"$time_iso8601","a":"$remote_addr","r":"$request","s":$status,"b":$bytes_sent,"rt":$request_time,"u":"$upstream_addr","us":"$upstream_status","urt":"$upstream_response_time","h":"$host","m":"$msec","x":"$http_x_forwarded_for","c":$connection}"#,
                    escape: .json)),
        ]
        var records = parsers.map { $0.makeRecord() }
        let classifier = ClowderClassifier(prefix: "/clowder")
        var parsed = 0
        for name in names {
            let input = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            guard let first = input.first else { continue }
            let which = Int(first) % parsers.count
            let line = Array(input.dropFirst())
            line.withUnsafeBytes { raw in
                if parsers[which].parse(raw, into: &records[which]) {
                    parsed += 1
                    _ = classifier.classify(records[which], in: raw)
                } else {
                    _ = parsers[which].recoverTime(raw)
                }
            }
            var once = line
            KeyRedaction.redact(bytes: &once)
            var twice = once
            #expect(!KeyRedaction.redact(bytes: &twice), "\(name)")
        }
        #expect(parsed >= 3)
    }
}
