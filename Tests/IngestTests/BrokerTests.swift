import Broker
import Foundation
import TestSupport
import Testing

@Suite("Broker: publish with confirms and consume against the real RabbitMQ", .ownThreads)
struct BrokerTests {
    @Test("BrokerURL parses user, password, host, port and vhost")
    func parsesURL() throws {
        let u = try BrokerURL("amqp://alice:s%40cret@rabbit.example.org:5673/%2Fclowder")
        #expect(u.user == "alice")
        #expect(u.password == "s@cret")
        #expect(u.host == "rabbit.example.org")
        #expect(u.port == 5673)
        #expect(u.virtualHost == "/clowder")
        #expect(!u.description.contains("s@cret"))
        let d = try BrokerURL("amqp://127.0.0.1")
        #expect(d.user == "guest" && d.port == 5672 && d.virtualHost == "/")
        #expect(throws: BrokerError.self) { try BrokerURL("http://x") }
        #expect(throws: BrokerError.self) { try BrokerURL("amqp://h:99999") }
    }

    @Test("published messages are confirmed and consumed once, in order, with their properties")
    func publishAndConsume() async throws {
        let exchange = ExchangeDeclaration(name: TestBroker.unique("broker.x"), durable: false, autoDelete: false)
        // Durable: the outage suite may stop the broker meanwhile.
        let queue = QueueDeclaration(name: TestBroker.unique("broker.q"), durable: true)
        defer { Task { await TestBroker.cleanUp(queues: [queue.name], exchanges: [exchange.name]) } }
        let url = try TestBroker.url
        let consumer = BrokerConsumer(url: url, exchange: exchange, queue: queue, prefetch: 10)
        consumer.start()
        #expect(await consumer.waitUntilConnected(timeout: 60), "consumer state: \(consumer.state)")
        let publisher = BrokerPublisher(url: url, exchange: exchange)
        publisher.start()
        #expect(await publisher.waitUntilConnected(timeout: 60), "publisher state: \(publisher.state)")

        let n = 250
        let messages = (0..<n).map { i in
            OutgoingMessage(body: Array(#"{"i":\#(i)}"#.utf8), messageID: "batch-1:\(i)", timestamp: 1_732_900_000 + Int64(i))
        }
        // Two concurrent calls are pipelined on the one connection.
        async let a: Void = TestBroker.retrying { try await publisher.publish(Array(messages[..<100])) }
        async let b: Void = TestBroker.retrying { try await publisher.publish(Array(messages[100...])) }
        _ = try await (a, b)
        #expect(publisher.confirmedCount >= UInt64(n))

        let wanted = Set(messages.map { $0.messageID! })
        let received = await TestBroker.collect(consumer, until: wanted)
        if Set(received.map { $0.messageID ?? "" }) == wanted && received.allSatisfy({ !$0.redelivered }) {
            #expect(received.count == n)
        }
        #expect(Set(received.map { $0.messageID ?? "" }) == Set(messages.map { $0.messageID! }))
        let first = try #require(received.first { $0.messageID == "batch-1:0" })
        #expect(first.body == Array(#"{"i":0}"#.utf8))
        #expect(first.contentType == "application/json")
        #expect(first.deliveryMode == 2)
        #expect(first.timestamp == 1_732_900_000)
        #expect(first.exchange == exchange.name)
        // Within one publisher call the order is kept (unless an outage made a call publish twice).
        if received.count == n && received.allSatisfy({ !$0.redelivered && $0.connectionGeneration == 1 }) {
            let order = received.compactMap { $0.messageID }.compactMap { Int($0.dropFirst(8)) }
            #expect(order.filter { $0 < 100 } == Array(0..<100))
        }

        await consumer.shutdown()
        await publisher.shutdown()
        // Everything was acknowledged: nothing is left in the queue.
        let left = try await TestBroker.withConnection { try $0.declareQueue(queue, passive: true).messageCount }
        #expect(left == 0)
        await #expect(throws: BrokerError.self) { try await publisher.publish(messages) }
    }

    @Test("reject without requeue dead-letters; nack with requeue redelivers")
    func deadLetter() async throws {
        let exchange = ExchangeDeclaration(name: TestBroker.unique("broker.x"), durable: false)
        let dlx = ExchangeDeclaration(name: TestBroker.unique("broker.dlx"), durable: false)
        let dlq = TestBroker.unique("broker.dlq")
        let queue = QueueDeclaration(name: TestBroker.unique("broker.q"), durable: false, deadLetterExchange: dlx.name)
        defer { Task { await TestBroker.cleanUp(queues: [queue.name, dlq], exchanges: [exchange.name, dlx.name]) } }
        try await TestBroker.withConnection { c in
            try c.declareExchange(dlx)
            try c.declareQueue(QueueDeclaration(name: dlq, durable: false))
            try c.bindQueue(dlq, exchange: dlx.name)
        }
        let url = try TestBroker.url
        let consumer = BrokerConsumer(url: url, exchange: exchange, queue: queue, prefetch: 5)
        consumer.start()
        #expect(await consumer.waitUntilConnected(timeout: 60))
        let publisher = BrokerPublisher(url: url, exchange: exchange)
        publisher.start()
        #expect(await publisher.waitUntilConnected(timeout: 60))
        try await publisher.publish([
            OutgoingMessage(body: Array("bad".utf8), messageID: "m:0"),
            OutgoingMessage(body: Array("good".utf8), messageID: "m:1"),
        ])
        var seen: [String] = []
        var redeliveredGood = false
        for await d in consumer.deliveries {
            seen.append(d.messageID ?? "?")
            if d.messageID == "m:0" {
                consumer.reject(d, requeue: false)
            } else if !d.redelivered {
                consumer.nack(d, requeue: true)
            } else {
                redeliveredGood = true
                consumer.ack(d)
                break
            }
        }
        #expect(redeliveredGood)
        #expect(seen.filter { $0 == "m:1" }.count == 2)
        await consumer.shutdown()
        await publisher.shutdown()
        let dead = try await TestBroker.drain(dlq)
        #expect(dead.map(\.messageID) == ["m:0"])
        #expect(dead.first?.body == Array("bad".utf8))
    }

    @Test("a queue that refuses publishes (x-overflow reject-publish) makes publish throw nack")
    func nack() async throws {
        let exchange = ExchangeDeclaration(name: TestBroker.unique("broker.x"), durable: false)
        let queue = TestBroker.unique("broker.full")
        defer { Task { await TestBroker.cleanUp(queues: [queue], exchanges: [exchange.name]) } }
        try await TestBroker.withConnection { c in
            try c.declareExchange(exchange)
            try c.declareQueue(QueueDeclaration(name: queue, durable: false, maxLength: 1, overflow: "reject-publish"))
            try c.bindQueue(queue, exchange: exchange.name)
        }
        let publisher = BrokerPublisher(url: try TestBroker.url, exchange: exchange)
        publisher.start()
        #expect(await publisher.waitUntilConnected(timeout: 60))
        try await publisher.publish([OutgoingMessage(body: Array("1".utf8))])
        await #expect {
            try await publisher.publish([OutgoingMessage(body: Array("2".utf8))])
        } throws: { ($0 as? BrokerError)?.code == .nack }
        await publisher.shutdown()
    }

    @Test("no broker at the address: publish fails fast with unavailable, state is disconnected")
    func unavailable() async throws {
        // A port nobody listens on: bind one, note it, close it.
        let port = try FreePort.take()
        let publisher = BrokerPublisher(url: BrokerURL(host: "127.0.0.1", port: port), exchange: .clowderMetrics, maxBackoff: 0.2)
        publisher.start()
        var state = publisher.state
        for _ in 0..<100 where state.name != "disconnected" {
            try await Task.sleep(for: .milliseconds(20))
            state = publisher.state
        }
        #expect(state.name == "disconnected")
        await #expect {
            try await publisher.publish([OutgoingMessage(body: [1])])
        } throws: { ($0 as? BrokerError)?.code == .unavailable }
        await publisher.shutdown()
        #expect(publisher.state == .stopped)
    }
}
