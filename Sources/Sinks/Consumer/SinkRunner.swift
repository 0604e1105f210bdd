import Broker
import Dispatch
import Logging
import MetricsModel
import ServiceLifecycle
import Synchronization

/// Runs one sink: consumes its own durable queue `<exchange>.<sink>` bound
/// to the fanout exchange, writes batches to its ``Destination`` and
/// acknowledges a batch only after the destination confirmed it.
///
/// The loop, for each batch (``SinkDefinition/batchSize`` messages, or fewer
/// after ``SinkDefinition/maxDelay`` seconds):
/// 1. a message delivered more than ``SinkSettings/maxDeliveries`` times
///    (``DeliveryCounter``) is dead-lettered without being decoded or written,
///    so a message that made a sink stop or crash cannot loop for ever; a
///    batch holding redelivered messages is written one message at a time,
///    so that a failure is pinned on its own message;
/// 2. decode every message (``MetricsMessage/decode(_:)``, total: it never
///    traps); one that cannot be decoded is dead-lettered with the error as
///    its reason;
/// 3. write the rest; on a retryable ``SinkError`` wait (exponential backoff
///    with full jitter, up to ``SinkSettings/retryMaxDelay``) and write the
///    same messages again, acknowledging nothing meanwhile, so the queue keeps
///    them; on a permanent error split the batch in halves and write each,
///    down to the single messages at fault; on a partial one (the destination
///    stored all but the messages it names) take those as refused;
/// 4. publish the messages at fault to the dead-letter exchange with the
///    headers `x-clowder-reason`, `x-clowder-sink` and `x-clowder-queue`
///    (publisher confirms), then
/// 5. acknowledge the whole batch (`basic.ack` with `multiple`).
///
/// The queue is declared with `x-dead-letter-exchange` set to the dead-letter
/// exchange too, so a message rejected by other means also ends there.
///
/// Graceful shutdown (SIGTERM via swift-service-lifecycle): no new batch is
/// started; the batch in flight is written and acknowledged (within
/// ``SinkSettings/shutdownGrace`` seconds; after that it stays unacknowledged
/// and the broker redelivers it), then the connections close.
///
/// ```swift
/// let runner = try SinkRunner(settings: settings, definition: settings.sinks[0], logger: logger)
/// try await runner.run()   // until cancelled or graceful shutdown
/// ```
public final class SinkRunner: Sendable {
    /// Counters, for logs, tests and `/metrics`.
    public struct Stats: Sendable, Hashable {
        /// Messages written (or deliberately skipped) and acknowledged.
        public var written: Int = 0
        /// Messages sent to the dead-letter exchange and acknowledged.
        public var deadLettered: Int = 0
        /// Batches acknowledged.
        public var batches: Int = 0
        /// Write attempts that failed with a retryable error.
        public var retries: Int = 0
        /// The last retryable error, if the last attempt failed.
        public var lastError: String?
        /// When the first message of the first batch arrived (monotonic clock).
        public var firstReceived: ContinuousClock.Instant?
        /// When the last batch was acknowledged (monotonic clock).
        public var lastAcknowledged: ContinuousClock.Instant?
    }

    /// The sink.
    public let definition: SinkDefinition
    /// The process settings (broker, exchanges, retry and shutdown timing).
    public let settings: SinkSettings
    /// The destination written to.
    public let destination: any Destination
    let consumer: BrokerConsumer
    let deadLetters: BrokerPublisher
    /// The broker's nodes (``SinkSettings/amqpURL``), in the order they are tried.
    let brokerURLs: [BrokerURL]
    let logger: Logger
    let inbox = Inbox<BrokerDelivery>()
    let counters = Mutex(Stats())
    let deliveryCounts = Mutex(DeliveryCounter())
    let stopping = Mutex(false)

    /// The counters so far.
    public var stats: Stats { counters.withLock { $0 } }

