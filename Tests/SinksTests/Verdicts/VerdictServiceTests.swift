import Broker
import Foundation
import MetricsModel
import Synchronization
import Testing

@testable import Sinks

/// Two ``VerdictService`` replicas on one exchange, each with its own queue (as
/// deployed): both see every round and publish, for each period, the same
/// verdict with the same `message_id` and the same bytes, so the stores keep one.
@Suite("VerdictService replicas")
struct VerdictServiceTests {
    final class Seen: Sendable {
        let m = Mutex<[(id: String, body: [UInt8])]>([])
    }

    @Test("two replicas publish identical verdicts with identical message ids")
    func replicas() async throws {
        let exchange = TestServers.unique("verdict.replicas")
        let url = try BrokerURL(TestServers.amqpURL)
        func settings(_ n: Int) -> VerdictSettings {
            VerdictSettings(amqpURL: TestServers.amqpURL, exchange: exchange, queue: "\(exchange).verdicts.\(n)",
                            policy: VerdictPolicy(quorum: 2, silentAfter: 30), period: 1, delay: 0.2, warmup: 0)
        }
        let one = try VerdictService(settings: settings(1), logger: TestServers.logger)
        let two = try VerdictService(settings: settings(2), logger: TestServers.logger)
        let observer = BrokerConsumer(url: url, exchange: ExchangeDeclaration(name: exchange),
                                      queue: QueueDeclaration(name: exchange + ".observer", durable: false, autoDelete: true))
        observer.start()
        let seen = Seen()
        let observe = Task {
            for await d in observer.deliveries {
                if case .point(let p)? = try? MetricsMessage.decode(d.body), p.measurement == "service_verdict" {
                    seen.m.withLock { $0.append((d.messageID ?? "", d.body)) }
                }
                observer.ack(d)
            }
        }
        #expect(await observer.waitUntilConnected(timeout: 10))
        let tasks = [Task { try await one.run() }, Task { try await two.run() }]
        let oneUp = await one.consumer.waitUntilConnected(timeout: 10), twoUp = await two.consumer.waitUntilConnected(timeout: 10)
        #expect(oneUp && twoUp)
        try await Task.sleep(for: .milliseconds(300))

        let publisher = BrokerPublisher(url: url, exchange: ExchangeDeclaration(name: exchange))
        publisher.start()
        #expect(await publisher.waitUntilConnected(timeout: 10))
        let start = Int64(Date().timeIntervalSince1970 * 1000)
        func round(_ region: String, _ type: String) -> OutgoingMessage {
            OutgoingMessage(body: ClowderEvent([
                "category": "service_status", "type": .string(type), "service_name": "clowder", "region": .string(region),
                "created": .int(Int64(Date().timeIntervalSince1970 * 1000)), "source": "clowder-agent",
            ]).json.jsonBytes)
        }
        // 7 rounds, 0.7 s apart: at least two whole one-second periods between the first second and the last round.
        for _ in 0..<7 {
            try await publisher.publish([round("eu", "down"), round("us", "down"), round("ap", "up")])
            try await Task.sleep(for: .milliseconds(700))
        }
        let last = Int64(Date().timeIntervalSince1970 * 1000)
        // Periods that began a second after the first rounds and ended before the last: both replicas
        // had every round of them. Wait (on a busy machine a replica can be late) until each has its
        // two copies, then stop the replicas; periods after the last round are still being judged.
        func settledNow() -> [(id: String, body: [UInt8])] {
            seen.m.withLock { $0 }.filter { id in
                guard let ms = id.id.split(separator: ":").dropFirst().first.flatMap({ Int64($0) }) else { return false }
                return ms >= start + 1000 && ms + 1000 <= last
            }
        }
        let waitUntil = Date().addingTimeInterval(10)
        while Date() < waitUntil {
            let groups = Dictionary(grouping: settledNow(), by: \.id)
            if !groups.isEmpty, groups.values.allSatisfy({ $0.count >= 2 }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        for t in tasks { t.cancel() }
        for t in tasks { _ = await t.result }

        let all = seen.m.withLock { $0 }
        let settled = settledNow()
        let byID = Dictionary(grouping: settled, by: \.id)
        #expect(byID.count >= 1, "no settled period among \(all.map(\.id))")
        for (id, copies) in byID {
            #expect(copies.count == 2, "\(id): \(copies.count) copies")
            #expect(Set(copies.map(\.body)).count == 1, "\(id): the replicas disagree")
            let p = try #require({ if case .point(let p)? = try? MetricsMessage.decode(copies[0].body) { return p } else { return nil } }())
            #expect(p.tags["verdict"] == "down" && p.fields["down_regions"] == "eu,us" && p.fields["up_regions"] == "ap")
        }
        #expect(one.stats.rounds == 21 && two.stats.rounds == 21)

        observe.cancel()
        await observer.shutdown()
        await publisher.shutdown()
        if let conn = try? AMQPConnection(url: url) {
            try? conn.deleteQueue("\(exchange).verdicts.1")
            try? conn.deleteQueue("\(exchange).verdicts.2")
            try? conn.deleteExchange(exchange)
            conn.close()
        }
    }
}
