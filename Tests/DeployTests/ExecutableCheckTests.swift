import Foundation
import TestSupport
import Testing

/// Every settings example passes the programs' own `check --env-file`, run as the built
/// executables (`.build/debug/…`, built by `swift build --build-tests`).
@Suite("check --env-file on every example", .ownThreads)
struct ExecutableCheckTests {
    /// `CLOWDER_AGENT_ONLY=1` builds leave out clowder-ingest and clowder-sink.
    static let agentOnly = ProcessInfo.processInfo.environment["CLOWDER_AGENT_ONLY"] == "1"

    static func product(_ name: String) -> String? {
        guard let url = Repo.debugProduct(name) else {
            Issue.record("\(name) is not built: run swift build --build-tests (scripts/test.sh does)")
            return nil
        }
        return url.path
    }

    /// Runs `<product> check --env-file <file>` with `environment` added; expects exit 0.
    static func check(_ product: String, _ file: String, environment: [String: String] = [:]) throws {
        guard let exe = Self.product(product) else { return }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let r = try Run.run(exe, ["check", "--env-file", Repo.root.appendingPathComponent(file).path], environment: env)
        #expect(r.status == 0, "\(product) check --env-file \(file) exited \(r.status):\n\(r.stdout)\(r.stderr)")
    }

    @Test("clowder-agent check accepts every agent example",
          arguments: ["deploy/agent.env.example", "deploy/agent-region.env.example", "deploy/docker/env/agent.env"])
    func agent(_ file: String) async throws {
        try await AgentEnvExampleTests.withKeyFile { key in
            try Self.check("clowder-agent", file, environment: ["CLOWDER_METRICS_API_KEY_FILE": key])
        }
    }

    @Test("clowder-agent check parses a Clowder-shaped line with the example's log format (clowder_metrics)")
    func agentParsesTheRecommendedFormat() async throws {
        guard let exe = Self.product("clowder-agent") else { return }
        let line = #"203.0.113.7 - alice [29/Nov/2026:18:09:31 +0000] "GET /files/0123456789abcdef01234567 HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64)" 0.042 0.040, 0.001 1234 3 612"#
        try await AgentEnvExampleTests.withKeyFile { key in
            var env = ProcessInfo.processInfo.environment
            env["CLOWDER_METRICS_API_KEY_FILE"] = key
            let r = try Run.run(exe, ["check", "--env-file", Repo.root.appendingPathComponent("deploy/agent.env.example").path, "--sample", line],
                                environment: env)
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("sample: parsed"))
            #expect(r.stdout.contains("$request_time = 0.042"), "\(r.stdout)")
            #expect(r.stdout.contains("$connection = 1234"), "\(r.stdout)")
        }
    }

    @Test("clowder-sink check accepts every sink example", .disabled(if: agentOnly, "CLOWDER_AGENT_ONLY=1 builds no clowder-sink"),
          arguments: ["deploy/sink.env.example", "deploy/docker/env/sink.env"])
    func sink(_ file: String) throws {
        try Self.check("clowder-sink", file)
    }

    @Test("clowder-ingest check refuses keys.example's placeholders, and accepts every ingest example once they are replaced",
          .disabled(if: agentOnly, "CLOWDER_AGENT_ONLY=1 builds no clowder-ingest"),
          arguments: ["deploy/ingest.env.example", "deploy/docker/env/ingest.env"])
    func ingest(_ file: String) throws {
        // keys.example with its key files moved into a scratch directory (the environment wins over the env file).
        let dir = try Repo.temporaryDirectory("ingest-keys")
        defer { try? FileManager.default.removeItem(at: dir) }
        let shipped = try Repo.text("deploy/keys.example").replacingOccurrences(of: "hmac:file:/etc/clowder-metrics/", with: "hmac:file:\(dir.path)/")
        try Data("0123456789abcdef0123456789abcdef\n".utf8).write(to: dir.appendingPathComponent("agent-clowder-example-org.key"))
        let environment = [
            "CLOWDER_INGEST_KEYS_FILE": dir.appendingPathComponent("keys").path,
            "CLOWDER_INGEST_DEDUPE_PATH": dir.appendingPathComponent("dedupe.db").path,
            "CLOWDER_INGEST_JOURNAL_PATH": dir.appendingPathComponent("journal.db").path,
        ]
        // As shipped: refused, naming the placeholder.
        try Data(shipped.utf8).write(to: dir.appendingPathComponent("keys"))
        if let exe = Self.product("clowder-ingest") {
            var env = ProcessInfo.processInfo.environment
            for (k, v) in environment { env[k] = v }
            let r = try Run.run(exe, ["check", "--env-file", Repo.root.appendingPathComponent(file).path], environment: env)
            #expect(r.status == 78, "\(r.stdout)\(r.stderr)")
            #expect(r.stderr.contains("placeholder CHANGE-ME"), "\(r.stderr)")
        }
        // Placeholders replaced by a secret (hex) and a SHA-256: accepted.
        let keys = shipped.replacingOccurrences(of: "hmac:hex:CHANGE-ME", with: "hmac:hex:" + String(repeating: "5a", count: 32))
            .replacingOccurrences(of: "sha256:CHANGE-ME", with: "sha256:" + String(repeating: "ab", count: 32))
        try Data(keys.utf8).write(to: dir.appendingPathComponent("keys"))
        try Self.check("clowder-ingest", file, environment: environment)
    }

    @Test("the compose keys file names the compose agent's key id")
    func composeKeys() throws {
        let keys = try Repo.text("deploy/docker/env/keys")
        let agent = try Repo.text("deploy/docker/env/agent.env")
        #expect(agent.contains("CLOWDER_METRICS_API_KEY_ID=compose-agent"))
        #expect(keys.split(separator: "\n").contains { $0.hasPrefix("compose-agent ") })
    }
}
