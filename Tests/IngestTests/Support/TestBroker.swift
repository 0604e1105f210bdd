import Broker
import Foundation
import Testing

/// The RabbitMQ that `.ci/run` starts (`CLOWDER_TEST_AMQP_URL`, default
/// amqp://guest:guest@127.0.0.1:5672) and helpers that tolerate a brief outage
/// (the outage suite stops the shared broker for a few seconds).
enum TestBroker {
    static var urlText: String {
        ProcessInfo.processInfo.environment["CLOWDER_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672"
    }

    static var url: BrokerURL {
        get throws { try BrokerURL(urlText) }
    }

    /// A name no other test (or engineer) uses.
    static func unique(_ prefix: String) -> String {
        "test.\(prefix).\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Opens a connection, retrying for up to `timeout` seconds (the broker may be restarting).
    static func connect(timeout: Double = 60) async throws -> AMQPConnection {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            do {
                return try AMQPConnection(url: try url)
            } catch let e as BrokerError where Date() < deadline {
                _ = e
                try await Task.sleep(for: .milliseconds(250))
            } catch {
                Issue.record("RabbitMQ at \(urlText) is not reachable (.ci/run starts it): \(error)")
                throw error
            }
        }
    }

    /// Runs `body` on a fresh connection, retrying the whole body when the connection drops (broker restarting).
    static func withConnection<T>(timeout: Double = 60, _ body: (AMQPConnection) throws -> T) async throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let c = try await connect(timeout: timeout)
            defer { c.close() }
            do {
                return try body(c)
            } catch let e as BrokerError where e.code == .connectionLost && Date() < deadline {
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// Takes every message now in `queue` (basic.get with auto-ack).
    static func drain(_ queue: String) async throws -> [BrokerDelivery] {
        try await withConnection { c in
            var out: [BrokerDelivery] = []
            while let d = try c.get(queue: queue) { out.append(d) }
            return out
        }
    }

    /// Deletes queues and exchanges, ignoring failures.
    static func cleanUp(queues: [String] = [], exchanges: [String] = []) async {
        _ = try? await withConnection(timeout: 10) { c in
            for q in queues { try? c.deleteQueue(q) }
            for e in exchanges { try? c.deleteExchange(e) }
        }
    }

    /// Retries `body` while the broker is unavailable or the connection drops (an outage elsewhere), up to `timeout` s.
    static func retrying(timeout: Double = 60, _ body: () async throws -> Void) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            do {
                return try await body()
            } catch let e as BrokerError where (e.code == .unavailable || e.code == .connectionLost) && Date() < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Acknowledges deliveries until every id in `wanted` was seen, or `timeout` seconds passed.
    static func collect(_ consumer: BrokerConsumer, until wanted: Set<String>, timeout: Double = 60) async -> [BrokerDelivery] {
        await withTaskGroup(of: [BrokerDelivery]?.self) { group in
            group.addTask {
                var received: [BrokerDelivery] = []
                var seen: Set<String> = []
                for await d in consumer.deliveries {
                    received.append(d)
                    seen.insert(d.messageID ?? "")
                    consumer.ack(d)
                    if wanted.isSubset(of: seen) { break }
                }
                return received
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(timeout))
                return nil
            }
            var result: [BrokerDelivery] = []
            for await r in group {
                if let r { result = r }
                group.cancelAll()
                break
            }
            return result
        }
    }
}
