import MetricsModel
import Parsers

/// The result of one pass over access-log files (`clowder-agent parse`): totals, one row per
/// window and virtual host, and the malformed lines.
public struct AccessLogReport: Sendable {
    /// A malformed line and where it was.
    public struct Sample: Sendable, Equatable {
        /// The file it came from.
        public var file: String
        /// Its 1-based line number in that file.
        public var line: Int64
        /// The line, bytes outside printable ASCII as `\xHH`, cut at 512 bytes.
        public var text: String
    }

    /// The format the lines were parsed with.
    public var format: LogFormat
    /// The PCRE2 pattern compiled from it.
    public var pattern: String
    /// The files read, in order.
    public var files: [String]
    /// Lines read.
    public var lines: Int64
    /// Lines that did not match the format.
    public var malformedLines: Int64
    /// The first 5 malformed lines.
    public var malformedSamples: [Sample]
    /// The fields of the `nginx_access` point summed over every window and vhost; `distinct_clients`
    /// and `distinct_connections` over the whole pass (exact up to 512, else HyperLogLog estimates,
    /// relative standard error 1.6 %, see `DistinctCounter`); the request-time quantiles exact.
    public var totals: [String: JSONValue]
    /// The `nginx_access` points, oldest window first, then by vhost.
    public var windows: [Point]

    /// The report as JSON: `{"format", "pattern", "files", "lines", "malformed_lines",
    /// "malformed_samples": [{"file","line","text"}], "totals": {fields}, "windows": [{"start",
    /// "time_ns", "vhost"?, fields…}]}`.
    public var json: JSONValue {
        var rows: [JSONValue] = []
        for p in windows {
            var o = p.fields
            o["start"] = .string(UTCTime.iso8601(milliseconds: p.timeNanoseconds / 1_000_000))
            o["time_ns"] = .int(p.timeNanoseconds)
            if let v = p.tags["vhost"] { o["vhost"] = .string(v) }
            rows.append(.object(o))
        }
        return .object([
            "format": .string(format.string),
            "format_name": format.name.map { .string($0) } ?? .null,
            "pattern": .string(pattern),
            "files": .array(files.map { .string($0) }),
            "lines": .int(lines),
            "malformed_lines": .int(malformedLines),
            "malformed_samples": .array(malformedSamples.map {
                .object(["file": .string($0.file), "line": .int($0.line), "text": .string($0.text)])
            }),
            "totals": .object(totals),
            "windows": .array(rows),
        ])
    }

    /// A readable table: one row per window (and vhost), a total row, then the malformed samples.
    public func table() -> String {
        let columns: [(String, String)] = [
            ("requests", "requests"), ("page_views", "pages"), ("views", "views"), ("downloads", "downl"),
            ("partial_downloads", "partial"), ("uploads", "upl"), ("deletes", "del"), ("extractions", "extr"),
            ("api_calls", "api"), ("asset_requests", "assets"), ("bot_requests", "bots"), ("status_2xx", "2xx"),
            ("status_3xx", "3xx"), ("status_4xx", "4xx"), ("status_5xx", "5xx"), ("bytes_sent", "bytes"),
            ("distinct_clients", "clients"), ("distinct_connections", "conns"), ("request_time_p50", "p50_s"),
            ("request_time_p99", "p99_s"), ("malformed_lines", "malformed"), ("late_lines", "late"),
        ]
        func cell(_ f: [String: JSONValue], _ key: String) -> String {
            switch key {
            case "views":
                return String(["view_file", "view_dataset", "view_collection", "view_space"].reduce(Int64(0)) {
                    $0 + (f[$1]?.intValue ?? 0)
                })
            case "downloads":
                return String(["download_file", "download_dataset", "download_collection"].reduce(Int64(0)) {
                    $0 + (f[$1]?.intValue ?? 0)
                })
            default:
                switch f[key] {
                case .int(let v)?: return String(v)
                case .double(let d)?: return String(Double((d * 1000).rounded()) / 1000)
                default: return "-"
                }
            }
        }
        let hasVhost = windows.contains { $0.tags["vhost"] != nil }
        var header = ["window (UTC)"]
        if hasVhost { header.append("vhost") }
        header += columns.map(\.1)
        var rows: [[String]] = [header]
        for p in windows {
            var r = [UTCTime.iso8601(milliseconds: p.timeNanoseconds / 1_000_000)]
            if hasVhost { r.append(p.tags["vhost"] ?? "-") }
            r += columns.map { cell(p.fields, $0.0) }
            rows.append(r)
        }
        var total = ["TOTAL"]
        if hasVhost { total.append("") }
        total += columns.map { cell(totals, $0.0) }
        rows.append(total)
        var widths = Array(repeating: 0, count: header.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = "format: \(format.name.map { "\($0) " } ?? "")\(format.string)\n"
        out += "files: \(files.joined(separator: ", "))\n"
        out += "lines: \(lines), malformed: \(malformedLines), windows: \(windows.count)\n\n"
        for (n, r) in rows.enumerated() {
            if n == rows.count - 1 { out += String(repeating: "-", count: widths.reduce(0, +) + 2 * widths.count) + "\n" }
            var line = ""
            for (i, c) in r.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                line += i < (hasVhost ? 2 : 1) ? c + pad : pad + c
                line += "  "
            }
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        if malformedLines > 0 {
            out += "\nmalformed lines: \(malformedLines) (first \(malformedSamples.count)):\n"
            for s in malformedSamples { out += "  \(s.file):\(s.line): \(s.text)\n" }
        }
        return out
    }
}

/// Builds an ``AccessLogReport`` in one pass: give it lines (or whole files), then ``finish()``.
///
/// Uses an ``AccessLogPipeline`` (same windows, lateness and rules as the agent) and keeps only
/// the closed windows' rows, so memory stays bounded by the open windows plus one row per window.
///
/// ```swift
/// let builder = try AccessLogReportBuilder(configuration: config)
/// try builder.addFile(path: "/var/log/nginx/access.log")
/// print(builder.finish().table())
/// ```
public final class AccessLogReportBuilder {
    let pipeline: AccessLogPipeline
    var files: [String] = []
    var samples: [AccessLogReport.Sample] = []
    var rows: [Point] = []
    private var sinceTake = 0

