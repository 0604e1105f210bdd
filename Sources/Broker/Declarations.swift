/// An exchange to declare (AMQP 0-9-1 `exchange.declare`).
///
/// Clowder v1 publishes to the durable fanout exchange `clowder.metrics`; so do we.
public struct ExchangeDeclaration: Sendable, Hashable {
    /// Exchange name, e.g. `clowder.metrics`.
    public var name: String
    /// Exchange type: `fanout`, `direct`, `topic` or `headers`.
    public var type: String
    /// Survives a broker restart.
    public var durable: Bool
    /// Deleted when the last queue is unbound.
    public var autoDelete: Bool

    public init(name: String, type: String = "fanout", durable: Bool = true, autoDelete: Bool = false) {
        self.name = name
        self.type = type
        self.durable = durable
        self.autoDelete = autoDelete
    }

    /// `clowder.metrics`, durable fanout.
    public static let clowderMetrics = ExchangeDeclaration(name: "clowder.metrics")
}

/// A queue to declare (AMQP 0-9-1 `queue.declare`) with RabbitMQ's optional
/// arguments (https://www.rabbitmq.com/docs/queues#optional-arguments).
///
/// Each sink declares its own durable queue `clowder.metrics.<sink>` bound to
/// the exchange; never share one queue between two sinks.
///
/// ```swift
/// var q = QueueDeclaration(name: "clowder.metrics.influxdb")
/// q.deadLetterExchange = "clowder.metrics.dead"   // nack(requeue: false) / reject go there
/// ```
public struct QueueDeclaration: Sendable, Hashable {
    /// Queue name. Empty asks the broker for a generated name (see ``AMQPConnection/declareQueue(_:)``).
    public var name: String
    /// Survives a broker restart (messages must also be persistent).
    public var durable: Bool
    /// Used by one connection only and deleted when it closes.
    public var exclusive: Bool
    /// Deleted when the last consumer unsubscribes.
    public var autoDelete: Bool
    /// `x-dead-letter-exchange`: where rejected, expired or overflowing messages go.
    public var deadLetterExchange: String?
    /// `x-dead-letter-routing-key`: routing key for dead-lettered messages (default: their own).
    public var deadLetterRoutingKey: String?
    /// `x-message-ttl`, milliseconds.
    public var messageTTLMilliseconds: Int64?
    /// `x-max-length`, messages.
    public var maxLength: Int64?
    /// `x-queue-type`: `classic` or `quorum` (quorum queues must be durable and not exclusive).
    public var queueType: String?
    /// `x-overflow`: `drop-head` (default), `reject-publish` (publishers get `basic.nack`) or `reject-publish-dlx`.
    public var overflow: String?
    /// `x-delivery-limit` (quorum queues only): returns of one message to the queue after which the broker
    /// dead-letters it (to `x-dead-letter-exchange`) instead of delivering it again
    /// (https://www.rabbitmq.com/docs/quorum-queues#poison-message-handling).
    public var deliveryLimit: Int64?

    public init(
        name: String, durable: Bool = true, exclusive: Bool = false, autoDelete: Bool = false,
        deadLetterExchange: String? = nil, deadLetterRoutingKey: String? = nil,
        messageTTLMilliseconds: Int64? = nil, maxLength: Int64? = nil, queueType: String? = nil,
        overflow: String? = nil, deliveryLimit: Int64? = nil
    ) {
        self.name = name
        self.durable = durable
        self.exclusive = exclusive
        self.autoDelete = autoDelete
        self.deadLetterExchange = deadLetterExchange
        self.deadLetterRoutingKey = deadLetterRoutingKey
        self.messageTTLMilliseconds = messageTTLMilliseconds
        self.maxLength = maxLength
        self.queueType = queueType
        self.overflow = overflow
        self.deliveryLimit = deliveryLimit
    }

    /// The `x-…` arguments as (key, value) pairs, strings or integers.
    var arguments: [(String, ArgumentValue)] {
        var a: [(String, ArgumentValue)] = []
        if let deadLetterExchange { a.append(("x-dead-letter-exchange", .string(deadLetterExchange))) }
        if let deadLetterRoutingKey { a.append(("x-dead-letter-routing-key", .string(deadLetterRoutingKey))) }
        if let messageTTLMilliseconds { a.append(("x-message-ttl", .int(messageTTLMilliseconds))) }
        if let maxLength { a.append(("x-max-length", .int(maxLength))) }
        if let queueType { a.append(("x-queue-type", .string(queueType))) }
        if let overflow { a.append(("x-overflow", .string(overflow))) }
        if let deliveryLimit { a.append(("x-delivery-limit", .int(deliveryLimit))) }
        return a
    }

    enum ArgumentValue {
        case string(String)
        case int(Int64)
    }
}
