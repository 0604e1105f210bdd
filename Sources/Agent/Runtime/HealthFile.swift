#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// The agent's health and own counters as a Prometheus text-format file (exposition format
/// 0.0.4, https://prometheus.io/docs/instrumenting/exposition_formats/), written atomically
/// (a temporary file in the same folder, then `rename(2)`) every ``interval`` by the run loop,
/// in the style of node_exporter's textfile collector: point its `--collector.textfile.directory`
/// at the folder to scrape it. No server runs in the agent.
///
/// `clowder-agent health` reads it back (``read(path:)``) for a Kubernetes exec probe or systemd:
/// liveness is "the file was written lately and says `clowder_agent_up 1`"; readiness adds the
/// spool's fill and the last successful send (``HealthCheck``).
///
/// Metrics (every one with the labels `agent` and `region`):
/// - `clowder_agent_up` (gauge): 1 while running, 0 once stopped cleanly;
/// - `clowder_agent_health_written_timestamp_seconds`, `clowder_agent_start_timestamp_seconds`;
/// - `clowder_agent_last_line_read_timestamp_seconds` (0: no line since the start);
/// - `clowder_agent_last_send_success_timestamp_seconds` (0: none since the start);
/// - `clowder_agent_spool_bytes`, `clowder_agent_spool_max_bytes`, `clowder_agent_spool_fill_ratio`
///   (bytes on disk over the bound, 0…1), `clowder_agent_spool_batches`;
/// - counters since the start: `clowder_agent_lines_read_total`, `_malformed_lines_total`,
///   `_batches_spooled_total`, `_batches_sent_total`, `_batches_retried_total`,
///   `_batches_dead_lettered_total`, `_batches_dropped_total` (the `agent` point's fields).
///
/// ```swift
/// var h = HealthFile.Values(agent: "web-1", region: "eu")
/// h.linesRead = 120
/// try HealthFile.write(h, to: "/var/lib/clowder-metrics/clowder-agent.prom")
/// let back = try HealthFile.read(path: "/var/lib/clowder-metrics/clowder-agent.prom")
/// ```
public enum HealthFile {
    /// How often the run loop rewrites the file.
    public static let interval: Duration = .seconds(5)
    /// The file's name beside the spool when `CLOWDER_METRICS_HEALTH_FILE` is not set.
    public static let defaultName = "clowder-agent.prom"

    /// What the file holds; times in epoch seconds (0: never), sizes in bytes.
    public struct Values: Sendable, Equatable {
        public var agent: String
        public var region: String
        public var up = true
        public var written: Double = 0
        public var started: Double = 0
        public var lastLineRead: Double = 0
        public var lastSendSuccess: Double = 0
        public var spoolBytes: Int64 = 0
        public var spoolMaxBytes: Int64 = 0
        public var spoolBatches: Int64 = 0
        public var linesRead: Int64 = 0
        public var malformedLines: Int64 = 0
        public var batchesSpooled: Int64 = 0
        public var batchesSent: Int64 = 0
        public var batchesRetried: Int64 = 0
        public var batchesDeadLettered: Int64 = 0
        public var batchesDropped: Int64 = 0

        public init(agent: String, region: String) {
            self.agent = agent
            self.region = region
        }

        /// Spool bytes over the bound (0 when there is no bound).
        public var spoolFill: Double { spoolMaxBytes > 0 ? min(1, Double(spoolBytes) / Double(spoolMaxBytes)) : 0 }
    }

    /// (name, type, help, value) of every metric, in file order.
    static func metrics(_ v: Values) -> [(String, String, String, Double)] {
        [
            ("clowder_agent_up", "gauge", "1 while the agent runs, 0 once it stopped cleanly.", v.up ? 1 : 0),
            ("clowder_agent_health_written_timestamp_seconds", "gauge", "When this file was written (liveness).", v.written),
            ("clowder_agent_start_timestamp_seconds", "gauge", "When the agent started.", v.started),
            ("clowder_agent_last_line_read_timestamp_seconds", "gauge", "When an access-log line was last read (0: none since the start).", v.lastLineRead),
            ("clowder_agent_last_send_success_timestamp_seconds", "gauge", "When the ingest last accepted a batch (0: none since the start).", v.lastSendSuccess),
            ("clowder_agent_spool_bytes", "gauge", "Spool size on disk, bytes.", Double(v.spoolBytes)),
            ("clowder_agent_spool_max_bytes", "gauge", "The spool's bound (CLOWDER_METRICS_SPOOL_MAX_BYTES), bytes.", Double(v.spoolMaxBytes)),
            ("clowder_agent_spool_fill_ratio", "gauge", "Spool bytes over the bound, 0 to 1; at 1 the oldest batches are dropped.", v.spoolFill),
            ("clowder_agent_spool_batches", "gauge", "Batches waiting in the spool.", Double(v.spoolBatches)),
            ("clowder_agent_lines_read_total", "counter", "Access-log lines read since the start.", Double(v.linesRead)),
            ("clowder_agent_malformed_lines_total", "counter", "Lines that did not match the log format.", Double(v.malformedLines)),
            ("clowder_agent_batches_spooled_total", "counter", "Batches written to the spool.", Double(v.batchesSpooled)),
            ("clowder_agent_batches_sent_total", "counter", "Batches the ingest accepted.", Double(v.batchesSent)),
            ("clowder_agent_batches_retried_total", "counter", "Send attempts that failed and are retried.", Double(v.batchesRetried)),
            ("clowder_agent_batches_dead_lettered_total", "counter", "Batches the ingest refused for good.", Double(v.batchesDeadLettered)),
            ("clowder_agent_batches_dropped_total", "counter", "Batches dropped from a full spool (lost).", Double(v.batchesDropped)),
        ]
    }

