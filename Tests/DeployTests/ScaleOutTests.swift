import Foundation
import TestSupport
import Testing

/// deploy/scale/run.sh: the scaled-out centre (3 RabbitMQ nodes, 2 ingest replicas behind NGINX,
/// 2 competing sinks on a quorum queue into PostgreSQL) while a node is stopped and started, an
/// ingest replica is killed -9 and restarted and a sink consumer is killed -9. The script checks
/// the store itself; this test reads its figures again and checks them against the ground truth
/// files it leaves in its work folder, independently of the script's own verdict.
/// It starts its own cluster (CPU-heavy for a minute): scripts/test.sh runs it alone.
@Suite("Scaled-out centre under failures (deploy/scale/run.sh)", .ownThreads)
struct ScaleOutTests {
    static let agentOnly = ProcessInfo.processInfo.environment["CLOWDER_AGENT_ONLY"] == "1"

    /// The debug build folder with the three real programs.
    static var binaries: URL? { DemoTests.binaries }

    static var isRoot: Bool { getuid() == 0 }

    /// `figure <name> truth=<n> store=<n> ok|DIFFERS` lines of check.py.
    static func figures(_ stdout: String) -> [String: (truth: Int64, store: Int64)] {
        var result: [String: (Int64, Int64)] = [:]
        for line in stdout.split(separator: "\n") where line.hasPrefix("figure ") {
            let words = line.split(separator: " ")
            guard words.count >= 4, let t = words.first(where: { $0.hasPrefix("truth=") }),
                  let s = words.first(where: { $0.hasPrefix("store=") }),
                  let truth = Int64(t.dropFirst(6)), let store = Int64(s.dropFirst(6))
            else { continue }
            result[String(words[1])] = (truth, store)
        }
        return result
    }

    @Test("a node stopped, an ingest and a sink killed -9: PostgreSQL's counter sums equal the ground truth, no dead letters",
          .disabled(if: agentOnly, "CLOWDER_AGENT_ONLY=1 builds no clowder-ingest or clowder-sink"),
          .enabled(if: binaries != nil, "clowder-agent, clowder-ingest and clowder-sink must be built: swift build --build-tests"),
          .enabled(if: isRoot, "the RabbitMQ nodes run as the rabbitmq user (root starts them, as on CI)"),
          .timeLimit(.minutes(5)))
    func underFailures() throws {
        let bin = try #require(Self.binaries)
        let work = try Repo.temporaryDirectory("scale")
        defer { if ProcessInfo.processInfo.environment["CLOWDER_SCALE_KEEP"] == nil { try? FileManager.default.removeItem(at: work) } }
        var env = ProcessInfo.processInfo.environment
        env["CLOWDER_SHARED_TOOLS"] = Repo.sharedTools.path
        env["CLOWDER_BIN"] = bin.path
        env["CLOWDER_SCALE_WORK"] = work.appendingPathComponent("run").path
        // timeout(1) sends SIGTERM after 280 s: run.sh's trap stops everything it started, and the test fails.
        let r = try Run.run("/usr/bin/timeout", ["280", Repo.deploy.appendingPathComponent("scale/run.sh").path], environment: env)
        let output = "\(r.stdout)\n\(r.stderr)"
        #expect(r.status == 0, "run.sh exited with \(r.status)\n\(output)")
        #expect(r.stdout.contains("scale-run: PASS"), "\(output)")

        // The truth, summed here from the generator's files (not from the script's figures).
        var truth: [String: Int64] = [:]
        let agents = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("run").path)
            .filter { $0.hasPrefix("agent-") }
        #expect(agents.count == 2, "\(agents)")
        for agent in agents {
            let url = work.appendingPathComponent("run/\(agent)/truth.json")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            for (name, value) in json["totals"] as! [String: Any] where !name.hasPrefix("distinct_") {
                if let n = value as? NSNumber { truth[name, default: 0] += n.int64Value }
            }
        }
        let figures = Self.figures(r.stdout)
        #expect(truth["requests", default: 0] > 20_000, "\(truth)")
        for (name, value) in truth {
            let figure = figures[name]
            #expect(figure?.truth == value, "\(name): the script's truth \(String(describing: figure?.truth)) != \(value)")
            #expect(figure?.store == value, "\(name): PostgreSQL holds \(String(describing: figure?.store)), the truth is \(value)")
        }
        #expect(figures["late_lines"]?.store == 0)
        // One event per resource view, download, upload, delete and extraction, each stored once.
        let eventKinds = ["view_file", "view_dataset", "view_collection", "view_space", "download_file", "download_dataset",
                          "download_collection", "uploads", "deletes", "extractions"]
        let events = eventKinds.reduce(Int64(0)) { $0 + truth[$1, default: 0] }
        #expect(events > 1_000)
        #expect(figures["events"]?.store == events, "events: PostgreSQL holds \(String(describing: figures["events"])), the truth is \(events)")
        // The dead-letter queue was listed and is empty.
        #expect(r.stdout.contains("figure dead_letters[clowder.metrics.dlx] messages=0 unacknowledged=0"), "\(r.stdout)")
        // Every failure happened.
        for step in ["stop_app", "running again", "kill -9 clowder-ingest 1", "clowder-ingest 1 started again", "kill -9 clowder-sink 2"] {
            #expect(r.stdout.contains(step), "the run did not report '\(step)'")
        }
        // The replica's death was seen by the balancer: it passed batches on to the other replica
        // (ingest 1 is down for 4 s while the agents send several batches a second).
        let balancer = r.stdout.split(separator: "\n").first { $0.hasPrefix("balancer: ") } ?? ""
        let passedOn = balancer.split(separator: ";").last?.split(separator: " ").first.flatMap { Int($0) } ?? 0
        #expect(passedOn >= 1, "NGINX passed no batch on to the other replica: \(balancer)")
        // Nothing is left running: every pid file is gone.
        let pids = (try? FileManager.default.subpathsOfDirectory(atPath: work.appendingPathComponent("run/pids").path)) ?? []
        #expect(pids.filter { $0.hasSuffix(".pid") }.isEmpty, "left running: \(pids)")
        if let seconds = r.stdout.split(separator: "\n").first(where: { $0.hasPrefix("figure seconds=") }) {
            print("scale-out run: \(seconds.dropFirst(7))")
        }
    }
}
