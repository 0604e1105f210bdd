import Logging
import Synchronization

/// Publishes messages to one exchange with RabbitMQ publisher confirms, on a
/// dedicated thread that owns one ``AMQPConnection``.
///
/// ``publish(_:)`` returns only when the broker confirmed (`basic.ack`) every
/// message of the call; it throws ``BrokerError`` `nack` when any was refused,
/// `connectionLost` when the connection dropped before all were confirmed (some
/// may have been stored: callers publish with a `message_id` so stores can
/// de-duplicate), `unavailable` while there is no connection, `timeout` when
/// confirms take longer than `confirmTimeout`. Calls from many tasks are
/// pipelined on the one connection: the thread publishes every waiting call's
/// messages, then reads confirms.
///
/// After a failure the thread reconnects with exponential backoff and full
/// jitter (0.1 s doubling to `maxBackoff`), re-declaring the exchange. Given
/// several URLs (the nodes of a RabbitMQ cluster), it moves to the next one of
/// the list after every failed connect and every lost connection, and logs the
/// node it is on (`url`, `node` = its place `i/n` in the list). Messages whose
/// confirms had not arrived when a connection was lost fail with
/// `connectionLost`: the caller answers 503 and the client retries, possibly
/// through another node (stores de-duplicate on `message_id`).
///
/// ```swift
/// let p = BrokerPublisher(url: try BrokerURL("amqp://guest:guest@127.0.0.1:5672"), exchange: .clowderMetrics)
/// p.start()
/// try await p.publish([OutgoingMessage(body: Array(#"{"category":"x","created":1}"#.utf8), messageID: "b1:0")])
/// await p.shutdown()
/// ```
public final class BrokerPublisher: BrokerClient {
    /// The broker's nodes, in the order they are tried (at least one).
    public let urls: [BrokerURL]
    /// The first node of ``urls``.
    public var url: BrokerURL { urls[0] }
    /// The exchange published to (declared on every connect).
    public let exchange: ExchangeDeclaration
    /// Longest wait for confirms of one call, seconds.
    public let confirmTimeout: Double
    /// Longest pause between reconnect attempts, seconds.
    public let maxBackoff: Double
    let logger: Logger
    let worker = WorkerThread()
    let shared: Mutex<Shared>

    struct Job {
        let messages: [OutgoingMessage]
        let continuation: CheckedContinuation<Void, any Error>
    }

    struct Shared {
        var life = ClientLifecycle()
        var queue: [Job] = []
        var published: UInt64 = 0
        var nodes: BrokerNodes
    }

    /// - Parameters:
    ///   - urls: the broker's nodes, tried in order (must not be empty).
    ///   - exchange: declared on connect; messages go there.
    ///   - confirmTimeout: seconds to wait for the confirms of one call before the connection is treated as lost.
    ///   - maxBackoff: longest pause between reconnect attempts, seconds.
    public init(
        urls: [BrokerURL], exchange: ExchangeDeclaration, confirmTimeout: Double = 30, maxBackoff: Double = 5,
        logger: Logger = Logger(label: "clowder.broker.publisher")
    ) {
        self.urls = urls
        self.shared = Mutex(Shared(nodes: BrokerNodes(urls)))
        self.exchange = exchange
        self.confirmTimeout = confirmTimeout
        self.maxBackoff = maxBackoff
        self.logger = logger
    }

    /// One node: ``init(urls:exchange:confirmTimeout:maxBackoff:logger:)`` with `[url]`.
    public convenience init(
        url: BrokerURL, exchange: ExchangeDeclaration, confirmTimeout: Double = 30, maxBackoff: Double = 5,
        logger: Logger = Logger(label: "clowder.broker.publisher")
    ) {
        self.init(urls: [url], exchange: exchange, confirmTimeout: confirmTimeout, maxBackoff: maxBackoff, logger: logger)
    }

    /// The node connected to (or tried next).
    public var currentURL: BrokerURL { shared.withLock { $0.nodes.current } }

