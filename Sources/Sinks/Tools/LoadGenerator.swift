import Broker
import Dispatch
import MetricsModel

/// Publishes synthetic agent points to the exchange, for benchmarks and smoke
/// tests (`clowder-sink generate`): `nginx_access` points one second apart,
/// `requests` = i % 13 + 1, persistent, with message ids `<run>:<i>`, in the
/// shape the ingest publishes (``MetricsMessage/json(for:agentID:)``).
///
/// The configured sinks' queues are declared and bound first (with the same
/// arguments the sinks use), so the messages wait there.
public enum LoadGenerator {
    /// - Parameters:
    ///   - settings: broker, exchange and sinks.
    ///   - count: messages to publish.
    ///   - run: a label for message ids and the `agent` tag.
    ///   - startMilliseconds: epoch ms of the first point.
    /// - Returns: Σ requests over the published points.
    /// - Throws: ``SinkError`` (config) or the broker's error.
    @discardableResult
    public static func publish(settings: SinkSettings, count: Int, run: String, startMilliseconds: Int64) async throws -> Int64 {
        let urls = try BrokerURL.list(settings.amqpURL)
        let url = urls[0]
        let exchange = ExchangeDeclaration(name: settings.exchange)
        let queues = settings.sinks.map { SinkRunner.queueDeclaration(settings: settings, definition: $0) }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                c.resume(
                    with: Result {
                        let conn = try AMQPConnection(url: url)
                        defer { conn.close() }
                        try conn.declareExchange(exchange)
                        for q in queues {
                            _ = try conn.declareQueue(q)
                            try conn.bindQueue(q.name, exchange: exchange.name)
                        }
                    })
            }
        }
        let publisher = BrokerPublisher(urls: urls, exchange: exchange)
        publisher.start()
        defer { Task { await publisher.shutdown() } }
        guard await publisher.waitUntilConnected(timeout: 30) else {
            throw SinkError.retryable("cannot connect to \(settings.amqpURL)")
        }
        var total: Int64 = 0
        var i = 0
        while i < count {
            let n = min(1000, count - i)
            var chunk: [OutgoingMessage] = []
            chunk.reserveCapacity(n)
            for k in i..<(i + n) {
                let requests = Int64(k % 13 + 1)
                total += requests
                let p = Point(
                    measurement: "nginx_access",
                    tags: ["agent": run, "host": "bench.example.org", "region": "bench", "vhost": "clowder.example.org"],
                    fields: [
                        "requests": .int(requests), "page_views": .int(Int64(k % 5)), "bytes_sent": .int(Int64(k) * 100),
                        "status_2xx": .int(requests), "request_time_p50": .double(0.031), "request_time_p99": .double(0.412),
                    ],
                    timeNanoseconds: (startMilliseconds + Int64(k) * 1000) * 1_000_000)
                chunk.append(OutgoingMessage(body: MetricsMessage.json(for: p, agentID: run).jsonBytes, messageID: "\(run):\(k)"))
            }
            try await publisher.publish(chunk)
            i += n
        }
        await publisher.shutdown()
        return total
    }
}
