import Broker

@testable import Sinks

/// What a test's sinks declare on RabbitMQ, declared ahead of them and removed after: the exchange, each sink's
/// queue as ``SinkRunner`` declares it (type, dead-lettering, delivery limit) bound to the exchange, the
/// dead-letter exchange and queue.
struct SinkTopology {
    let connection: AMQPConnection
    let settings: SinkSettings
    let exchange: String
    let definitions: [SinkDefinition]

    /// Connects to ``TestServers/amqpURL``; declares nothing yet.
    /// - Throws: ``BrokerError`` when RabbitMQ is not reachable.
    init(settings: SinkSettings, exchange: String, definitions: [SinkDefinition]) throws {
        connection = try AMQPConnection(url: try BrokerURL(TestServers.amqpURL))
        self.settings = settings
        self.exchange = exchange
        self.definitions = definitions
    }

    /// Declares the exchange and every sink's queue, bound, so that messages published before the sinks start
    /// wait in their queues.
    /// - Throws: ``BrokerError`` when a declaration is refused.
    func declare() throws {
        try connection.declareExchange(ExchangeDeclaration(name: exchange))
        for d in definitions {
            let q = SinkRunner.queueDeclaration(settings: settings, definition: d)
            _ = try connection.declareQueue(q)
            try connection.bindQueue(q.name, exchange: exchange)
        }
    }

    /// Deletes the queues, the dead-letter queue and both exchanges, and closes the connection.
    func remove() {
        for d in definitions { try? connection.deleteQueue(d.queue) }
        try? connection.deleteQueue(settings.deadLetterQueue)
        try? connection.deleteExchange(exchange)
        try? connection.deleteExchange(settings.deadLetterExchange)
        connection.close()
    }
}
