import Foundation
import TestSupport
import Testing

/// `clowder-agent run` and `check` as processes, on a Clowder-shaped log with
/// ground truth from `../shared/tools/gen-clowder-log`.
@Suite("clowder-agent run and check", .serialized, .ownThreads)
struct RunCommandTests {
    static let counters = [
        "requests", "page_views", "view_file", "view_dataset", "view_collection", "view_space", "download_file",
        "download_dataset", "download_collection", "partial_downloads", "uploads", "deletes", "extractions", "api_calls",
        "asset_requests", "bot_requests", "status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx",
        "bytes_sent", "malformed_lines",
    ]

    /// Generates a log and its truth file; returns the truth JSON.
    func generate(_ dir: TemporaryDirectory, lines: Int, seed: Int, extra: [String] = []) throws -> [String: Any] {
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gen.arguments = ["python3", AgentProcess.sharedTool("gen-clowder-log"), "--lines", "\(lines)", "--seed", "\(seed)",
                         "--format", "clowder_rl", "--out", dir.file("access.log"), "--truth", dir.file("truth.json")] + extra
        try gen.run()
        gen.waitUntilExit()
        #expect(gen.terminationStatus == 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: dir.file("truth.json")))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// Reads JSON lines; returns the nginx_access points' fields.
    func accessPoints(_ path: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            guard o["measurement"] as? String == "nginx_access" else { return nil }
            return o
        }
    }