    /// - Parameters:
    ///   - settings: broker and exchange settings.
    ///   - definition: the sink to run.
    ///   - destination: the destination, made from `definition` when nil.
    ///   - logger: the logger (metadata `sink` is added).
    /// - Throws: ``SinkError`` (config) for a bad broker URL or destination setting.
    public init(settings: SinkSettings, definition: SinkDefinition, destination: (any Destination)? = nil, logger: Logger)
        throws
    {
        var logger = logger
        logger[metadataKey: "sink"] = "\(definition.name)"
        self.logger = logger
        self.settings = settings
        self.definition = definition
        self.destination = try destination ?? definition.makeDestination(logger: logger)
        do {
            brokerURLs = try BrokerURL.list(settings.amqpURL)
        } catch {
            throw SinkError.config(
                key: "CLOWDER_SINK_AMQP_URL", value: BrokerURL.redacted(settings.amqpURL),
                expected: "an amqp:// URL, or several separated by commas (\(error))")
        }
        let queue = Self.queueDeclaration(settings: settings, definition: definition)
        consumer = BrokerConsumer(
            urls: brokerURLs, exchange: ExchangeDeclaration(name: settings.exchange), queue: queue,
            prefetch: UInt16(clamping: definition.prefetch), logger: logger)
        deadLetters = BrokerPublisher(
            urls: brokerURLs, exchange: ExchangeDeclaration(name: settings.deadLetterExchange), logger: logger)
    }

    /// The sink's queue: durable, `x-dead-letter-exchange` = the dead-letter exchange; when quorum
    /// (``SinkSettings/queueType``) also `x-queue-type` `quorum` and `x-delivery-limit` =
    /// ``SinkSettings/maxDeliveries``, so that the broker itself dead-letters a message that was returned
    /// more often than that (a sink that crashes on it each time never gets to dead-letter it;
    /// https://www.rabbitmq.com/docs/quorum-queues#poison-message-handling). The sink's own check
    /// (``DeliveryCounter``, on the broker's `x-delivery-count`) dead-letters it one delivery earlier, with
    /// `x-clowder-reason`; the broker's limit is the backstop, and its dead letters carry `x-death`
    /// (reason `delivery_limit`) instead.
    public static func queueDeclaration(settings: SinkSettings, definition: SinkDefinition) -> QueueDeclaration {
        let quorum = settings.queueType == "quorum"
        return QueueDeclaration(
            name: definition.queue, durable: true, deadLetterExchange: settings.deadLetterExchange,
            queueType: quorum ? "quorum" : nil, deliveryLimit: quorum ? Int64(settings.maxDeliveries) : nil)
    }

    /// The dead-letter queue: durable, of the sinks' queue type (a quorum queue on a cluster, so that dead
    /// letters survive the loss of a node).
    public static func deadLetterQueueDeclaration(settings: SinkSettings) -> QueueDeclaration {
        QueueDeclaration(
            name: settings.deadLetterQueue, durable: true, queueType: settings.queueType == "quorum" ? "quorum" : nil)
    }

    /// Runs until cancelled, or until a graceful shutdown finished the batch in flight.
    /// - Throws: `CancellationError` when cancelled while the destination was unreachable.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.runLoop()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Asks the loop to finish the batch in flight and return.
    public func stop() {
        stopping.withLock { $0 = true }
        inbox.wake()
    }

    var isStopping: Bool { stopping.withLock { $0 } }

    func runLoop() async throws {
        try await startDestination()
        try await declareDeadLetterQueue()
        consumer.start()
        deadLetters.start()
        let pump = Task { [consumer, inbox] in
            for await d in consumer.deliveries { inbox.push(d) }
            inbox.close()
        }
        defer { pump.cancel() }
        logger.info(
            "sink started",
            metadata: [
                "queue": "\(definition.queue)", "exchange": "\(settings.exchange)", "destination": "\(destination.kind)",
                "batch_size": "\(definition.batchSize)",
            ])
        var shutdownDeadline: ContinuousClock.Instant?
        while true {
            if isStopping, shutdownDeadline == nil { shutdownDeadline = .now + .seconds(settings.shutdownGrace) }
            let batch = await collectBatch()
            if !batch.isEmpty {
                let deadline = { () -> ContinuousClock.Instant? in
                    if self.isStopping, shutdownDeadline == nil { shutdownDeadline = .now + .seconds(self.settings.shutdownGrace) }
                    return shutdownDeadline
                }
                guard try await process(batch, deadline: deadline) else { break }
            }
            if isStopping || inbox.isFinished || Task.isCancelled { break }
        }
        await consumer.shutdown()
        await deadLetters.shutdown()
        await destination.shutdown()
        let s = stats
        logger.info("sink stopped", metadata: ["written": "\(s.written)", "dead_lettered": "\(s.deadLettered)"])
    }

    /// Starts the destination, retrying with backoff while it is unreachable.
    func startDestination() async throws {
        var backoff = RetryBackoff(cap: settings.retryMaxDelay)
        while true {
            do {
                try await destination.start()
                return
            } catch let e as SinkError where e.code == .retryable {
                logger.warning("destination not ready, retrying", metadata: ["error": "\(e.message)"])
                if isStopping { throw CancellationError() }
                try await Task.sleep(for: .seconds(backoff.next()))
            }
        }
    }

