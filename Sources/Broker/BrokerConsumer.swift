import Logging
import Synchronization

/// Consumes one queue with manual acknowledgements on a dedicated thread that
/// owns one ``AMQPConnection``; deliveries arrive on ``deliveries``.
///
/// On every connect it declares the exchange (when given) and the queue
/// (with its dead-letter and other `x-…` arguments), binds them, sets
/// `basic.qos` prefetch and starts `basic.consume`. At most `prefetch`
/// deliveries are unacknowledged at a time, so the stream's buffer is bounded.
/// After a lost connection it reconnects with backoff; deliveries not yet
/// acknowledged are redelivered by the broker (`redelivered` true), and acks
/// for the old connection (older ``BrokerDelivery/connectionGeneration``) are dropped.
/// Given several URLs (the nodes of a RabbitMQ cluster; use quorum queues there,
/// so the queue lives on every node), it moves to the next one of the list after
/// every failed connect and every lost connection, and logs the node it is on.
/// The stream ends only after ``shutdown()``.
///
/// ```swift
/// let c = BrokerConsumer(url: url, exchange: .clowderMetrics,
///                        queue: QueueDeclaration(name: "clowder.metrics.sqlite", deadLetterExchange: "clowder.metrics.dead"),
///                        prefetch: 200)
/// c.start()
/// for await d in c.deliveries {
///     do { try store(d.body); c.ack(d) } catch { c.reject(d, requeue: false) }   // → dead-letter exchange
/// }
/// ```
public final class BrokerConsumer: BrokerClient {
    /// The broker's nodes, in the order they are tried (at least one).
    public let urls: [BrokerURL]
    /// The first node of ``urls``.
    public var url: BrokerURL { urls[0] }
    /// Declared on connect when not nil, and the queue bound to it.
    public let exchange: ExchangeDeclaration?
    /// Declared on connect and consumed.
    public let queue: QueueDeclaration
    /// Binding key (ignored by fanout exchanges).
    public let bindingKey: String
    /// `basic.qos` prefetch count.
    public let prefetch: UInt16
    /// Longest pause between reconnect attempts, seconds.
    public let maxBackoff: Double
    /// Deliveries, in the order the broker sent them; finishes after ``shutdown()``.
    public let deliveries: AsyncStream<BrokerDelivery>
    let continuation: AsyncStream<BrokerDelivery>.Continuation
    let logger: Logger
    let worker = WorkerThread()
    let shared: Mutex<Shared>

    enum Command {
        case ack(UInt64, multiple: Bool)
        case nack(UInt64, multiple: Bool, requeue: Bool)
        case reject(UInt64, requeue: Bool)
    }

    struct Shared {
        var life = ClientLifecycle()
        var generation: UInt64 = 0
        var commands: [(UInt64, Command)] = []
        var delivered: UInt64 = 0
        var nodes: BrokerNodes
    }

    /// - Parameters:
    ///   - urls: the broker's nodes, tried in order (must not be empty).
    ///   - exchange: declared and bound when not nil (e.g. ``ExchangeDeclaration/clowderMetrics``).
    ///   - queue: declared (durable by default) and consumed.
    ///   - bindingKey: routing key of the binding.
    ///   - prefetch: most unacknowledged deliveries at a time.
    ///   - maxBackoff: longest pause between reconnect attempts, seconds.
    public init(
        urls: [BrokerURL], exchange: ExchangeDeclaration?, queue: QueueDeclaration, bindingKey: String = "", prefetch: UInt16 = 100,
        maxBackoff: Double = 5, logger: Logger = Logger(label: "clowder.broker.consumer")
    ) {
        self.urls = urls
        self.shared = Mutex(Shared(nodes: BrokerNodes(urls)))
        self.exchange = exchange
        self.queue = queue
        self.bindingKey = bindingKey
        self.prefetch = prefetch
        self.maxBackoff = maxBackoff
        self.logger = logger
        (deliveries, continuation) = AsyncStream.makeStream(of: BrokerDelivery.self, bufferingPolicy: .unbounded)
    }

    /// One node: ``init(urls:exchange:queue:bindingKey:prefetch:maxBackoff:logger:)`` with `[url]`.
    public convenience init(
        url: BrokerURL, exchange: ExchangeDeclaration?, queue: QueueDeclaration, bindingKey: String = "", prefetch: UInt16 = 100,
        maxBackoff: Double = 5, logger: Logger = Logger(label: "clowder.broker.consumer")
    ) {
        self.init(
            urls: [url], exchange: exchange, queue: queue, bindingKey: bindingKey, prefetch: prefetch, maxBackoff: maxBackoff,
            logger: logger)
    }

    /// The node connected to (or tried next).
    public var currentURL: BrokerURL { shared.withLock { $0.nodes.current } }

    /// The connection state.
    public var state: BrokerState { shared.withLock { $0.life.state } }

    /// Deliveries received since start.
    public var deliveredCount: UInt64 { shared.withLock { $0.delivered } }

    /// Starts the thread; it connects in the background. Idempotent.
    public func start() {
        worker.startOnce { [self] in run() }
    }

