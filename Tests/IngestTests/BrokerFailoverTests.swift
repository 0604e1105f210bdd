import Broker
import Foundation
import Ingest
import MetricsModel
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Several broker URLs (the nodes of a cluster): a node that refuses connections is left for the
/// next one, a lost connection moves to the next one, and a batch whose confirms never came is
/// answered 503 and lands through the next node when the client retries. The shared RabbitMQ is
/// never stopped: a lost node is `fault_proxy.py` (a TCP forwarder to it) being killed, a node that
/// swallows its confirms the same forwarder after SIGUSR1.
@Suite("Broker failover over several URLs", .ownThreads)
struct BrokerFailoverTests {
    @Test("a comma-separated list parses in order; a bad entry is named by its place; passwords stay out of messages")
    func parsesList() throws {
        let urls = try BrokerURL.list(" amqp://u:p1@rabbit1:5672/ , amqp://u:p2@rabbit2:5673/v,amqp://rabbit3")
        #expect(urls.map(\.host) == ["rabbit1", "rabbit2", "rabbit3"])
        #expect(urls.map(\.port) == [5672, 5673, 5672])
        #expect(urls.map(\.password) == ["p1", "p2", "guest"])
        #expect(urls[1].virtualHost == "v")
        #expect(try BrokerURL.list("amqp://u:a%2Cb@h/")[0].password == "a,b")
        #expect(throws: BrokerError.self) { try BrokerURL.list("") }
        #expect { try BrokerURL.list("amqp://u:secret@h1/,http://u:secret@h2/") } throws: {
            let m = ($0 as? BrokerError)?.message ?? ""
            return m.contains("entry 2") && !m.contains("secret")
        }
        #expect { try BrokerURL.list("amqp://h1/,,amqp://h2/") } throws: { ($0 as? BrokerError)?.message.contains("entry 2") == true }
        #expect(BrokerURL.redacted("amqp://u:s1@h1/,amqp://u:s2@h2/") == "amqp://u:***@h1/,amqp://u:***@h2/")
    }

    @Test("CLOWDER_INGEST_BROKER_URL takes several URLs; a bad one is refused naming the key and hiding the password")
    func ingestSetting() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clowder-failover-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = dir.appendingPathComponent("ingest.env")
        try "CLOWDER_INGEST_KEYS_FILE=\(dir.path)/keys\n".write(to: env, atomically: true, encoding: .utf8)
        let c = try await IngestConfiguration.load(
            environmentFile: env.path, environment: ["CLOWDER_INGEST_BROKER_URL": "amqp://u:p@r1:5672/,amqp://u:p@r2:5673/"])
        #expect(c.brokerURLs.map { "\($0.host):\($0.port)" } == ["r1:5672", "r2:5673"])
        await #expect {
            _ = try await IngestConfiguration.load(
                environmentFile: env.path, environment: ["CLOWDER_INGEST_BROKER_URL": "amqp://u:hidden@r1/,r2:5672"])
        } throws: { "\($0)".contains("CLOWDER_INGEST_BROKER_URL=") && "\($0)".contains("entry 2") && !"\($0)".contains("hidden") }
    }

    @Test("publisher and consumer skip a node that refuses connections and work through the next")
    func refusedNodeIsSkipped() async throws {
        let refused = BrokerURL(host: "127.0.0.1", port: try FreePort.take())
        let real = try TestBroker.url
        let exchange = ExchangeDeclaration(name: TestBroker.unique("failover.x"), durable: false)
        let queue = QueueDeclaration(name: TestBroker.unique("failover.q"), durable: true)
        defer { Task { await TestBroker.cleanUp(queues: [queue.name], exchanges: [exchange.name]) } }
        let consumer = BrokerConsumer(urls: [refused, real], exchange: exchange, queue: queue, prefetch: 50, maxBackoff: 0.2)
        consumer.start()
        #expect(await consumer.waitUntilConnected(timeout: 30), "consumer: \(consumer.state)")
        #expect(consumer.currentURL == real)
        let publisher = BrokerPublisher(urls: [refused, real], exchange: exchange, maxBackoff: 0.2)
        publisher.start()
        #expect(await publisher.waitUntilConnected(timeout: 30), "publisher: \(publisher.state)")
        #expect(publisher.currentURL == real)
        let messages = (0..<20).map { OutgoingMessage(body: Array(#"{"i":\#($0)}"#.utf8), messageID: "f:\($0)") }
        try await TestBroker.retrying { try await publisher.publish(messages) }
        let got = await TestBroker.collect(consumer, until: Set(messages.compactMap(\.messageID)))
        #expect(Set(got.compactMap(\.messageID)) == Set(messages.compactMap(\.messageID)))
        await publisher.shutdown()
        await consumer.shutdown()
    }

    @Test("a lost node: the consumer moves to the next URL and gets the unacknowledged messages again")
    func lostNodeConsumer() async throws {
        let real = try TestBroker.url
        let proxy = try FaultProxy(target: real)
        defer { proxy.kill() }
        let exchange = ExchangeDeclaration(name: TestBroker.unique("failover.x"), durable: false)
        let queue = QueueDeclaration(name: TestBroker.unique("failover.q"), durable: true)
        defer { Task { await TestBroker.cleanUp(queues: [queue.name], exchanges: [exchange.name]) } }
        let consumer = BrokerConsumer(urls: [proxy.url, real], exchange: exchange, queue: queue, prefetch: 50, maxBackoff: 0.2)
        consumer.start()
        #expect(await consumer.waitUntilConnected(timeout: 30), "consumer: \(consumer.state)")
        #expect(consumer.currentURL == proxy.url)
        let publisher = BrokerPublisher(url: real, exchange: exchange)
        publisher.start()
        #expect(await publisher.waitUntilConnected(timeout: 30))
        let ids = (0..<10).map { "lost:\($0)" }
        try await TestBroker.retrying { try await publisher.publish(ids.map { OutgoingMessage(body: Array($0.utf8), messageID: $0) }) }
        // Take them all through the proxy without acknowledging, then lose that node.
        var firstRound: [BrokerDelivery] = []
        for await d in consumer.deliveries {
            firstRound.append(d)
            if firstRound.count == ids.count { break }
        }
        #expect(firstRound.allSatisfy { $0.connectionGeneration == 1 })
        proxy.kill()
        let again = await TestBroker.collect(consumer, until: Set(ids))
        #expect(Set(again.compactMap(\.messageID)) == Set(ids))
        #expect(again.allSatisfy { $0.redelivered && $0.connectionGeneration == 2 })
        #expect(consumer.currentURL == real)
        await publisher.shutdown()
        await consumer.shutdown()
    }

    @Test("confirms that never come: the batch is answered 503, the ingest moves to the next node, the retry is answered 202")
    func swallowedConfirms() async throws {
        let real = try TestBroker.url
        let proxy = try FaultProxy(target: real)
        defer { proxy.kill() }
        let h = try await IngestHarness { c in
            c.brokerURLs = [proxy.url, real]
            c.confirmTimeout = 1
            c.status.enabled = false
        }
        defer { Task { await h.stop() } }
        let publisher = try #require(h.server.publisher)
        #expect(publisher.currentURL == proxy.url)
        let first = Batches.make(points: 5, events: 1, seed: 1)
        #expect(try await h.postBatch(first, retry503: false).status == 202)

        try proxy.swallowReplies()
        let second = Batches.make(points: 7, events: 2, seed: 2)
        let refused = try await h.postBatch(second, retry503: false)
        #expect(refused.status == 503, "\(refused.text)")
        #expect(refused.retryAfter != nil)
        // The agent retries; meanwhile the publisher has moved to the next node.
        var answer = refused
        for _ in 0..<100 where answer.status == 503 {
            try await Task.sleep(for: .milliseconds(100))
            answer = try await h.postBatch(second, retry503: false)
        }
        #expect(answer.status == 202, "\(answer.text)")
        #expect(publisher.currentURL == real)

        // Every message of both batches is in the queue; the refused attempt may have stored some twice
        // (its publishes reached the broker, only the confirms were lost): stores de-duplicate on message_id.
        let got = try await h.drainQueue()
        let expected = Batches.expectedMessages(first).merging(Batches.expectedMessages(second)) { a, _ in a }
        var bodies: [String: JSONValue] = [:]
        for d in got {
            for (id, body) in try PublishedMessages.expand(d) { bodies[id] = body }
        }
        #expect(bodies == expected)
    }
}

/// `fault_proxy.py` (Tests/IngestTests/Support): a TCP forwarder to a broker, killed by PID.
final class FaultProxy: @unchecked Sendable {
    let process = Process()
    let url: BrokerURL
    let output = Pipe()

    init(target: BrokerURL) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/fault_proxy.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, target.host, String(target.port)]
        process.standardOutput = output
        try process.run()
        let line = try Self.readLine(output)
        guard let port = Int(line) else { throw FaultProxyError("fault_proxy.py printed \(line)") }
        var u = target
        u.host = "127.0.0.1"
        u.port = port
        url = u
    }

    /// From now on nothing the broker sends reaches the client (confirms, heartbeats); returns once the forwarder said so.
    func swallowReplies() throws {
        Glibc.kill(process.processIdentifier, SIGUSR1)
        let line = try Self.readLine(output)
        guard line == "swallowing" else { throw FaultProxyError("fault_proxy.py answered \(line)") }
    }

    /// One line of the forwarder's output, waiting at most 10 s for each byte.
    static func readLine(_ pipe: Pipe) throws -> String {
        var line: [UInt8] = []
        while true {
            var fd = pollfd(fd: pipe.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&fd, 1, 10_000) == 1 else { throw FaultProxyError("fault_proxy.py said nothing for 10 s") }
            let b = try pipe.fileHandleForReading.read(upToCount: 1) ?? Data()
            guard let c = b.first else { throw FaultProxyError("fault_proxy.py ended before printing a line") }
            if c == UInt8(ascii: "\n") { break }
            line.append(c)
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// Kills the forwarder (-9): every connection through it drops. Idempotent.
    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    struct FaultProxyError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}