    /// - Throws: as ``AccessLogPipeline/init(configuration:)``.
    public init(configuration: AccessLogPipelineConfiguration) throws {
        pipeline = try AccessLogPipeline(configuration: configuration)
        pipeline.collectTotals = true
    }

    /// Counts one line (no newline) read from `file` at `lineNumber` (1-based).
    @inline(__always)
    public func add(line: UnsafeRawBufferPointer, file: String, lineNumber: Int64) {
        if pipeline.add(line: line) == .malformed, samples.count < 5 {
            samples.append(.init(file: file, line: lineNumber, text: AccessLogPipeline.printable(line)))
        }
        sinceTake &+= 1
        if sinceTake >= 4096 {
            sinceTake = 0
            rows += pipeline.takeClosed().points.filter { $0.measurement == "nginx_access" }
        }
    }

    /// Reads a whole file with large buffered reads (1 MiB, grown for longer lines) and counts
    /// every line; a last line without a newline counts too.
    /// - Throws: ``AggregationError`` `.file` naming the path and the system error when it cannot be opened or read.
    public func addFile(path: String) throws {
        files.append(path)
        var lineNumber: Int64 = 0
        try LogFileReader.forEachLine(path: path) { line in
            lineNumber &+= 1
            add(line: line, file: path, lineNumber: lineNumber)
        }
    }

    /// Closes every window and returns the report.
    public func finish() -> AccessLogReport {
        rows += pipeline.takeClosed().points.filter { $0.measurement == "nginx_access" }
        rows += pipeline.closeAll().points.filter { $0.measurement == "nginx_access" }
        let p = pipeline
        var totals = p.fields(counters: p.totalCounters, clients: p.totalClients.estimate,
                              connections: p.totalConnections.estimate, times: p.totalRequestTimes)
        if !p.logsConnection { totals["distinct_connections"] = nil }
        return AccessLogReport(format: p.configuration.logFormat, pattern: p.parser.pattern, files: files,
                               lines: p.lineCount, malformedLines: p.malformedCount, malformedSamples: samples,
                               totals: totals, windows: rows)
    }
}

/// UTC calendar formatting without Foundation (`civil_from_days`, H. Hinnant).
enum UTCTime {
    /// `yyyy-mm-ddTHH:MM:SSZ` for epoch milliseconds.
    static func iso8601(milliseconds ms: Int64) -> String {
        let secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400
        let rem = secs - days * 86400
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d))T\(two(rem / 3600)):\(two(rem / 60 % 60)):\(two(rem % 60))Z"
    }
}
