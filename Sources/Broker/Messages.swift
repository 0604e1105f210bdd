/// A message to publish (AMQP 0-9-1 `basic.publish` with its content header).
///
/// Defaults follow the Clowder stream: persistent (`delivery_mode` 2),
/// `content_type` `application/json`.
public struct OutgoingMessage: Sendable, Hashable {
    /// The body, e.g. the compact JSON of one point or event.
    public var body: [UInt8]
    /// `message_id`: for the ingest `<batch id>:<index>`; stores de-duplicate on it.
    public var messageID: String?
    /// `content_type`.
    public var contentType: String
    /// `timestamp`, epoch seconds (AMQP's timestamp has second resolution).
    public var timestamp: Int64?
    /// `delivery_mode` 2 (persistent) when true, 1 otherwise.
    public var persistent: Bool
    /// Routing key (ignored by fanout exchanges).
    public var routingKey: String
    /// `type` property, e.g. `metric` or the event category (optional).
    public var type: String?
    /// `headers` table (AMQP 0-9-1 field table) with string values, e.g. `x-clowder-reason` on dead letters.
    public var headers: [String: String] = [:]

    public init(
        body: [UInt8], messageID: String? = nil, contentType: String = "application/json", timestamp: Int64? = nil,
        persistent: Bool = true, routingKey: String = "", type: String? = nil, headers: [String: String] = [:]
    ) {
        self.headers = headers
        self.body = body
        self.messageID = messageID
        self.contentType = contentType
        self.timestamp = timestamp
        self.persistent = persistent
        self.routingKey = routingKey
        self.type = type
    }
}

/// A message received from a queue (`basic.deliver` or `basic.get-ok`).
public struct BrokerDelivery: Sendable, Hashable {
    /// The body bytes as published.
    public var body: [UInt8]
    /// `message_id`, if set.
    public var messageID: String?
    /// `content_type`, if set.
    public var contentType: String?
    /// `timestamp`, epoch seconds, if set.
    public var timestamp: Int64?
    /// `delivery_mode` (2 = persistent), 0 when unset.
    public var deliveryMode: UInt8
    /// `type` property, if set.
    public var type: String?
    /// The exchange it was published to.
    public var exchange: String
    /// The routing key it was published with.
    public var routingKey: String
    /// True when the broker delivered it before and it was not acknowledged.
    public var redelivered: Bool
    /// The channel-scoped delivery tag for ack/nack/reject.
    public var deliveryTag: UInt64
    /// The `headers` table: string values as they are, numbers and booleans as their text; other kinds left out.
    public var headers: [String: String] = [:]
    /// Which connection of a ``BrokerConsumer`` delivered it (starts at 1, +1 per reconnect);
    /// an ack for an older connection is dropped: the broker redelivers that message.
    public var connectionGeneration: UInt64

    public init(
        body: [UInt8], messageID: String? = nil, contentType: String? = nil, timestamp: Int64? = nil,
        deliveryMode: UInt8 = 0, type: String? = nil, exchange: String = "", routingKey: String = "",
        redelivered: Bool = false, deliveryTag: UInt64 = 0, connectionGeneration: UInt64 = 0
    ) {
        self.body = body
        self.messageID = messageID
        self.contentType = contentType
        self.timestamp = timestamp
        self.deliveryMode = deliveryMode
        self.type = type
        self.exchange = exchange
        self.routingKey = routingKey
        self.redelivered = redelivered
        self.deliveryTag = deliveryTag
        self.connectionGeneration = connectionGeneration
    }
}

/// The state of a ``BrokerPublisher`` or ``BrokerConsumer`` connection.
public enum BrokerState: Sendable, Hashable, CustomStringConvertible {
    /// Not connected yet, a first attempt is under way.
    case connecting
    /// Connected, exchange (and queue) declared; publishing or consuming.
    case connected
    /// The last attempt failed or the connection was lost; retrying with backoff.
    case disconnected(reason: String)
    /// Shut down.
    case stopped

    /// `connecting`, `connected`, `disconnected` or `stopped`.
    public var name: String {
        switch self {
        case .connecting: "connecting"
        case .connected: "connected"
        case .disconnected: "disconnected"
        case .stopped: "stopped"
        }
    }

    public var description: String {
        if case .disconnected(let reason) = self { return "disconnected (\(reason))" }
        return name
    }
}
