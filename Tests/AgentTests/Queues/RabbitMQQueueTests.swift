import Foundation
import TestSupport
import Testing

/// The extractor queue probe against the real RabbitMQ (scripts/start-servers.sh enables
/// rabbitmq_management on :15672): `clowder-agent run` with only `CLOWDER_METRICS_RABBITMQ_*` set.
/// Messages are published and consumed with pika (Debian's python3-pika), a client the agent
/// does not use. Each run uses its own queue, which RabbitMQ removes 2 minutes after its last use
/// (`x-expires`) should the test stop before deleting it.
@Suite("RabbitMQ extractor queue probe", .serialized, .ownThreads)
struct RabbitMQQueueTests {
    static let python = "/usr/bin/python3"

    /// Declares the queue and publishes `count` persistent messages to it through the default exchange.
    static let publish = #"""
        import pika, sys
        queue, count = sys.argv[1], int(sys.argv[2])
        c = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
        ch = c.channel()
        ch.queue_declare(queue=queue, durable=False, arguments={"x-expires": 120000})
        for i in range(count):
            ch.basic_publish(exchange="", routing_key=queue, body=b'{"file_id":"%d"}' % i)
        c.close()
        """#

    /// One consumer (prefetch 1) that acknowledges a message every 0.2 s until it is killed.
    static let consume = #"""
        import pika, sys, time
        queue = sys.argv[1]
        c = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
        ch = c.channel()
        ch.basic_qos(prefetch_count=1)
        def work(ch, method, props, body):
            time.sleep(0.2)
            ch.basic_ack(delivery_tag=method.delivery_tag)
        ch.basic_consume(queue=queue, on_message_callback=work)
        print("consuming", flush=True)
        ch.start_consuming()
        """#

    static let delete = #"""
        import pika, sys
        c = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
        c.channel().queue_delete(queue=sys.argv[1])
        c.close()
        """#

    static func runPython(_ script: String, _ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script] + arguments
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// The `rabbitmq_queue` points for `queue` written so far.
    static func points(_ path: String, queue: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  o["measurement"] as? String == "rabbitmq_queue", (o["tags"] as? [String: String])?["queue"] == queue
            else { return nil }
            return o
        }
    }

    static func field(_ p: [String: Any], _ name: String) -> Int? { (p["fields"] as? [String: Any])?[name] as? Int }

    @Test("N messages with no consumer: messages_ready = N, consumers = 0, idle; a consumer starts: consumers = 1 and the depth falls")
    func depthAndConsumers() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let queue = "extractors.test-w14-\(UUID().uuidString.prefix(8).lowercased())"
        let n = 40
        #expect(try Self.runPython(Self.publish, [queue, "\(n)"]) == 0)
        defer { _ = try? Self.runPython(Self.delete, [queue]) }
        try "guest:guest\n".write(toFile: dir.file("rabbitmq.credentials"), atomically: true, encoding: .utf8)
        let env = """
            CLOWDER_METRICS_RABBITMQ_URL=http://127.0.0.1:15672
            CLOWDER_METRICS_RABBITMQ_CREDENTIALS_FILE=\(dir.file("rabbitmq.credentials"))
            CLOWDER_METRICS_RABBITMQ_QUEUES=extractors.test-w14-,error.
            CLOWDER_METRICS_RABBITMQ_INTERVAL=1
            CLOWDER_METRICS_WINDOW=1
            CLOWDER_METRICS_OUTPUT_FILE=\(dir.file("out.jsonl"))
            CLOWDER_METRICS_SPOOL_PATH=\(dir.file("state.db"))
            """
        try env.write(toFile: dir.file("agent.env"), atomically: true, encoding: .utf8)
        let agent = try AgentProcess(["run", "--env-file", dir.file("agent.env")])
        // The management API refreshes its queue figures every 5 s (collect_statistics_interval), and
        // a queue just declared can be listed before its consumer count is (the point then has no
        // `consumers` field rather than a made-up 0): wait for a point that has both.
        var full: [String: Any]?
        var deadline = Date().addingTimeInterval(30)
        while Date() < deadline, full == nil {
            full = Self.points(dir.file("out.jsonl"), queue: queue).last {
                Self.field($0, "messages_ready") == n && Self.field($0, "consumers") != nil
            }
            usleep(200_000)
        }
        let before = try #require(full, "no point with messages_ready = \(n)")
        #expect(Self.field(before, "consumers") == 0)
        #expect(Self.field(before, "messages_unacknowledged") == 0)
        #expect(Self.field(before, "idle") == 1)
        #expect(Self.field(before, "messages_publish") == n)  // message_stats.publish: every message published so far
        let tags = before["tags"] as? [String: String] ?? [:]
        #expect(tags["kind"] == "extractor")
        #expect(tags["extractor"] == String(queue.dropFirst("extractors.".count)))
        #expect(tags["vhost"] == "/")

        let consumer = Process()
        consumer.executableURL = URL(fileURLWithPath: Self.python)
        consumer.arguments = ["-c", Self.consume, queue]
        try consumer.run()
        // SIGKILL: a child of the test process may inherit a blocked SIGTERM (Python does not unblock it).
        defer { if consumer.isRunning { kill(consumer.processIdentifier, SIGKILL); consumer.waitUntilExit() } }
        var working: [String: Any]?
        deadline = Date().addingTimeInterval(30)
        while Date() < deadline, working == nil {
            working = Self.points(dir.file("out.jsonl"), queue: queue).last {
                Self.field($0, "consumers") == 1 && (Self.field($0, "messages_ready") ?? n) < n
            }
            usleep(200_000)
        }
        let after = try #require(working, "no point with consumers = 1 and fewer than \(n) ready")
        #expect(Self.field(after, "idle") == 0)
        #expect((Self.field(after, "messages_deliver_get") ?? 0) > 0)
        #expect(agent.terminate() == 0)
        let text = try String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8)
        #expect(text.contains("\"rabbitmq_api\""))
    }

    @Test("a wrong password is reported: rabbitmq_api up = 0, no queue points")
    func wrongPassword() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "guest:not-the-password\n".write(toFile: dir.file("rabbitmq.credentials"), atomically: true, encoding: .utf8)
        let env = """
            CLOWDER_METRICS_RABBITMQ_URL=http://127.0.0.1:15672
            CLOWDER_METRICS_RABBITMQ_CREDENTIALS_FILE=\(dir.file("rabbitmq.credentials"))
            CLOWDER_METRICS_RABBITMQ_INTERVAL=1
            CLOWDER_METRICS_OUTPUT_FILE=\(dir.file("out.jsonl"))
            CLOWDER_METRICS_SPOOL_PATH=\(dir.file("state.db"))
            """
        try env.write(toFile: dir.file("agent.env"), atomically: true, encoding: .utf8)
        let agent = try AgentProcess(["run", "--env-file", dir.file("agent.env")])
        var text = ""
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, !text.contains("rabbitmq_api") {
            text = (try? String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8)) ?? ""
            usleep(200_000)
        }
        #expect(agent.terminate() == 0)
        let api = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["measurement"] as? String == "rabbitmq_api" }
        #expect(!api.isEmpty)
        #expect(api.allSatisfy { Self.field($0, "up") == 0 })
        #expect(!text.contains("\"rabbitmq_queue\""))
    }
}
