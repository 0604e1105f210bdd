/// Where the ingest hands the messages of one request: RabbitMQ
/// (``BrokerDestination``) or, with no broker configured, an in-process store
/// (``JournalDestination``; the `Sinks` SQLite sink may conform too).
///
/// `write(messages:)` returns only when every message is durably accepted;
/// it throws when any was not, and the request is answered 503 with
/// `Retry-After` (the agent retries; ids make the retry idempotent).
public protocol MessageDestination: Sendable {
    /// Delivers messages in order. Each `id` is the AMQP `message_id`
    /// (`<batch id>:<index>`); each `body` the message's compact JSON.
    /// - Throws: any error when not every message was accepted.
    func write(messages: [(id: String, body: [UInt8])]) async throws

    /// For `/healthz` and `/metrics`.
    var status: DestinationStatus { get }
}

extension MessageDestination {
    /// Default: a destination that is always available.
    public var status: DestinationStatus { DestinationStatus(kind: "custom", state: "ok", available: true) }
}

/// What `/healthz` reports about a destination.
public struct DestinationStatus: Sendable, Hashable {
    /// `rabbitmq`, `journal` or `custom`.
    public var kind: String
    /// For RabbitMQ the connection state (`connected`, `connecting`, `disconnected`, `stopped`); `none` otherwise.
    public var state: String
    /// True when a write can succeed now.
    public var available: Bool
    /// Why not, when not.
    public var detail: String?

    public init(kind: String, state: String, available: Bool, detail: String? = nil) {
        self.kind = kind
        self.state = state
        self.available = available
        self.detail = detail
    }
}
