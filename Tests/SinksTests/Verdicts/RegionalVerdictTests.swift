import Broker
import Foundation
import Logging
import MetricsModel
import Synchronization
import TestSupport
import Testing

@testable import Sinks

/// Issue 13's "must show": two regions, each a `delay-link` (its own pair of
/// namespaces) with NGINX serving the target and a witness in the far
/// namespace and a real `clowder-agent run` in the near one; the agents'
/// rounds go through RabbitMQ (a test exchange) to a real ``VerdictService``,
/// whose `service_verdict` points the test reads back from the exchange.
///
/// The agents write JSON lines (no ingest reachable from inside the
/// namespaces); a relay publishes each line as the ingest does (events
/// unchanged, points as ``MetricsMessage``).
@Suite("Regional verdicts over two delay-links", .serialized, .ownThreads)
struct RegionalVerdictTests {
    static let period = 1.0, delay = 0.3, silentAfter = 6.0
    /// The stated time: a region is `agent_silent` at most SILENT_AFTER + PERIOD + DELAY after its last round.
    static var silentBound: Double { silentAfter + period + delay }

    @Test("target cut → down; one region's link cut → agent_network_down there, verdict up; agent stopped → agent_silent in time")
    func regions() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("verdicts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let upFlag = dir.appendingPathComponent("up").path
        FileManager.default.createFile(atPath: upFlag, contents: Data("1".utf8))

        var regions: [Region] = []
        defer { for r in regions { r.stop() } }
        for name in ["region-a", "region-b"] {
            let d = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            let r = try Region.make(region: name, dir: d, upFlag: upFlag)
            regions.append(r)
            try r.startAgent()
        }
        let (a, b) = (regions[0], regions[1])

        let exchange = TestServers.unique("verdicts")
        let url = try BrokerURL(TestServers.amqpURL)
        let service = try VerdictService(
            settings: VerdictSettings(
                amqpURL: TestServers.amqpURL, exchange: exchange, queue: exchange + ".verdicts",
                policy: VerdictPolicy(quorum: 2, silentAfter: Self.silentAfter), period: Self.period, delay: Self.delay,
                warmup: 0),
            logger: TestServers.logger)
        let serviceTask = Task { try await service.run() }
        defer { serviceTask.cancel() }

        // The observer: its own queue on the exchange, keeping every service_verdict with its arrival time.
        let observer = BrokerConsumer(url: url, exchange: ExchangeDeclaration(name: exchange),
                                      queue: QueueDeclaration(name: exchange + ".observer", durable: false, autoDelete: true))
        observer.start()
        let box = Collected()
        let seen = box.seen, rounds = box.rounds
        let observe = Task {
            for await d in observer.deliveries {
                if case .point(let p)? = try? MetricsMessage.decode(d.body), p.measurement == "service_verdict" {
                    seen.withLock { $0.append((Date(), p)) }
                }
                observer.ack(d)
            }
        }
        defer { observe.cancel() }
        #expect(await observer.waitUntilConnected(timeout: 10))

        // The relay, as the ingest publishes.
        let publisher = BrokerPublisher(url: url, exchange: ExchangeDeclaration(name: exchange))
        publisher.start()
        #expect(await publisher.waitUntilConnected(timeout: 10))
        let relayed = regions
        let relay = Task {
            var offsets = [Int](repeating: 0, count: relayed.count)
            while !Task.isCancelled {
                for (i, r) in relayed.enumerated() {
                    guard let data = FileManager.default.contents(atPath: r.output.path), data.count > offsets[i] else { continue }
                    let bytes = [UInt8](data)
                    guard let lastNewline = bytes.lastIndex(of: 0x0A), lastNewline >= offsets[i] else { continue }
                    var messages: [OutgoingMessage] = []
                    for line in bytes[offsets[i]...lastNewline].split(separator: 0x0A) {
                        guard let v = try? JSONValue(parsing: line) else { continue }
                        if v["category"] != nil, let e = try? ClowderEvent(json: v) {
                            messages.append(OutgoingMessage(body: e.json.jsonBytes))
                            if e.category == "service_status", let t = e.type, let c = e.created {
                                rounds.withLock { $0.append((r.region, t, c)) }
                            }
                        } else if let p = try? Point(json: v) {
                            messages.append(OutgoingMessage(body: MetricsMessage.json(for: p, agentID: "agent-\(r.region)").jsonBytes))
                        }
                    }
                    offsets[i] = lastNewline + 1
                    try? await publisher.publish(messages)
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { relay.cancel() }

        /// Waits for a verdict arriving after `since` that satisfies `match`.
        func verdict(after since: Date, timeout: Double, _ match: @escaping (Point) -> Bool) async -> (at: Date, point: Point)? {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let hit = seen.withLock({ $0.first { $0.at > since && match($0.point) } }) { return hit }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return nil
        }
        func s(_ p: Point, _ f: String) -> String { p.fields[f]?.stringValue ?? "?" }
        let bothUp: (Point) -> Bool = { $0.tags["verdict"] == "up" && s($0, "up_regions") == "region-a,region-b" }

        // 1. Both regions see the target up.
        let up1 = await verdict(after: .distantPast, timeout: 30, bothUp)
        try #require(up1 != nil, "no verdict up from both regions: \(seen.withLock { $0.map(\.point.fields) }.suffix(3)); agent a: \(Self.tail(a)); b: \(Self.tail(b))")
        #expect(up1!.point.tags["service_name"] == "http://10.77.0.2:24080/healthz")

        // 2. The target itself fails (both NGINX answer 503, the witnesses still answer): down by quorum.
        try FileManager.default.removeItem(atPath: upFlag)
        let cutAt = Date()
        let down = await verdict(after: cutAt, timeout: 20) { $0.tags["verdict"] == "down" }
        try #require(down != nil, "no verdict down after the target failed: \(seen.withLock { $0.map(\.point.fields) }.suffix(3))")
        #expect(s(down!.point, "down_regions") == "region-a,region-b")
        #expect(down!.point.fields["regions_down"] == .int(2) && down!.point.fields["down"] == .int(1))
        #expect(down!.point.fields["regions_network_down"] == .int(0))

        // 3. The target is back; region a's link is cut (target and witness silent from there alone).
        FileManager.default.createFile(atPath: upFlag, contents: Data("1".utf8))
        let up2 = await verdict(after: Date(), timeout: 20, bothUp)
        try #require(up2 != nil, "no verdict up after the target came back")
        a.cut(true)
        let linkCutAt = Date()
        let netDown = await verdict(after: linkCutAt, timeout: 20) { s($0, "network_down_regions") == "region-a" }
        a.cut(false)
        try #require(netDown != nil, "region-a never agent_network_down: \(seen.withLock { $0.map(\.point.fields) }.suffix(3))")
        #expect(netDown!.point.tags["verdict"] == "up", "one region's own network down must not make the target down")
        #expect(s(netDown!.point, "up_regions") == "region-b" && s(netDown!.point, "down_regions") == "")
        #expect(netDown!.point.fields["regions_unknown"] == .int(1))
        #expect(rounds.withLock { $0.contains { $0.region == "region-a" && $0.type == "agent_network_down" } },
                "the agent's service_status event says agent_network_down")
        #expect(!rounds.withLock { $0.contains { $0.region == "region-a" && $0.type == "down" && Double($0.created) / 1000 > linkCutAt.timeIntervalSince1970 + 0.1 } },
                "with its witnesses silent too, region-a never reports the target down")

        // 4. Region b's agent stops: agent_silent for region b within the stated time.
        let up3 = await verdict(after: Date(), timeout: 30, bothUp)
        try #require(up3 != nil, "no verdict up from both regions after the link came back")
        b.killAgent()
        let killedAt = Date()
        let silent = await verdict(after: killedAt, timeout: Self.silentBound + 10) { s($0, "silent_regions") == "region-b" }
        try #require(silent != nil, "region-b never agent_silent")
        let lastRound = try #require(rounds.withLock { $0.filter { $0.region == "region-b" }.map(\.created).max() })
        let afterLast = silent!.at.timeIntervalSince1970 - Double(lastRound) / 1000
        #expect(afterLast > Self.silentAfter, "silent only after SILENT_AFTER without a round (\(afterLast) s)")
        #expect(afterLast <= Self.silentBound + 1, "agent_silent \(afterLast) s after region-b's last round; stated: ≤ \(Self.silentBound) s")
        #expect(silent!.point.tags["verdict"] == "up" && s(silent!.point, "up_regions") == "region-a")

        await observer.shutdown()
        await publisher.shutdown()
        serviceTask.cancel()
        _ = await serviceTask.result
        if let conn = try? AMQPConnection(url: url) {
            try? conn.deleteQueue(exchange + ".verdicts")
            try? conn.deleteExchange(exchange)
            conn.close()
        }
    }

    /// What the observer and the relay collect, shared with their tasks.
    final class Collected: Sendable {
        final class Seen: Sendable {
            let m = Mutex<[(at: Date, point: Point)]>([])
            func withLock<T>(_ f: (inout [(at: Date, point: Point)]) -> T) -> T { m.withLock { f(&$0) } }
        }
        final class Rounds: Sendable {
            let m = Mutex<[(region: String, type: String, created: Int64)]>([])
            func withLock<T>(_ f: (inout [(region: String, type: String, created: Int64)]) -> T) -> T { m.withLock { f(&$0) } }
        }
        let seen = Seen(), rounds = Rounds()
    }

    static func tail(_ r: Region) -> String {
        let err = (try? String(contentsOf: r.dir.appendingPathComponent("agent.err"), encoding: .utf8)) ?? ""
        let out = (try? String(contentsOf: r.output, encoding: .utf8)) ?? ""
        return "stderr: \(err.suffix(400)) output: \(out.suffix(400))"
    }
}