    /// `basic.ack` (sent by the consumer thread; dropped if the delivery's connection is gone).
    public func ack(_ d: BrokerDelivery, multiple: Bool = false) {
        send(d.connectionGeneration, .ack(d.deliveryTag, multiple: multiple))
    }

    /// `basic.nack`; with `requeue` false the message goes to the queue's dead-letter exchange.
    public func nack(_ d: BrokerDelivery, multiple: Bool = false, requeue: Bool) {
        send(d.connectionGeneration, .nack(d.deliveryTag, multiple: multiple, requeue: requeue))
    }

    /// `basic.reject`; with `requeue` false the message goes to the queue's dead-letter exchange.
    public func reject(_ d: BrokerDelivery, requeue: Bool) {
        send(d.connectionGeneration, .reject(d.deliveryTag, requeue: requeue))
    }

    func send(_ generation: UInt64, _ c: Command) {
        shared.withLock { $0.commands.append((generation, c)) }
        worker.wake()
    }

    /// Stops the thread and finishes ``deliveries``; unacknowledged deliveries go back to the queue.
    public func shutdown() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let alreadyStopped = shared.withLock { $0.life.requestStop(c, started: worker.hasStarted) }
            if alreadyStopped {
                continuation.finish()
                c.resume()
            } else {
                worker.wake()
            }
        }
    }

    func run() {
        var backoff = Backoff(cap: maxBackoff)
        var connection: AMQPConnection?
        var generation: UInt64 = 0

        func drop(_ error: BrokerError) {
            let (lost, next) = shared.withLock { s -> (BrokerURL, BrokerNodes) in
                s.life.state = .disconnected(reason: error.message)
                s.commands.removeAll()
                let lost = s.nodes.current
                s.nodes.advance()
                return (lost, s.nodes)
            }
            logger.warning(
                "broker connection lost",
                metadata: [
                    "url": "\(lost)", "queue": "\(queue.name)", "error": "\(error)", "next_url": "\(next.current)",
                    "next_node": "\(next.position)",
                ])
            connection?.close()
            connection = nil
        }

        func flushCommands(_ conn: AMQPConnection) throws {
            let commands = shared.withLock { s -> [(UInt64, Command)] in defer { s.commands.removeAll() }; return s.commands }
            for (g, command) in commands where g == generation {
                switch command {
                case .ack(let tag, let multiple): try conn.ack(deliveryTag: tag, multiple: multiple)
                case .nack(let tag, let multiple, let requeue): try conn.nack(deliveryTag: tag, multiple: multiple, requeue: requeue)
                case .reject(let tag, let requeue): try conn.reject(deliveryTag: tag, requeue: requeue)
                }
            }
        }

        while true {
            if shared.withLock({ $0.life.stopping }) {
                // Acknowledgements asked for before shutdown still go out.
                if let connection { try? flushCommands(connection) }
                break
            }
            guard let conn = connection else {
                let node = shared.withLock { $0.nodes }
                do {
                    let c = try AMQPConnection(url: node.current)
                    if let exchange {
                        try c.declareExchange(exchange)
                    }
                    let declared = try c.declareQueue(queue)
                    if let exchange { try c.bindQueue(declared.name, exchange: exchange.name, routingKey: bindingKey) }
                    try c.qos(prefetchCount: prefetch)
                    try c.consume(queue: declared.name)
                    connection = c
                    generation += 1
                    backoff.reset()
                    let g = generation
                    shared.withLock { $0.life.state = .connected; $0.generation = g; $0.commands.removeAll() }
                    logger.info("consuming", metadata: ["url": "\(node.current)", "node": "\(node.position)", "queue": "\(declared.name)"])
                } catch {
                    let e = error as? BrokerError ?? BrokerError(.connect, "\(error)")
                    shared.withLock { $0.life.state = .disconnected(reason: e.message); $0.nodes.advance() }
                    let pause = backoff.next()
                    logger.log(
                        level: urls.count > 1 ? .warning : .debug, "broker connect failed, retrying",
                        metadata: ["url": "\(node.current)", "node": "\(node.position)", "error": "\(e)", "in_s": "\(pause)"])
                    worker.wait(socket: -1, timeout: pause)
                }
                continue
            }
            do {
                try flushCommands(conn)
                if !conn.hasBufferedInput { worker.wait(socket: conn.socketDescriptor, timeout: 1) }
                // Read also after a quiet second: it lets librabbitmq send a heartbeat that is due, and a
                // delivery that arrived just after the wait timed out is handed on. (Dropping it, as this
                // loop once did, left the message unacknowledged and unseen until the connection closed.)
                if let d = try conn.nextDelivery(timeout: 0, generation: generation) {
                    shared.withLock { $0.delivered += 1 }
                    continuation.yield(d)
                }
            } catch {
                drop(error as? BrokerError ?? BrokerError(.connectionLost, "\(error)"))
            }
        }
        connection?.close()
        continuation.finish()
        let waiters = shared.withLock { $0.life.stopped() }
        for w in waiters { w.resume() }
    }
}
