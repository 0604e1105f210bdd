import Broker
import Foundation
import Ingest
import MetricsModel
import TestSupport
import Testing

/// Stops the shared RabbitMQ for a few seconds (`rabbitmqctl stop_app`, then
/// `start_app`): other broker suites retry their connects meanwhile.
@Suite("Ingest while RabbitMQ is stopped mid-stream", .serialized, .ownThreads)
struct IngestOutageTests {
    static func rabbitmqctl(_ args: String...) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/rabbitmqctl")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test("503 with Retry-After during the outage; after recovery the queue holds every point once")
    func outage() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/rabbitmqctl") else {
            Issue.record("rabbitmqctl is not installed (scripts/install-deps.sh installs rabbitmq-server)")
            return
        }
        let h = try await IngestHarness { $0.confirmTimeout = 10 }
        defer { Task { await h.stop() } }
        let batches = (0..<12).map { Batches.make(points: 50, events: 1, seed: 100 + $0) }
        var expected: [String: JSONValue] = [:]
        for b in batches { expected.merge(Batches.expectedMessages(b)) { a, _ in a } }

        // The first half goes through.
        for b in batches[..<6] {
            let r = try await h.postBatch(b)
            #expect(r.status == 202, "\(r.text)")
        }
        // Broker down, mid-stream.
        #expect(try Self.rabbitmqctl("stop_app") == 0)
        var outageReplies: [IngestHarness.Reply] = []
        var restarted = false
        for b in batches[6...] {
            // Post as the agent does: on 503 wait Retry-After (shortened here) and retry.
            while true {
                let r = try await h.postBatch(b, retry503: false)
                if r.status == 503 {
                    outageReplies.append(r)
                    if !restarted {
                        // Keep the outage short: the broker is shared.
                        restarted = true
                        #expect(try Self.rabbitmqctl("start_app") == 0)
                    }
                    try await Task.sleep(for: .milliseconds(250))
                    continue
                }
                #expect(r.status == 202, "\(r.text)")
                break
            }
        }
        if !restarted { _ = try Self.rabbitmqctl("start_app") }
        #expect(!outageReplies.isEmpty, "no request saw the outage")
        for r in outageReplies {
            #expect(r.contentType == "application/problem+json")
            #expect(r.json?["status"] == 503)
            #expect(r.retryAfter == 1)
        }
        // After recovery: every point and event exactly once.
        let got = try await h.drainQueue()
        let (bodies, count) = try PublishedMessages.items(got)
        #expect(Set(count.keys) == Set(expected.keys))
        #expect(count.values.allSatisfy { $0 == 1 }, "duplicated: \(count.filter { $0.value > 1 }.keys.sorted().prefix(5))")
        #expect(bodies == expected)
        let health = try await h.send(.get, "/healthz")
        #expect(health.status == 200)
    }
}