    @Test("run: every counter of the closed windows sums to the truth totals; SIGTERM exits 0")
    func runOnGeneratedLog() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let truth = try generate(dir, lines: 6000, seed: 11)
        let env = """
            CLOWDER_METRICS_ACCESS_LOG=\(dir.file("access.log"))
            CLOWDER_METRICS_LOG_FORMAT=clowder_metrics
            CLOWDER_METRICS_READ_FROM=start
            CLOWDER_METRICS_REGION=test
            CLOWDER_METRICS_AGENT_ID=agent-under-test
            CLOWDER_METRICS_OUTPUT_FILE=\(dir.file("out.jsonl"))
            CLOWDER_METRICS_SPOOL_PATH=\(dir.file("state.db"))
            """
        try env.write(toFile: dir.file("agent.env"), atomically: true, encoding: .utf8)
        let agent = try AgentProcess(["run", "--env-file", dir.file("agent.env")])
        // The generated log spans minutes of log time, so all but the last windows close while reading.
        let minutes = (truth["minutes"] as! [String: Any]).count
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try accessPoints(dir.file("out.jsonl")).count < minutes - 1 { usleep(100_000) }
        #expect(agent.terminate() == 0)
        let points = try accessPoints(dir.file("out.jsonl"))
        #expect(points.count == minutes)
        let totals = truth["totals"] as! [String: Any]
        for counter in Self.counters {
            let sum = points.reduce(0) { $0 + ((($1["fields"] as! [String: Any])[counter] as? Int) ?? 0) }
            #expect(sum == totals[counter] as! Int, "\(counter)")
        }
        let tags = points.first?["tags"] as? [String: String]
        #expect(tags?["agent"] == "agent-under-test")
        #expect(tags?["region"] == "test")
    }

    @Test("run: a restart resumes from the saved offsets and open windows: nothing lost, nothing twice")
    func restartResumes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let truth = try generate(dir, lines: 4000, seed: 5)
        // Split the log: the first half is there at the first start, the rest arrives while the agent is stopped.
        let all = try String(contentsOfFile: dir.file("access.log"), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let half = all.count / 2
        try (all[..<half].joined(separator: "\n") + "\n").write(toFile: dir.file("access.log"), atomically: false, encoding: .utf8)
        let env = """
            CLOWDER_METRICS_ACCESS_LOG=\(dir.file("access.log"))
            CLOWDER_METRICS_LOG_FORMAT=clowder_metrics
            CLOWDER_METRICS_READ_FROM=start
            CLOWDER_METRICS_OUTPUT_FILE=\(dir.file("out.jsonl"))
            CLOWDER_METRICS_SPOOL_PATH=\(dir.file("state.db"))
            """
        try env.write(toFile: dir.file("agent.env"), atomically: true, encoding: .utf8)
        let first = try AgentProcess(["run", "--env-file", dir.file("agent.env")])
        usleep(1_500_000)
        // SIGKILL: no chance to flush; the saved state must be enough.
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        let rest = all[half...].joined(separator: "\n")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("access.log")))
        handle.seekToEndOfFile()
        handle.write(Data(rest.utf8))
        try handle.close()
        let second = try AgentProcess(["run", "--env-file", dir.file("agent.env")])
        usleep(2_000_000)
        #expect(second.terminate() == 0)
        let points = try accessPoints(dir.file("out.jsonl"))
        let totals = truth["totals"] as! [String: Any]
        // The JSON-lines output may repeat a window written just before the kill
        // (documented); sum each window once, by its time and the last value written.
        var byWindow: [Int: [String: Any]] = [:]
        for p in points { byWindow[p["time_ns"] as! Int] = p["fields"] as? [String: Any] }
        for counter in ["requests", "page_views", "download_file", "bytes_sent", "malformed_lines"] {
            let sum = byWindow.values.reduce(0) { $0 + (($1[counter] as? Int) ?? 0) }
            #expect(sum == totals[counter] as! Int, "\(counter)")
        }
    }

    @Test("check: a valid file prints the compiled pattern and parses a sample")
    func checkValid() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "CLOWDER_METRICS_ACCESS_LOG=/var/log/nginx/access.log\nCLOWDER_METRICS_LOG_FORMAT=combined\n"
            .write(toFile: dir.file("a.env"), atomically: true, encoding: .utf8)
        let sample = #"203.0.113.9 - - [01/Jun/2026:00:00:01 +0000] "GET /files/5f0c1a2b3c4d5e6f7a8b9c0d HTTP/1.1" 200 512 "-" "curl/8.5.0""#
        let r = try AgentProcess.run(["check", "--env-file", dir.file("a.env"), "--sample", sample])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains(#"pattern: ([^\x{20}]++"#))
        #expect(r.out.contains("sample: parsed"))
    }

    @Test("check and run: a bad value stops with file, line, key, value and exit 78")
    func badConfig() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "CLOWDER_METRICS_ACCESS_LOG=/tmp/x.log\nCLOWDER_METRICS_PROBE_INTERVAL=often\n"
            .write(toFile: dir.file("bad.env"), atomically: true, encoding: .utf8)
        for command in ["check", "run"] {
            let r = try AgentProcess.run([command, "--env-file", dir.file("bad.env")])
            #expect(r.status == 78)
            #expect(r.err.contains("\(dir.file("bad.env")):2: CLOWDER_METRICS_PROBE_INTERVAL=\"often\": expected a number of seconds"))
        }
    }

    @Test("run: an unreadable access log stops the start with a clear error")
    func unreadableLog() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A directory cannot be read as a log, even by root.
        try "CLOWDER_METRICS_ACCESS_LOG=\(dir.path)\nCLOWDER_METRICS_SPOOL_PATH=\(dir.file("s.db"))\n"
            .write(toFile: dir.file("a.env"), atomically: true, encoding: .utf8)
        let r = try AgentProcess.run(["run", "--env-file", dir.file("a.env")])
        #expect(r.status != 0)
        #expect(r.err.contains(dir.path))
    }

    @Test("parse: a gzip-compressed log (a rotated access.log.2.gz) gives the truth totals, as the plain file does")
    func parseGzip() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let truth = try generate(dir, lines: 3000, seed: 11)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", dir.file("access.log")]
        try gzip.run()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
        let totals = truth["totals"] as! [String: Any]
        for file in ["access.log", "access.log.gz"] {
            let r = try AgentProcess.run(["parse", "--json", "--log-format", "clowder_metrics", dir.file(file)])
            #expect(r.status == 0, "\(file): \(r.err)")
            let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
            let agent = json["totals"] as! [String: Any]
            for counter in ["requests", "page_views", "view_file", "download_file", "bytes_sent", "malformed_lines"] {
                #expect(agent[counter] as? Int == totals[counter] as? Int, "\(file) \(counter)")
            }
        }
    }
}