    /// Declares the dead-letter exchange and its queue, and binds them (idempotent), retrying while the broker is down.
    func declareDeadLetterQueue() async throws {
        var backoff = RetryBackoff(cap: 5)
        var nodes = brokerURLs[...]
        let exchange = ExchangeDeclaration(name: settings.deadLetterExchange)
        let queue = Self.deadLetterQueueDeclaration(settings: settings)
        while true {
            // One node per attempt, the next one after a failure.
            let url = nodes.popFirst() ?? brokerURLs[0]
            if nodes.isEmpty { nodes = brokerURLs[...] }
            let result: Result<Void, any Error> = await withCheckedContinuation { c in
                DispatchQueue.global().async {
                    c.resume(
                        returning: Result {
                            let conn = try AMQPConnection(url: url)
                            defer { conn.close() }
                            try conn.declareExchange(exchange)
                            _ = try conn.declareQueue(queue)
                            try conn.bindQueue(queue.name, exchange: exchange.name)
                        })
                }
            }
            switch result {
            case .success: return
            case .failure(let error):
                logger.warning("cannot declare the dead-letter queue, retrying", metadata: ["error": "\(error)"])
                if isStopping { throw CancellationError() }
                try await Task.sleep(for: .seconds(backoff.next()))
            }
        }
    }

    /// Deliveries holding up to `batchSize` points or events (a message of several points counts as
    /// many, by ``MetricsMessage/pointCount(messageID:)``): waits for the first as long as needed, then at
    /// most `maxDelay` seconds for the rest.
    func collectBatch() async -> [BrokerDelivery] {
        var batch: [BrokerDelivery] = []
        batch.reserveCapacity(min(definition.batchSize, definition.prefetch))
        var deadline: ContinuousClock.Instant?
        var items = 0
        while items < definition.batchSize {
            let timeout: Double
            if let deadline {
                let left = deadline - .now
                timeout = max(0, Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18)
                if timeout == 0 { break }
            } else {
                timeout = 1
            }
            guard let d = await inbox.next(timeout: timeout) else {
                if isStopping || inbox.isFinished || Task.isCancelled { break }
                continue
            }
            if batch.isEmpty {
                deadline = .now + .seconds(definition.maxDelay)
                counters.withLock { if $0.firstReceived == nil { $0.firstReceived = .now } }
            }
            batch.append(d)
            items += MetricsMessage.pointCount(messageID: d.messageID)
        }
        return batch
    }

