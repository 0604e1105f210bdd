import Foundation
import TestSupport
import Testing

/// `clowder-agent run` forwarding to the independent Python receiver (it
/// verifies every RFC 9421 signature with `http-message-signatures` and
/// de-duplicates by `Idempotency-Key`), killed with SIGKILL at random moments.
@Suite("clowder-agent run: exactly once through kill -9 and outages", .serialized, .ownThreads)
struct AgentCrashTests {
    static let secret: [UInt8] = Array("crash-test-secret-0123456789abcdef".utf8)

    struct Setup {
        let dir: URL
        let receiver: Receiver
        let truth: [String: Any]
        let lines: [Substring]
        var log: String { dir.appendingPathComponent("access.log").path }
        var envFile: String { dir.appendingPathComponent("agent.env").path }
    }

    func setUp(lines: Int, seed: Int) throws -> Setup {
        let dir = try makeTempDirectory("crash")
        let receiver = try Receiver(keys: ["crash-agent": Self.secret], directory: dir)
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let source = dir.appendingPathComponent("source.log").path
        gen.arguments = ["python3", AgentProcess.sharedTool("gen-clowder-log"), "--lines", "\(lines)", "--seed", "\(seed)",
                         "--format", "clowder_rl", "--out", source, "--truth", dir.appendingPathComponent("truth.json").path]
        try gen.run()
        gen.waitUntilExit()
        let truth = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("truth.json"))) as! [String: Any]
        let all = try String(contentsOfFile: source, encoding: .utf8).split(separator: "\n")
        try Data(Self.secret).write(to: dir.appendingPathComponent("api.key"))
        #expect(FileManager.default.createFile(atPath: dir.appendingPathComponent("access.log").path, contents: nil))
        let env = """
            CLOWDER_METRICS_ACCESS_LOG=\(dir.appendingPathComponent("access.log").path)
            CLOWDER_METRICS_LOG_FORMAT=clowder_metrics
            CLOWDER_METRICS_READ_FROM=start
            CLOWDER_METRICS_INGEST_URL=\(receiver.baseURL)
            CLOWDER_METRICS_API_KEY_ID=crash-agent
            CLOWDER_METRICS_API_KEY_FILE=\(dir.appendingPathComponent("api.key").path)
            CLOWDER_METRICS_SPOOL_PATH=\(dir.appendingPathComponent("spool.db").path)
            CLOWDER_METRICS_BATCH_MAX_AGE=0.2
            CLOWDER_METRICS_BATCH_MAX_POINTS=50
            CLOWDER_METRICS_RETRY_INITIAL=0.05
            CLOWDER_METRICS_RETRY_MAX=0.5
            CLOWDER_METRICS_SHUTDOWN_GRACE=10
            """
        try env.write(toFile: dir.appendingPathComponent("agent.env").path, atomically: true, encoding: .utf8)
        return Setup(dir: dir, receiver: receiver, truth: truth, lines: all)
    }

    /// Appends lines with one write, as NGINX does.
    func append(_ lines: ArraySlice<Substring>, to path: String) throws {
        guard !lines.isEmpty else { return }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        handle.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        try handle.close()
    }

    /// Sum of a field over the de-duplicated nginx_access points the receiver holds.
    func sum(_ field: String, _ state: Receiver.State) -> Int {
        var total = 0
        for batch in state.batches {
            for point in batch["points"] as? [[String: Any]] ?? [] where point["measurement"] as? String == "nginx_access" {
                total += ((point["fields"] as? [String: Any])?[field] as? Int) ?? 0
            }
        }
        return total
    }

    @Test("kill -9 at 20 random moments over 100,000 lines: the de-duplicated sums equal the lines written")
    func killNine() async throws {
        let s = try setUp(lines: 100_000, seed: 42)
        defer { try? FileManager.default.removeItem(at: s.dir) }
        var rng = SystemRandomNumberGenerator()
        var written = 0
        let chunk = 2_000
        for _ in 0..<20 {
            let agent = try AgentProcess(["run", "--env-file", s.envFile])
            // Lines keep arriving while the agent runs; kill it at a random moment.
            let chunks = Int.random(in: 0...3, using: &rng)
            for _ in 0..<chunks where written < s.lines.count {
                let next = min(written + chunk, s.lines.count)
                try append(s.lines[written..<next], to: s.log)
                written = next
                usleep(UInt32.random(in: 5_000...60_000, using: &rng))
            }
            usleep(UInt32.random(in: 100_000...1_200_000, using: &rng))
            kill(agent.process.processIdentifier, SIGKILL)
            agent.process.waitUntilExit()
        }
        // The rest, then a clean stop: every window closes and is sent.
        let agent = try AgentProcess(["run", "--env-file", s.envFile])
        try append(s.lines[written...], to: s.log)
        let totals = s.truth["totals"] as! [String: Any]
        let expected = totals["requests"] as! Int
        // Every window but the open ones arrives while running; wait for most, then SIGTERM sends the rest.
        _ = try await s.receiver.wait(seconds: 120) { sum("requests", $0) >= expected - 10_000 }
        #expect(agent.terminate(timeout: 60) == 0)
        let state = try await s.receiver.wait(seconds: 60) { sum("requests", $0) >= expected }
        #expect(state.rejected.isEmpty, "\(state.rejected.prefix(3))")
        for field in ["requests", "page_views", "download_file", "api_calls", "bytes_sent", "malformed_lines", "status_4xx"] {
            #expect(sum(field, state) == totals[field] as! Int, "\(field)")
        }
        let sizes = state.batches.map { (($0["points"] as? [Any])?.count ?? 0) }
        print("kill -9 test: \(state.batches.count) batches (points each: \(sizes)), \(state.accepted) accepted, \(state.duplicates) duplicates refused by Idempotency-Key, \(state.requests) requests")
    }

    @Test("receiver down while lines keep arriving, then up: every batch arrives once, in order")
    func outage() async throws {
        let s = try setUp(lines: 20_000, seed: 9)
        defer { try? FileManager.default.removeItem(at: s.dir) }
        let agent = try AgentProcess(["run", "--env-file", s.envFile])
        try append(s.lines[0..<5_000], to: s.log)
        _ = try await s.receiver.wait(seconds: 60) { $0.accepted > 0 }
        try await s.receiver.down()
        for start in stride(from: 5_000, to: 15_000, by: 1_000) {
            try append(s.lines[start..<start + 1_000], to: s.log)
            usleep(100_000)
        }
        usleep(1_000_000)
        try await s.receiver.up()
        try append(s.lines[15_000...], to: s.log)
        let totals = s.truth["totals"] as! [String: Any]
        let expected = totals["requests"] as! Int
        _ = try await s.receiver.wait(seconds: 60) { sum("requests", $0) >= expected - 5_000 }
        #expect(agent.terminate(timeout: 60) == 0)
        let state = try await s.receiver.wait(seconds: 60) { sum("requests", $0) >= expected }
        #expect(sum("requests", state) == expected)
        #expect(state.duplicates == 0)
        // In order: batch `created` never goes backwards in arrival order.
        let created = state.batches.compactMap { $0["created"] as? Int }
        #expect(created == created.sorted())
    }
}
