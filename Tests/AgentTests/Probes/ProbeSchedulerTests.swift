import Agent
import Foundation
import MetricsModel
import Synchronization
import TestSupport
import Testing

/// `ProbeScheduler`: independent targets, tags on every point, returns on cancellation.
@Suite("ProbeScheduler", .ownThreads)
struct ProbeSchedulerTests {
    final class Collected: Sendable {
        let items = Mutex<[(points: [Point], events: [ClowderEvent])]>([])
        func add(_ p: [Point], _ e: [ClowderEvent]) { items.withLock { $0.append((p, e)) } }
        var points: [Point] { items.withLock { $0.flatMap(\.points) } }
        var events: [ClowderEvent] { items.withLock { $0.flatMap(\.events) } }
    }

    @Test("every target emits with the agent's tags; a hanging target does not hold back the others")
    func independentTargets() async throws {
        let nginx = try ProbeNginx(serverBody: """
            location = /healthz { default_type text/plain; return 200 "healthy"; }
            location = /nginx_status { stub_status; }
            """)
        defer { nginx.stop() }
        let silent = try SilentListener()
        let hanging = "http://127.0.0.1:\(silent.port)/"
        let settings = ProbeSettings(
            httpTargets: [nginx.url("/healthz"), hanging], pingTargets: ["127.0.0.1"],
            stubStatusURL: nginx.url("/nginx_status"), interval: 0.1,
            pingCount: 2, pingInterval: 0.01, pingTimeout: 0.5,
            httpTimeout: 20, expectBody: "healthy")
        let identity = AgentIdentity(id: "agent-7", host: "probe-host", region: "eu-west", version: "0")
        let collected = Collected()
        let scheduler = ProbeScheduler(settings: settings, identity: identity)
        let task = Task { await scheduler.run { collected.add($0, $1) } }
        // Wait (at most 30 s, a bound for a loaded machine) until the fast targets have each done 3 rounds.
        let deadline = Date().addingTimeInterval(30)
        func rounds(_ m: String, _ key: String, _ value: String) -> Int {
            collected.points.filter { $0.measurement == m && $0.tags[key] == value }.count
        }
        while Date() < deadline {
            if rounds("http_response", "server", nginx.url("/healthz")) >= 3 && rounds("ping", "url", "127.0.0.1") >= 3
                && collected.points.filter({ $0.measurement == "nginx" }).count >= 3 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        task.cancel()
        await task.value  // returns although the hanging request (20 s timeout) is in flight

        #expect(rounds("http_response", "server", nginx.url("/healthz")) >= 3)
        #expect(rounds("ping", "url", "127.0.0.1") >= 3)
        #expect(collected.points.filter { $0.measurement == "nginx" }.count >= 3)
        #expect(rounds("http_response", "server", hanging) == 0)  // still waiting when cancelled
        for p in collected.points {
            #expect(p.tags["agent"] == "agent-7")
            #expect(p.tags["host"] == "probe-host")
            #expect(p.tags["region"] == "eu-west")
        }
        let http = collected.points.filter { $0.measurement == "http_response" }
        #expect(http.allSatisfy { $0.fields["up"] == .int(1) && $0.fields["uptime"] == .double(1) })
        let events = collected.events
        #expect(events.allSatisfy { $0.category == "service_status" && $0.type == "up" })
        #expect(events.contains { $0.members["service_name"] == .string(nginx.url("/healthz")) })
        #expect(events.contains { $0.members["service_name"] == "127.0.0.1" })
        // Nothing is emitted after run returned.
        let count = collected.items.withLock { $0.count }
        try await Task.sleep(for: .milliseconds(300))
        #expect(collected.items.withLock { $0.count } == count)
    }

    @Test("no targets: run waits for cancellation and returns")
    func empty() async {
        let scheduler = ProbeScheduler(settings: ProbeSettings(),
                                       identity: AgentIdentity(id: "a", host: "h", region: "r", version: "0"))
        #expect(scheduler.settings.isEmpty)
        let task = Task { await scheduler.run { _, _ in } }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        await task.value
    }

    @Test("documented defaults")
    func defaults() {
        let s = ProbeSettings()
        #expect(s.interval == 60)
        #expect(s.pingCount == 5)
        #expect(s.pingInterval == 1)
        #expect(s.httpTimeout == 10)
        #expect(s.followRedirects)
        #expect(!s.reuseConnections)
        #expect(s.expectStatus == nil && s.expectBody == nil)
        #expect(ProbeSettings(interval: 30, targetIntervals: ["x": 5]).interval(for: "x") == 5)
        #expect(ProbeSettings(interval: 30, targetIntervals: ["x": 5]).interval(for: "y") == 30)
    }
}
