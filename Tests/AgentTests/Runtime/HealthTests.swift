import Foundation
import TestSupport
import Testing

@testable import Agent

/// The health file (Prometheus text format, rewritten every 5 s) and `clowder-agent health`
/// (exit 0/1) for Kubernetes probes and systemd (issue 12, item 6).
@Suite("Agent health", .serialized, .ownThreads)
struct HealthTests {
    static func metrics(written: Double, up: Double = 1, fill: Double = 0, batches: Double = 0, lastSend: Double = 0,
                        started: Double = 1_000) -> [String: Double] {
        [
            "clowder_agent_up": up, "clowder_agent_health_written_timestamp_seconds": written,
            "clowder_agent_start_timestamp_seconds": started, "clowder_agent_spool_fill_ratio": fill,
            "clowder_agent_spool_batches": batches, "clowder_agent_last_send_success_timestamp_seconds": lastSend,
        ]
    }

    @Test("liveness: up and written within max-age; readiness: spool fill and last send while batches wait")
    func checks() {
        var live = HealthCheck()
        #expect(live.evaluate(Self.metrics(written: 2_000), now: 2_010).problems.isEmpty)
        #expect(live.evaluate(Self.metrics(written: 2_000), now: 2_031).problems.count == 1, "written 31 s ago")
        #expect(live.evaluate(Self.metrics(written: 2_000, up: 0), now: 2_001).problems.count == 1, "stopped")
        #expect(live.evaluate(Self.metrics(written: 2_000, fill: 1), now: 2_001).problems.isEmpty, "liveness ignores the spool")
        live.ready = true
        #expect(live.evaluate(Self.metrics(written: 2_000, fill: 0.95), now: 2_001).problems.count == 1)
        #expect(live.evaluate(Self.metrics(written: 2_000, batches: 3, lastSend: 1_500), now: 2_001).problems.count == 1)
        #expect(live.evaluate(Self.metrics(written: 2_000, batches: 3, lastSend: 1_900), now: 2_001).problems.isEmpty)
        #expect(live.evaluate(Self.metrics(written: 2_000, batches: 0, lastSend: 0), now: 2_001).problems.isEmpty, "nothing waits")
        #expect(live.evaluate(Self.metrics(written: 2_000, batches: 3, started: 1_950), now: 2_001).problems.isEmpty, "just started")
    }

    /// Parses the file with the Python Prometheus client's own parser (Debian python3-prometheus-client).
    static func parseWithPrometheusClient(_ path: String) throws -> [String: Double] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                for s in family.samples:
                    assert s.labels.get("agent") == "health-agent" and s.labels.get("region") == "test", s
                    out[s.name] = s.value
            print(json.dumps(out))
            """, path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "prometheus_client could not parse \(path)")
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Double]) ?? [:]
    }

    @Test("a running agent writes the file; `health` exits 0 while it runs and 1 once it stopped")
    func runningAgent() async throws {
        let dir = try makeTempDirectory("health")
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("access.log").path
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        let env = dir.appendingPathComponent("agent.env").path
        try """
            CLOWDER_METRICS_AGENT_ID=health-agent
            CLOWDER_METRICS_REGION=test
            CLOWDER_METRICS_ACCESS_LOG=\(log)
            CLOWDER_METRICS_OUTPUT_FILE=\(dir.appendingPathComponent("out.jsonl").path)
            CLOWDER_METRICS_SPOOL_PATH=\(dir.appendingPathComponent("spool.db").path)
            """.write(toFile: env, atomically: true, encoding: .utf8)
        let health = dir.appendingPathComponent("clowder-agent.prom").path
        let agent = try AgentProcess(["run", "--env-file", env])
        defer { if agent.process.isRunning { _ = agent.terminate() } }
        let line = #"127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8""# + "\n"
        var appended = false
        var parsed: [String: Double] = [:]
        let deadline = Date().addingTimeInterval(30)
        // The file is rewritten every 5 s: wait for one written after the 3 lines were read.
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: health) {
                if !appended {
                    let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
                    h.seekToEndOfFile()
                    h.write(Data((line + line + line).utf8))
                    try h.close()
                    appended = true
                }
                parsed = try Self.parseWithPrometheusClient(health)
                if parsed["clowder_agent_lines_read_total"] == 3 { break }
            }
            usleep(250_000)
        }
        #expect(parsed["clowder_agent_lines_read_total"] == 3, "\(parsed)")
        #expect(parsed["clowder_agent_up"] == 1)
        #expect((parsed["clowder_agent_last_line_read_timestamp_seconds"] ?? 0) > Date().timeIntervalSince1970 - 60)
        #expect(parsed["clowder_agent_spool_max_bytes"] == 268_435_456)
        #expect(parsed["clowder_agent_batches_dropped_total"] == 0)
        #expect(!FileManager.default.fileExists(atPath: health + ".tmp"), "written through a temporary file and renamed")

        let alive = try AgentProcess.run(["health", "--env-file", env])
        #expect(alive.status == 0 && alive.out.hasPrefix("alive: "), "\(alive)")
        let ready = try AgentProcess.run(["health", "--env-file", env, "--ready"])
        #expect(ready.status == 0 && ready.out.hasPrefix("ready: "), "\(ready)")

        #expect(agent.terminate(timeout: 30) == 0)
        let stopped = try AgentProcess.run(["health", "--env-file", env])
        #expect(stopped.status == 1 && stopped.out.contains("not running"), "\(stopped)")
        let missing = try AgentProcess.run(["health", "--file", dir.appendingPathComponent("none.prom").path])
        #expect(missing.status == 1 && missing.out.hasPrefix("unhealthy"), "\(missing)")
    }
}