    /// The connection state (for `/healthz`).
    public var state: BrokerState { shared.withLock { $0.life.state } }

    /// Messages confirmed since start.
    public var confirmedCount: UInt64 { shared.withLock { $0.published } }

    /// Starts the thread; it connects in the background. Idempotent.
    public func start() {
        worker.startOnce { [self] in run() }
    }

    /// Publishes `messages` in order and waits for the broker's confirms.
    /// - Throws: ``BrokerError`` (`unavailable`, `connectionLost`, `nack`, `timeout`, `closed`).
    public func publish(_ messages: [OutgoingMessage]) async throws {
        if messages.isEmpty { return }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let refused: BrokerError? = shared.withLock { s in
                if s.life.stopping { return BrokerError(.closed, "publisher is shut down") }
                switch s.life.state {
                case .connected:
                    s.queue.append(Job(messages: messages, continuation: c))
                    return nil
                case .connecting: return BrokerError(.unavailable, "connecting to \(s.nodes.current)")
                case .disconnected(let reason): return BrokerError(.unavailable, "broker unavailable: \(reason)")
                case .stopped: return BrokerError(.closed, "publisher is shut down")
                }
            }
            if let refused { c.resume(throwing: refused) } else { worker.wake() }
        }
    }

    /// Stops the thread: waiting calls fail with `closed`, the connection is closed.
    public func shutdown() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let alreadyStopped = shared.withLock { $0.life.requestStop(c, started: worker.hasStarted) }
            if alreadyStopped { c.resume() } else { worker.wake() }
        }
    }

    // MARK: The thread

    /// A call whose messages are published and not all confirmed.
    final class Pending {
        let job: Job
        let first: UInt64
        let last: UInt64
        var confirmed: [Bool]
        var remaining: Int
        var nacked = false
        let since: Double
        init(job: Job, first: UInt64, since: Double) {
            self.job = job
            self.first = first
            self.last = first + UInt64(job.messages.count) - 1
            self.confirmed = Array(repeating: false, count: job.messages.count)
            self.remaining = job.messages.count
            self.since = since
        }
        func mark(_ tag: UInt64, nack: Bool) {
            let i = Int(tag - first)
            if !confirmed[i] { confirmed[i] = true; remaining -= 1 }
            if nack { nacked = true }
        }
    }

    func setState(_ st: BrokerState) { shared.withLock { $0.life.state = st } }

    func run() {
        var backoff = Backoff(cap: maxBackoff)
        var connection: AMQPConnection?
        var pending: [Pending] = []
        var confirmedThrough: UInt64 = 0

        func failAll(_ error: BrokerError) {
            for p in pending { p.job.continuation.resume(throwing: error) }
            pending.removeAll()
            let queued = shared.withLock { s -> [Job] in defer { s.queue.removeAll() }; return s.queue }
            for j in queued { j.continuation.resume(throwing: error) }
        }

        func drop(_ error: BrokerError) {
            let (lost, next) = shared.withLock { s -> (BrokerURL, BrokerNodes) in
                let lost = s.nodes.current
                s.nodes.advance()
                return (lost, s.nodes)
            }
            logger.warning(
                "broker connection lost",
                metadata: ["url": "\(lost)", "error": "\(error)", "next_url": "\(next.current)", "next_node": "\(next.position)"])
            setState(.disconnected(reason: error.message))
            failAll(error)
            connection?.close()
            connection = nil
        }

        func handle(_ frame: AMQPConnection.Frame) {
            let tag: UInt64, multiple: Bool, nack: Bool
            switch frame {
            case .ack(let t, let m): (tag, multiple, nack) = (t, m, false)
            case .nack(let t, let m): (tag, multiple, nack) = (t, m, true)
            case .other: return
            }
            if multiple {
                let from = confirmedThrough + 1
                guard tag >= from else { return }
                for p in pending where p.first <= tag && p.last >= from {
                    for t in max(p.first, from)...min(p.last, tag) { p.mark(t, nack: nack) }
                }
                confirmedThrough = max(confirmedThrough, tag)
            } else if let p = pending.first(where: { $0.first <= tag && tag <= $0.last }) {
                p.mark(tag, nack: nack)
            }
            let finished = pending.filter { $0.remaining == 0 }
            guard !finished.isEmpty else { return }
            pending.removeAll { $0.remaining == 0 }
            let done = finished.reduce(0) { $0 + ($1.nacked ? 0 : $1.job.messages.count) }
            shared.withLock { $0.published += UInt64(done) }
            for p in finished {
                if p.nacked {
                    p.job.continuation.resume(throwing: BrokerError(.nack, "the broker refused (basic.nack) a message of this batch"))
                } else {
                    p.job.continuation.resume()
                }
            }
        }

        while true {
            let stopping = shared.withLock { $0.life.stopping }
            if stopping { break }

            guard let conn = connection else {
                let node = shared.withLock { $0.nodes }
                do {
                    let c = try AMQPConnection(url: node.current)
                    try c.declareExchange(exchange)
                    try c.confirmSelect()
                    connection = c
                    confirmedThrough = 0
                    backoff.reset()
                    setState(.connected)
                    logger.info(
                        "connected to the broker",
                        metadata: ["url": "\(node.current)", "node": "\(node.position)", "exchange": "\(exchange.name)"])
                } catch {
                    let e = error as? BrokerError ?? BrokerError(.connect, "\(error)")
                    setState(.disconnected(reason: e.message))
                    failAll(BrokerError(.unavailable, e.message))
                    shared.withLock { $0.nodes.advance() }
                    let pause = backoff.next()
                    logger.log(
                        level: urls.count > 1 ? .warning : .debug, "broker connect failed, retrying",
                        metadata: ["url": "\(node.current)", "node": "\(node.position)", "error": "\(e)", "in_s": "\(pause)"])
                    worker.wait(socket: -1, timeout: pause)
                }
                continue
            }

            // Publish every waiting call.
            let jobs = shared.withLock { s -> [Job] in defer { s.queue.removeAll() }; return s.queue }
            if !jobs.isEmpty {
                let now = monotonicSeconds()
                var failed: BrokerError?
                for job in jobs {
                    if let failed {
                        job.continuation.resume(throwing: failed)
                        continue
                    }
                    let p = Pending(job: job, first: conn.nextPublishSequence, since: now)
                    pending.append(p)
                    do {
                        for m in job.messages { try conn.publish(exchange: exchange.name, message: m) }
                    } catch {
                        failed = error as? BrokerError ?? BrokerError(.connectionLost, "\(error)")
                    }
                }
                if let failed { drop(failed); continue }
            }

            // Read confirms (and heartbeats, closes).
            do {
                if conn.hasBufferedInput || worker.wait(socket: conn.socketDescriptor, timeout: pending.isEmpty ? 1 : 0.25) {
                    if let f = try conn.nextFrame(timeout: 0) { handle(f) }
                } else if pending.isEmpty, let f = try conn.nextFrame(timeout: 0) {
                    handle(f)  // the read lets librabbitmq send a heartbeat when one is due
                }
                while conn.hasBufferedInput, let f = try conn.nextFrame(timeout: 0) { handle(f) }
                if pending.isEmpty { conn.releaseBuffers() }
                if let oldest = pending.first, monotonicSeconds() - oldest.since > confirmTimeout {
                    drop(BrokerError(.timeout, "no publisher confirm within \(confirmTimeout) s"))
                }
            } catch {
                drop(error as? BrokerError ?? BrokerError(.connectionLost, "\(error)"))
            }
        }

        failAll(BrokerError(.closed, "publisher is shut down"))
        connection?.close()
        let waiters = shared.withLock { $0.life.stopped() }
        for w in waiters { w.resume() }
    }
}