    /// Decodes, writes, dead-letters and acknowledges one batch.
    ///
    /// A message of several points (``MetricsMessage/decodeAll(_:messageID:)``) gives one
    /// ``SinkMessage`` per point, each with its own id (`<key id>:<batch id>:<index>`), so the stores'
    /// idempotency holds point by point: a message written in part before (a sink that crashed
    /// between two writes, a message published twice) is written whole again and each point counts once.
    /// When any of its points is at fault (undecodable, or refused by the destination) the whole
    /// message is dead-lettered, its reason naming those points (`points[j]`); its other points are
    /// written, and replaying the dead letter later writes them again harmlessly.
    /// - Returns: false when the batch was left unacknowledged because shutdown's grace expired.
    func process(_ batch: [BrokerDelivery], deadline: () -> ContinuousClock.Instant?) async throws -> Bool {
        var messages: [SinkMessage] = []
        var sources: [Int] = []  // index in `batch` of each message
        var positions: [Int?] = []  // its place `j` in a message of several points (`points[j]`), nil for a single message
        var faults: [Int: [String]] = [:]  // index in `batch` → what is wrong with it
        messages.reserveCapacity(batch.count)
        let limit = settings.maxDeliveries
        var suspect = false
        let ids = batch.map { $0.messageID ?? Self.contentID($0.body) }
        let deliveries = deliveryCounts.withLock { c in zip(batch, ids).map { c.record($0, id: $1) } }
        for (i, d) in batch.enumerated() {
            if deliveries[i] > limit {
                faults[i] = [
                    "delivered \(deliveries[i]) times (CLOWDER_SINK_MAX_DELIVERIES=\(limit)): earlier deliveries were "
                        + "never acknowledged (a sink stopped, crashed or lost its connection while holding it)"
                ]
                continue
            }
            if deliveries[i] > 1 { suspect = true }
            do {
                let items = try MetricsMessage.decodeAll(d.body, messageID: ids[i])
                for (j, item) in items.enumerated() {
                    switch item.decoded {
                    case .success(let decoded):
                        messages.append(SinkMessage(messageID: item.messageID ?? "\(ids[i]):\(j)", decoded: decoded))
                        sources.append(i)
                        positions.append(item.position)
                    case .failure(let error):
                        faults[i, default: []].append("undecodable message: \(error)")
                    }
                }
            } catch {
                faults[i] = ["undecodable message: \(error)"]
            }
        }
        var rejected: [(Int, String)] = []
        if suspect {
            // Redelivered messages: one write per message (all the points of a message together), so that
            // whatever failed before is pinned on its own message.
            var start = 0
            while start < messages.count {
                var end = start + 1
                while end < messages.count, sources[end] == sources[start] { end += 1 }
                guard let r = try await writeResolving(messages[start..<end], deadline: deadline) else { return false }
                rejected += r
                start = end
            }
        } else {
            // At most batchSize points or events per write, however many a message holds.
            for start in stride(from: 0, to: messages.count, by: definition.batchSize) {
                let chunk = messages[start..<min(messages.count, start + definition.batchSize)]
                guard let r = try await writeResolving(chunk, deadline: deadline) else { return false }
                rejected += r
            }
        }
        for (index, reason) in rejected {
            let named = positions[index].map { "points[\($0)] (\(messages[index].messageID)): \(reason)" } ?? reason
            faults[sources[index], default: []].append(named)
        }
        let dead = faults.sorted { $0.key < $1.key }.map { i, reasons in
            (i, reasons.count == 1 ? reasons[0] : "\(reasons.count) points at fault: " + reasons.joined(separator: "; "))
        }
        if !dead.isEmpty {
            guard try await publishDeadLetters(dead.map { (batch[$0.0], $0.1) }, deadline: deadline) else { return false }
        }
        // Acknowledge: per connection generation, the highest tag with `multiple`.
        var highest: [UInt64: BrokerDelivery] = [:]
        for d in batch where (highest[d.connectionGeneration]?.deliveryTag ?? 0) < d.deliveryTag {
            highest[d.connectionGeneration] = d
        }
        for d in highest.values { consumer.ack(d, multiple: true) }
        if suspect || deliveries.contains(where: { $0 > 1 }) {
            deliveryCounts.withLock { c in for (i, n) in deliveries.enumerated() where n > 1 { c.forget(ids[i]) } }
        }
        counters.withLock {
            $0.written += batch.count - dead.count
            $0.deadLettered += dead.count
            $0.batches += 1
            $0.lastError = nil
            $0.lastAcknowledged = .now
        }
        logger.debug("batch written", metadata: ["messages": "\(batch.count)", "dead_lettered": "\(dead.count)"])
        return true
    }

