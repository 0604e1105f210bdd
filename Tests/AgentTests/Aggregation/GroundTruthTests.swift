@testable import Agent
import Foundation
import MetricsModel
import Parsers
import TestSupport
import Testing

/// Every counter of every UTC minute, and the totals, equal the truth file that
/// `gen-clowder-log` computes from what it generated (never by parsing the log).
@Suite("AccessLogPipeline against gen-clowder-log ground truth", .ownThreads)
struct GroundTruthTests {
    static let cases: [[String]] = [
        ["--format", "combined", "--seed", "1", "--lines", "12000"],
        ["--format", "timed", "--seed", "2", "--lines", "12000", "--tz", "-0700"],
        ["--format", "clowder", "--seed", "3", "--lines", "12000", "--prefix", "/clowder"],
        ["--format", "clowder", "--routes", "v2", "--seed", "4", "--lines", "10000"],
        ["--format", "timed", "--routes", "v2", "--prefix", "/clowder", "--tz", "+0530", "--seed", "5", "--lines", "8000",
         "--rate", "20"],
        // $request_length: upload_bytes per minute and in total.
        ["--format", "clowder_rl", "--seed", "6", "--lines", "12000"],
        ["--format", "clowder_rl", "--routes", "v2", "--prefix", "/clowder", "--seed", "7", "--lines", "8000"],
    ]

    @Test("per-minute counters and totals equal the truth", arguments: cases)
    func matchesTruth(_ arguments: [String]) throws {
        let gen = try GeneratedLog(arguments)
        defer { gen.remove() }
        let prefix = arguments.firstIndex(of: "--prefix").map { arguments[$0 + 1] } ?? ""
        let config = AccessLogPipelineConfiguration(logFormat: try LogFormat(string: gen.logFormat), prefix: prefix)
        let builder = try AccessLogReportBuilder(configuration: config)
        try builder.addFile(path: gen.log.path)
        let report = builder.finish()

        var byMinute: [String: [String: JSONValue]] = [:]
        for p in report.windows {
            let key = String(Self.minuteKey(p.timeNanoseconds))
            #expect(byMinute[key] == nil, "two points for \(key)")
            byMinute[key] = p.fields
        }
        let truthMinutes = gen.minutes
        #expect(truthMinutes.count > 0)
        #expect(Set(byMinute.keys) == Set(truthMinutes.keys))
        for (minute, counters) in truthMinutes {
            let mine = byMinute[minute] ?? [:]
            for (name, value) in counters {
                Self.expectField(name, value, mine[name], "\(arguments) minute \(minute)")
            }
        }
        for (name, value) in gen.totals {
            Self.expectField(name, value, report.totals[name], "\(arguments) totals")
        }
        let lines = try gen.lines().count
        #expect(report.lines == Int64(lines))
        #expect(report.malformedLines == (gen.totals["malformed_lines"] as! NSNumber).int64Value)
    }

    static func expectField(_ name: String, _ truth: Any, _ mine: JSONValue?, _ context: String) {
        if truth is NSNull {
            #expect(mine == nil, "\(context): \(name) should be absent, is \(String(describing: mine))")
        } else {
            let expected = (truth as! NSNumber).int64Value
            if name.hasPrefix("distinct_"), expected > Int64(DistinctCounter.exactLimit) {
                // Exact up to 512; beyond, a HyperLogLog estimate within 3 standard errors (4.9 %).
                let got = mine?.intValue ?? -1
                let bound = 3 * DistinctCounter.relativeStandardError * Double(expected)
                #expect(abs(Double(got - expected)) <= bound, "\(context): \(name) \(got) for \(expected)")
            } else {
                #expect(mine == .int(expected), "\(context): \(name)")
            }
        }
    }

    /// `YYYY-MM-DDTHH:MMZ` for epoch nanoseconds.
    static func minuteKey(_ ns: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm'Z'"
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(ns / 1_000_000_000)))
    }
}