    /// A label value escaped as the text format requires (`\`, `"` and newline).
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func number(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    /// The file's text.
    public static func text(_ v: Values) -> String {
        let labels = "{agent=\"\(escape(v.agent))\",region=\"\(escape(v.region))\"}"
        var out = ""
        for (name, type, help, value) in metrics(v) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name)\(labels) \(number(value))\n"
        }
        return out
    }

    /// Writes the file atomically: `<path>.tmp` in the same folder, then `rename(2)` over `path`,
    /// so a reader (node_exporter, `clowder-agent health`) never sees half a file.
    /// - Throws: ``RuntimeError`` `.output` naming the path and the system error.
    public static func write(_ v: Values, to path: String) throws {
        let temporary = path + ".tmp"
        let bytes = Array(text(v).utf8)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(temporary, "open") }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let closed = close(fd)
        guard written == bytes.count, closed == 0 else { throw failure(temporary, "write") }
        guard rename(temporary, path) == 0 else { throw failure(path, "rename") }
    }

    private static func failure(_ path: String, _ what: String) -> RuntimeError {
        RuntimeError(.output, "cannot \(what) the health file \(path) (CLOWDER_METRICS_HEALTH_FILE): \(Errno.text(errno))")
    }

    /// Reads a file written by ``write(_:to:)``: metric name → value (labels dropped).
    /// - Throws: ``RuntimeError`` `.output` when the file cannot be read or a line is not `name{…} value`.
    public static func read(path: String) throws -> [String: Double] {
        let data: Data
        do {
            guard access(path, R_OK) == 0 else { throw RuntimeError(.output, Errno.text(errno)) }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RuntimeError(.output, "cannot read the health file \(path)", underlying: error)
        }
        var out: [String: Double] = [:]
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            let name = line.prefix { $0 != "{" && $0 != " " }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw RuntimeError(.output, "\(path):\(n + 1): not a metric line: \(line)")
            }
            out[String(name)] = value
        }
        return out
    }
}

/// The checks of `clowder-agent health`: liveness, and with ``ready`` readiness too.
public struct HealthCheck: Sendable {
    /// Longest age of the file, seconds (liveness).
    public var maxAge: Double = 30
    /// Also check readiness.
    public var ready = false
    /// Readiness: the spool may be at most this full (0…1).
    public var maxSpoolFill: Double = 0.9
    /// Readiness, with an ingest and batches waiting: the last successful send (or the start,
    /// before the first) at most this many seconds ago.
    public var maxSendAge: Double = 300
    /// Readiness: the last line read at most this many seconds ago (0: not checked; a quiet
    /// site writes no lines).
    public var maxLineAge: Double = 0
    /// Whether the agent forwards to an ingest (else sends are not checked).
    public var forwards = true

    public init() {}

    /// The problems found in `metrics` (a ``HealthFile/read(path:)`` result) at `now` (epoch
    /// seconds), and a one-line summary. Healthy when `problems` is empty.
    public func evaluate(_ metrics: [String: Double], now: Double) -> (problems: [String], summary: String) {
        func m(_ name: String) -> Double { metrics["clowder_agent_" + name] ?? 0 }
        func ago(_ t: Double) -> String { t > 0 ? "\(Int((now - t).rounded())) s ago" : "never" }
        var problems: [String] = []
        let written = m("health_written_timestamp_seconds")
        if m("up") != 1 { problems.append("the agent is not running (clowder_agent_up is not 1)") }
        if now - written > maxAge { problems.append("the health file was written \(ago(written)), more than \(number(maxAge)) s ago") }
        let fill = m("spool_fill_ratio"), lastSend = m("last_send_success_timestamp_seconds")
        let lastLine = m("last_line_read_timestamp_seconds")
        if ready {
            if fill > maxSpoolFill { problems.append("the spool is \(Int(fill * 100)) % full (more than \(Int(maxSpoolFill * 100)) %)") }
            let since = max(lastSend, m("start_timestamp_seconds"))
            if forwards, m("spool_batches") > 0, now - since > maxSendAge {
                problems.append("batches wait and the last successful send was \(ago(lastSend)) (more than \(number(maxSendAge)) s)")
            }
            if maxLineAge > 0, now - max(lastLine, m("start_timestamp_seconds")) > maxLineAge {
                problems.append("no log line read for more than \(number(maxLineAge)) s (last \(ago(lastLine)))")
            }
        }
        let summary = "written \(ago(written)); last line read \(ago(lastLine)); last send \(ago(lastSend)); spool \(String(Double(Int(fill * 1000)) / 10)) % full, \(Int(m("spool_batches"))) batches; \(Int(m("batches_dropped_total"))) dropped"
        return (problems, summary)
    }

    private func number(_ d: Double) -> String { HealthFile.number(d) }
}