    /// Writes `messages`, retrying retryable failures and bisecting permanent ones.
    ///
    /// A batch that keeps failing with a retryable error is tested after every
    /// ``SinkSettings/maxDeliveries`` failures: each half is written once. When
    /// both halves fail the destination is taken to be down and the batch waits
    /// as before; when one half is stored the destination is up, and the failing
    /// half is narrowed down the same way (`peersWritten`), to single messages
    /// that are dead-lettered after failing ``SinkSettings/maxDeliveries`` times
    /// while others were written ("kept failing"). A batch of one message has
    /// no peer to tell an outage from its own fault: it waits as during an
    /// outage, and the delivery limit takes over once it is redelivered.
    /// - Returns: the indexes (into the original array) and reasons of the messages refused for good,
    ///   or nil when shutdown's grace expired first.
    func writeResolving(
        _ messages: ArraySlice<SinkMessage>, deadline: () -> ContinuousClock.Instant?, peersWritten: Bool = false
    ) async throws -> [(Int, String)]? {
        if messages.isEmpty { return [] }
        var backoff = RetryBackoff(cap: settings.retryMaxDelay)
        var failures = 0
        let limit = settings.maxDeliveries
        while true {
            do {
                try await destination.write(Array(messages))
                return []
            } catch let e as SinkError where e.code == .partial {
                // Stored except the messages named; indexes are relative to this slice.
                return e.refused.sorted { $0.key < $1.key }.compactMap { i, reason in
                    messages.indices.contains(messages.startIndex + i) ? (messages.startIndex + i, reason) : nil
                }
            } catch let e as SinkError where e.code == .permanent {
                if messages.count == 1 { return [(messages.startIndex, e.message)] }
                let mid = messages.startIndex + messages.count / 2
                guard let a = try await writeResolving(messages[..<mid], deadline: deadline, peersWritten: peersWritten),
                    let b = try await writeResolving(messages[mid...], deadline: deadline, peersWritten: peersWritten)
                else { return nil }
                return a + b
            } catch {
                let message = (error as? SinkError)?.message ?? "\(error)"
                failures += 1
                let attempts = counters.withLock { s -> Int in
                    s.retries += 1
                    s.lastError = message
                    return s.retries
                }
                if messages.count == 1, peersWritten, failures >= limit {
                    return [
                        (
                            messages.startIndex,
                            "kept failing: \(failures) writes failed while other messages of its batch were written; last error: \(message)"
                        )
                    ]
                }
                if messages.count > 1, peersWritten || failures % limit == 0 {
                    // Is the destination up? Write each half once.
                    let mid = messages.startIndex + messages.count / 2
                    var stored = [false, false]
                    var answered = false  // a permanent refusal is an answer too: the destination is up
                    var refused: [(Int, String)] = []
                    var failing: [ArraySlice<SinkMessage>] = []
                    for (k, half) in [messages[..<mid], messages[mid...]].enumerated() {
                        do {
                            try await destination.write(Array(half))
                            stored[k] = true
                        } catch let e as SinkError where e.code == .partial {
                            stored[k] = true
                            refused += e.refused.compactMap { i, reason in
                                half.indices.contains(half.startIndex + i) ? (half.startIndex + i, reason) : nil
                            }
                        } catch let e as SinkError where e.code == .permanent {
                            answered = true
                            failing.append(half)
                        } catch {
                            failing.append(half)
                        }
                    }
                    if stored.contains(true) || answered {
                        for half in failing {
                            guard let r = try await writeResolving(half, deadline: deadline, peersWritten: true) else { return nil }
                            refused += r
                        }
                        return refused
                    }
                }
                if backoff.attempt == 0 || attempts % 20 == 0 {
                    logger.warning(
                        "write failed, keeping the batch unacknowledged and retrying",
                        metadata: ["error": "\(message)", "messages": "\(messages.count)"])
                }
                let pause = backoff.next()
                if let d = deadline(), ContinuousClock.now + .seconds(pause) > d {
                    logger.warning("shutdown grace expired; the batch stays in the queue", metadata: ["error": "\(message)"])
                    return nil
                }
                try await Task.sleep(for: .seconds(pause))
            }
        }
    }

    /// Publishes the messages at fault to the dead-letter exchange, retrying while the broker is unavailable.
    /// - Returns: false when shutdown's grace expired first.
    func publishDeadLetters(_ dead: [(BrokerDelivery, String)], deadline: () -> ContinuousClock.Instant?) async throws -> Bool {
        let outgoing = dead.map { d, reason in
            logger.warning(
                "dead-lettering a message", metadata: ["message_id": "\(d.messageID ?? "-")", "reason": "\(reason)"])
            return OutgoingMessage(
                body: d.body, messageID: d.messageID, contentType: d.contentType ?? "application/json",
                timestamp: d.timestamp, persistent: true, routingKey: definition.name, type: d.type,
                headers: [
                    "x-clowder-reason": String(reason.prefix(1000)), "x-clowder-sink": definition.name,
                    "x-clowder-queue": definition.queue,
                ])
        }
        var backoff = RetryBackoff(cap: 5)
        while true {
            do {
                try await deadLetters.publish(outgoing)
                return true
            } catch {
                let pause = backoff.next()
                if let d = deadline(), ContinuousClock.now + .seconds(pause) > d { return false }
                logger.warning("cannot publish to the dead-letter exchange, retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(pause))
            }
        }
    }

    /// An id for a message published without `message_id` (Clowder v1 sets none): `body:` and a
    /// 128-bit FNV-1a hash of the body, so a redelivery of the same bytes gets the same id.
    static func contentID(_ body: [UInt8]) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in body {
            a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
            b = (b ^ UInt64(byte) ^ 0x5a) &* 0x100_0000_01b3
        }
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return "body:" + hex(a) + hex(b)
    }
}

/// Exponential backoff with full jitter: attempt n waits a random time in
/// [0, min(cap, base·2ⁿ)], at least `floor` seconds.
struct RetryBackoff {
    var base: Double = 0.2
    var cap: Double
    var floor: Double = 0.05
    var attempt = 0

    init(cap: Double) { self.cap = cap }

    mutating func next() -> Double {
        let ceiling = min(cap, base * Double(1 << min(attempt, 20)))
        attempt += 1
        return max(floor, Double.random(in: 0...max(floor, ceiling)))
    }
}
