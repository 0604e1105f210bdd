import Broker

#if canImport(Glibc)
import Glibc
#endif

/// Publishes to the RabbitMQ exchange (durable fanout `clowder.metrics` by
/// default) through a ``BrokerPublisher``: persistent messages, `content_type`
/// `application/json`, `message_id` as given, `timestamp` now (epoch seconds),
/// waiting for publisher confirms.
public final class BrokerDestination: MessageDestination {
    /// The publisher (its thread owns the connection).
    public let publisher: BrokerPublisher

    public init(publisher: BrokerPublisher) {
        self.publisher = publisher
    }

    /// - Throws: ``BrokerError`` (`unavailable`, `connectionLost`, `nack`, `timeout`, `closed`).
    public func write(messages: [(id: String, body: [UInt8])]) async throws {
        let now = Int64(time(nil))
        try await publisher.publish(messages.map { OutgoingMessage(body: $0.body, messageID: $0.id, timestamp: now) })
    }

    public var status: DestinationStatus {
        let s = publisher.state
        var detail: String?
        if case .disconnected(let reason) = s { detail = reason }
        let up = if case .connected = s { true } else { false }
        return DestinationStatus(kind: "rabbitmq", state: s.name, available: up, detail: detail)
    }
}
