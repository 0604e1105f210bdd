import Foundation
import Synchronization
import TestSupport
import Testing

/// `clowder-agent run` killed with SIGKILL in the first seconds after a FIRST start (empty spool),
/// with `READ_FROM=end` and `start`, the receiver up or down: the position the first start chose
/// must be committed before any line is read, so the restart resumes from it instead of starting
/// over (which with `READ_FROM=end` skipped every line written in between, issue 12).
///
/// Each trial: a log with 300 lines before the start, a first start, lines appended every 50 ms
/// once the agent says it started, `kill -9` at the trial's moment (0.1 s, 0.6 s, … 4.6 s after the
/// process was spawned: some before the agent has even opened the log), a restart, more lines, then
/// SIGTERM with the receiver up. The independent Python receiver (RFC 9421 verified, de-duplicated
/// by `Idempotency-Key`) must then hold exactly the requests written after the start position: the
/// lines appended (READ_FROM=end), or those plus the 300 already there (start). The ten trials of a
/// mode run side by side (a receiver and an agent each), and both modes at once: about 20 s.
@Suite("clowder-agent run: kill -9 in the first seconds after a first start", .ownThreads)
struct FirstStartCrashTests {
    static let secret: [UInt8] = Array("first-start-secret-0123456789abcdef".utf8)
    static let before = 300
    static let chunk = 40

    /// A combined-format line, all in one minute (the window stays open until SIGTERM closes it).
    static func line(_ n: Int) -> String {
        "10.1.\(n / 250 % 250).\(n % 250) - - [01/Dec/2026:10:00:\(String(format: "%02d", n % 60)) +0000] \"GET /page/\(n) HTTP/1.1\" 200 \(100 + n % 900) \"-\" \"curl/8\""
    }

    /// Appends lines with one write, as NGINX does.
    static func append(_ range: Range<Int>, to path: String) throws {
        guard !range.isEmpty else { return }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(range.map { line($0) + "\n" }.joined().utf8))
        try handle.close()
    }

    static func requests(_ state: Receiver.State) -> Int {
        var total = 0
        for batch in state.batches {
            for point in batch["points"] as? [[String: Any]] ?? [] where point["measurement"] as? String == "nginx_access" {
                total += ((point["fields"] as? [String: Any])?["requests"] as? Int) ?? 0
            }
        }
        return total
    }

    /// The agent's standard error, gathered as it comes (so the pipe never fills).
    final class Started: @unchecked Sendable {
        let text = Mutex("")
        init(_ agent: AgentProcess) {
            agent.stderr.fileHandleForReading.readabilityHandler = { [self] h in
                let d = h.availableData
                text.withLock { $0 += String(decoding: d, as: UTF8.self) }
            }
        }
        var started: Bool { text.withLock { $0.contains("clowder-agent") && $0.contains("started") } }
    }

    struct Outcome: Sendable {
        var killAfter: Double
        var receiverDown: Bool
        var startedBeforeKill: Bool
        var expected: Int
        var received: Int
        var duplicates: Int
        var rejected: Int
    }

    /// One trial; blocks its thread.
    static func trial(index: Int, readFromStart: Bool) async throws -> Outcome {
        let killAfter = 0.1 + 0.5 * Double(index)
        let receiverDown = index % 2 == 1
        let dir = try makeTempDirectory("first-start")
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("access.log").path
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        try append(0..<before, to: log)
        let receiver = try Receiver(keys: ["first-start": secret], directory: dir)
        if receiverDown { try await receiver.down() }
        try Data(secret).write(to: dir.appendingPathComponent("api.key"))
        let env = """
            CLOWDER_METRICS_ACCESS_LOG=\(log)
            CLOWDER_METRICS_LOG_FORMAT=combined
            CLOWDER_METRICS_READ_FROM=\(readFromStart ? "start" : "end")
            CLOWDER_METRICS_INGEST_URL=\(receiver.baseURL)
            CLOWDER_METRICS_API_KEY_ID=first-start
            CLOWDER_METRICS_API_KEY_FILE=\(dir.appendingPathComponent("api.key").path)
            CLOWDER_METRICS_SPOOL_PATH=\(dir.appendingPathComponent("spool.db").path)
            CLOWDER_METRICS_BATCH_MAX_AGE=0.2
            CLOWDER_METRICS_RETRY_INITIAL=0.05
            CLOWDER_METRICS_RETRY_MAX=0.3
            CLOWDER_METRICS_SHUTDOWN_GRACE=10
            """
        let envFile = dir.appendingPathComponent("agent.env").path
        try env.write(toFile: envFile, atomically: true, encoding: .utf8)

        var written = before
        // First start; lines arrive only once it said it started (its start position is then fixed).
        let first = try AgentProcess(["run", "--env-file", envFile])
        let firstLog = Started(first)
        let spawned = Date()
        while Date().timeIntervalSince(spawned) < killAfter {
            if firstLog.started {
                try append(written..<(written + chunk), to: log)
                written += chunk
            }
            usleep(50_000)
        }
        let startedBeforeKill = firstLog.started
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        first.stderr.fileHandleForReading.readabilityHandler = nil

        // Restart (a first start again only when the kill came before the agent had started).
        let second = try AgentProcess(["run", "--env-file", envFile])
        let secondLog = Started(second)
        let deadline = Date().addingTimeInterval(30)
        while !secondLog.started && Date() < deadline { usleep(20_000) }
        for _ in 0..<3 {
            try append(written..<(written + chunk), to: log)
            written += chunk
            usleep(100_000)
        }
        if receiverDown { try await receiver.up() }
        let expected = written - (readFromStart ? 0 : before)
        // Every line is in one window, which only SIGTERM closes: the requests arrive after it.
        #expect(second.terminate(timeout: 30) == 0, "\(secondLog.text.withLock { $0 })")
        second.stderr.fileHandleForReading.readabilityHandler = nil
        let state = try await receiver.wait(seconds: 20) { requests($0) >= expected }
        return Outcome(
            killAfter: killAfter, receiverDown: receiverDown, startedBeforeKill: startedBeforeKill, expected: expected,
            received: requests(state), duplicates: state.duplicates, rejected: state.rejected.count)
    }

    @Test("10 kills in the first 5 s after a first start: the sum equals the lines after the start position", arguments: ["end", "start"])
    func firstStart(readFrom: String) async throws {
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for i in 0..<10 { group.addTask { try await Self.trial(index: i, readFromStart: readFrom == "start") } }
            var all: [Outcome] = []
            for try await o in group { all.append(o) }
            return all.sorted { $0.killAfter < $1.killAfter }
        }
        #expect(outcomes.count == 10)
        // Most kills must land after the agent started and read lines, or the test would not test anything.
        #expect(outcomes.filter(\.startedBeforeKill).count >= 5, "\(outcomes)")
        for o in outcomes {
            #expect(o.received == o.expected, "READ_FROM=\(readFrom), kill after \(o.killAfter) s, receiver down: \(o.receiverDown): \(o)")
            #expect(o.rejected == 0)
        }
        print("first-start kill -9 (READ_FROM=\(readFrom)): " + outcomes.map {
            "kill@\($0.killAfter)s\($0.receiverDown ? " down" : "") started=\($0.startedBeforeKill) \($0.received)/\($0.expected)"
        }.joined(separator: "; "))
    }
}
