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
        for _ in 0..<4 {
            try await publisher.publish([round("eu", "down"), round("us", "down"), round("ap", "up")])
            try await Task.sleep(for: .milliseconds(700))
        }
        try await Task.sleep(for: .milliseconds(800))
        for t in tasks { t.cancel() }
        for t in tasks { _ = await t.result }

        // Periods that began a second after the first rounds: both replicas had every round by then.
        let all = seen.m.withLock { $0 }
        let settled = all.filter { id in
            guard let ms = id.id.split(separator: ":").dropFirst().first.flatMap({ Int64($0) }) else { return false }
            return ms >= start + 1000
        }
        let byID = Dictionary(grouping: settled, by: \.id)
        #expect(byID.count >= 1, "no settled period among \(all.map(\.id))")
        for (id, copies) in byID {
            #expect(copies.count == 2, "\(id): \(copies.count) copies")
            #expect(Set(copies.map(\.body)).count == 1, "\(id): the replicas disagree")
            let p = try #require({ if case .point(let p)? = try? MetricsMessage.decode(copies[0].body) { return p } else { return nil } }())
            #expect(p.tags["verdict"] == "down" && p.fields["down_regions"] == "eu,us" && p.fields["up_regions"] == "ap")
        }
        #expect(one.stats.rounds == 12 && two.stats.rounds == 12)

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
