import Foundation
import TestSupport
import Testing

/// deploy/demo/run.sh --short: the whole chain (NGINX → agent → ingest → RabbitMQ → sink →
/// InfluxDB) on real traffic; the figures it reads back from InfluxDB must equal the traffic
/// it sent (its own tally of the replayed requests, from gen-clowder-log's truth and the
/// responses received). About 40 s.
@Suite("One-command demo", .ownThreads)
struct DemoTests {
    /// `CLOWDER_AGENT_ONLY=1` builds leave out clowder-ingest and clowder-sink.
    static let agentOnly = ProcessInfo.processInfo.environment["CLOWDER_AGENT_ONLY"] == "1"

    /// The debug build folder, if the three programs are built and are the real ones
    /// (until the ingest and the sinks landed, their executables were one-line placeholders).
    static var binaries: URL? {
        guard let agent = Repo.debugProduct("clowder-agent") else { return nil }
        let bin = agent.deletingLastPathComponent()
        for (product, subcommand) in [("clowder-ingest", "serve"), ("clowder-sink", "run")] {
            let exe = bin.appendingPathComponent(product).path
            guard FileManager.default.isExecutableFile(atPath: exe),
                  let help = try? Run.run(exe, ["--help"]), help.stdout.contains(subcommand)
            else { return nil }
        }
        return bin
    }

    @Test("demo --short: the printed totals equal the traffic sent",
          .disabled(if: agentOnly, "CLOWDER_AGENT_ONLY=1 builds no clowder-ingest or clowder-sink"),
          .enabled(if: binaries != nil, "clowder-agent, clowder-ingest (serve) and clowder-sink (run) must be built: swift build --build-tests"),
          .timeLimit(.minutes(3)))
    func shortDemo() throws {
        let bin = try #require(Self.binaries)
        var env = ProcessInfo.processInfo.environment
        env["CLOWDER_SHARED_TOOLS"] = Repo.sharedTools.path
        let r = try Run.run(Repo.deploy.appendingPathComponent("demo/run.sh").path, ["--short", "--bin-dir", bin.path], environment: env)
        #expect(r.status == 0, "demo exited with \(r.status)\n\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("every traffic figure in InfluxDB equals the traffic sent"), "\(r.stdout)\n\(r.stderr)")
        #expect(!r.stdout.contains("<-- differs"), "\(r.stdout)")
    }
}
