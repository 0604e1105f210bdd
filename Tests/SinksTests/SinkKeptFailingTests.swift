import Broker
import Foundation
import MetricsModel
import Storage
import TestSupport
import Testing

@testable import Sinks

/// A message whose write keeps failing with an error that looks transient (the destination answers
/// everything else) is dead-lettered as "kept failing" after CLOWDER_SINK_MAX_DELIVERIES attempts, and
/// the rest of the stream is stored. Real RabbitMQ and a real SQLite file; the fault is injected in
/// front of the SQLite destination, because no real destination here fails transiently for one message.
@Suite(.serialized, .ownThreads) struct SinkKeptFailingTests {
    /// SQLite, except that any batch holding `poisonID` fails as a lost connection would.
    struct FailsForOne: Destination {
        let inner: SQLiteDestination
        let poisonID: String
        var kind: String { "sqlite" }
        func start() async throws { try await inner.start() }
        func shutdown() async { await inner.shutdown() }
        func write(_ messages: [SinkMessage]) async throws {
            if messages.contains(where: { $0.messageID == poisonID }) {
                throw SinkError.retryable("injected: connection reset while writing \(poisonID)")
            }
            try await inner.write(messages)
        }
    }

    @Test func aMessageThatKeepsFailingIsDeadLetteredAndTheRestFlows() async throws {
        let exchange = TestServers.unique("kept")
        let dir = try TestServers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("sink.db").path
        var settings = TestServers.settings(exchange: exchange)
        settings.maxDeliveries = 3
        settings.retryMaxDelay = 0.05
        let definition = TestServers.sink("sqlite", exchange: exchange, batchSize: 64, maxDelay: 0.3, .sqlite(path: path, tablePrefix: ""))
        let runner = try SinkRunner(
            settings: settings, definition: definition,
            destination: FailsForOne(inner: try SQLiteDestination(path: path), poisonID: "w:p17"), logger: TestServers.logger)
        let w = Workload(batch: "w", pointCount: 60, eventCount: 0)
        let task = Task { try await runner.run() }
        #expect(await runner.consumer.waitUntilConnected(timeout: 30))
        try await TestServers.publish(w.messages, exchange: exchange)
        let done = await TestServers.eventually(timeout: 60) { runner.stats.written + runner.stats.deadLettered == 60 }
        #expect(done, "written \(runner.stats.written), dead \(runner.stats.deadLettered)")
        runner.stop()
        try await task.value
        #expect(runner.stats.written == 59)
        #expect(runner.stats.deadLettered == 1)
        let conn = try AMQPConnection(url: try BrokerURL(TestServers.amqpURL))
        defer {
            try? conn.deleteQueue(settings.deadLetterQueue); try? conn.deleteQueue(definition.queue)
            try? conn.deleteExchange(exchange); try? conn.deleteExchange(settings.deadLetterExchange); conn.close()
        }
        let d = try conn.get(queue: settings.deadLetterQueue)
        #expect(d?.messageID == "w:p17")
        #expect(d?.headers["x-clowder-reason"]?.hasPrefix("kept failing: 3 writes failed while other messages of its batch were written") == true, "\(d?.headers ?? [:])")
        #expect(try conn.get(queue: settings.deadLetterQueue) == nil)
        let lite = try SQLiteDatabase(path: path)
        #expect(try lite.query("SELECT count(*), count(DISTINCT message_id) FROM points").first?.map(\.integer) == [59, 59])
        #expect(try lite.query("SELECT count(*) FROM points WHERE message_id = 'w:p17'").first?.first?.integer == 0)
    }
}
