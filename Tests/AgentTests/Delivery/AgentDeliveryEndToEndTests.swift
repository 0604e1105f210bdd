import Foundation
import Testing

/// `clowder-agent run` (the built executable, see `AgentProcess`) tailing a
/// generated access log and delivering to the Python receiver, which verifies
/// every request with `http-message-signatures` and de-duplicates by
/// `Idempotency-Key`. Expected counts come from `gen-clowder-log`'s truth file.
@Suite(.serialized) struct AgentDeliveryEndToEndTests {
    struct Run {
        var dir: URL
        var receiver: Receiver
        var envFile: String
        var accessLog: String
        var lines: [Data]
        var truthRequests: Int
    }

    /// Generates `lines` lines (`--format clowder`, UTC minutes of log time) and an env file.
    static func prepare(lines: Int, seed: Int) throws -> Run {
        let dir = try makeTempDirectory("agent-e2e")
        let receiver = try Receiver(keys: [Samples.keyID: Samples.secret], directory: dir)
        let source = dir.appendingPathComponent("source.log").path
        let truth = dir.appendingPathComponent("truth.json").path
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gen.arguments = ["python3", AgentProcess.sharedTool("gen-clowder-log"), "--lines", "\(lines)", "--seed", "\(seed)",
                         "--format", "clowder", "--out", source, "--truth", truth]
        try gen.run()
        gen.waitUntilExit()
        #expect(gen.terminationStatus == 0)
        let t = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: truth))) as! [String: Any]
        let all = try Data(contentsOf: URL(fileURLWithPath: source))
        let split = all.split(separator: 10, omittingEmptySubsequences: false).dropLast().map { Data($0) + Data([10]) }
        let keyFile = dir.appendingPathComponent("api-key").path
        try Data(Samples.secret).write(to: URL(fileURLWithPath: keyFile))
        let accessLog = dir.appendingPathComponent("access.log").path
        FileManager.default.createFile(atPath: accessLog, contents: nil)
        let env = dir.appendingPathComponent("agent.env").path
        try """
            CLOWDER_METRICS_INGEST_URL=\(receiver.baseURL)
            CLOWDER_METRICS_API_KEY_ID=\(Samples.keyID)
            CLOWDER_METRICS_API_KEY_FILE=\(keyFile)
            CLOWDER_METRICS_ACCESS_LOG=\(accessLog)
            CLOWDER_METRICS_LOG_FORMAT=clowder_metrics
            CLOWDER_METRICS_READ_FROM=start
            CLOWDER_METRICS_SPOOL_PATH=\(dir.appendingPathComponent("spool.db").path)
            CLOWDER_METRICS_WINDOW=60
            CLOWDER_METRICS_BATCH_MAX_AGE=1
            CLOWDER_METRICS_SHUTDOWN_GRACE=60
            CLOWDER_METRICS_RETRY_INITIAL=0.2
            CLOWDER_METRICS_RETRY_MAX=2

            """.write(toFile: env, atomically: true, encoding: .utf8)
        return Run(dir: dir, receiver: receiver, envFile: env, accessLog: accessLog, lines: split,
                   truthRequests: (t["totals"] as! [String: Any])["requests"] as! Int)
    }

    static func start(_ r: Run) throws -> AgentProcess { try AgentProcess(["run", "--env-file", r.envFile]) }

    /// Appends with one write, like NGINX.
    static func append(_ lines: ArraySlice<Data>, to path: String) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        h.seekToEndOfFile()
        h.write(lines.reduce(into: Data()) { $0 += $1 })
        try h.close()
    }

    /// A line a day after `last` (same format): it moves the watermark past
    /// every earlier window, so they all close and are sent while the agent
    /// runs; its own window (1 request) is closed and sent at SIGTERM.
    static func sentinel(after last: Data) -> Data {
        let text = String(decoding: last, as: UTF8.self)
        let open = text.firstIndex(of: "[")!, close = text.firstIndex(of: "]")!
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "dd/MMM/yyyy:HH:mm:ss Z"
        let t = f.date(from: String(text[text.index(after: open)..<close]))!.addingTimeInterval(86_400)
        return Data((String(text[..<text.index(after: open)]) + f.string(from: t) + String(text[close...])).utf8)
    }

    /// Sum of `requests` over every de-duplicated `nginx_access` point received.
    static func requests(_ state: Receiver.State) -> Int {
        state.batches.reduce(0) { sum, b in
            sum + ((b["points"] as? [[String: Any]]) ?? []).reduce(0) { s, p in
                guard p["measurement"] as? String == "nginx_access" else { return s }
                return s + ((p["fields"] as? [String: Any])?["requests"] as? Int ?? 0)
            }
        }
    }

    /// `kill -9` at 20 random moments while 100,000 lines arrive, restarting
    /// each time: the receiver's de-duplicated sum of `requests` equals the
    /// truth exactly (plus the sentinel line's 1 after SIGTERM).
    @Test func killNineTwentyTimes() async throws {
        let r = try Self.prepare(lines: 100_000, seed: 42)
        defer { try? FileManager.default.removeItem(at: r.dir) }
        let kills = 20
        let per = (r.lines.count + kills) / (kills + 1)
        var agent = try Self.start(r)
        for k in 0...kills {
            try Self.append(r.lines[min(k * per, r.lines.count)..<min((k + 1) * per, r.lines.count)], to: r.accessLog)
            if k == kills { break }
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...1500)))
            kill(agent.process.processIdentifier, SIGKILL)
            agent.process.waitUntilExit()
            agent = try Self.start(r)
        }
        try Self.append([Self.sentinel(after: r.lines.last!)], to: r.accessLog)
        // Every window but the sentinel's closes and is sent while the agent runs.
        let before = try await r.receiver.wait(seconds: 180) { Self.requests($0) >= r.truthRequests }
        #expect(Self.requests(before) == r.truthRequests)
        #expect(agent.terminate(timeout: 120) == 0)
        let s = try await r.receiver.state()
        #expect(s.rejected.isEmpty, "\(s.rejected.prefix(3))")
        #expect(Self.requests(s) == r.truthRequests + 1, "duplicates refused by Idempotency-Key: \(s.duplicates)")
        print("kill -9 x\(kills): \(r.truthRequests) requests in \(s.accepted) batches; \(s.duplicates) duplicate deliveries refused")
    }

    /// The receiver down while lines keep arriving, then up: every batch
    /// arrives once, in order (by `created`), and the sum of `requests`
    /// equals the truth.
    @Test func outageWhileLinesArrive() async throws {
        let r = try Self.prepare(lines: 20_000, seed: 7)
        defer { try? FileManager.default.removeItem(at: r.dir) }
        try await r.receiver.down()
        let agent = try Self.start(r)
        for k in 0..<10 {
            try Self.append(r.lines[(k * 2000)..<((k + 1) * 2000)], to: r.accessLog)
            try await Task.sleep(for: .milliseconds(300))
        }
        try Self.append([Self.sentinel(after: r.lines.last!)], to: r.accessLog)
        try await Task.sleep(for: .seconds(2))
        #expect(try await r.receiver.state().requests == 0)
        try await r.receiver.up()
        let before = try await r.receiver.wait(seconds: 400) { Self.requests($0) >= r.truthRequests }
        #expect(Self.requests(before) == r.truthRequests)
        #expect(agent.terminate(timeout: 120) == 0)
        let s = try await r.receiver.state()
        #expect(Self.requests(s) == r.truthRequests + 1)
        #expect(s.duplicates == 0)
        let created = s.batches.compactMap { $0["created"] as? Int }
        #expect(created.count == s.accepted && created == created.sorted())
    }
}
