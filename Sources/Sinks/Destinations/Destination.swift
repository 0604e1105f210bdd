import MetricsModel

/// One message taken from a sink's queue and decoded: the broker's
/// `message_id` property (`<batch id>:<index>` for agent data, Clowder's own
/// id or a content hash for Clowder events) and the decoded point or event.
///
/// The `messageID` is the idempotency key every destination uses: a unique
/// key in SQL, `insert_id` in Amplitude, a nanosecond offset of the event time
/// in InfluxDB.
public struct SinkMessage: Sendable, Hashable {
    /// The AMQP `message-id` property (AMQP 0-9-1 `basic.properties`).
    public var messageID: String
    /// The decoded message (``MetricsMessage/decode(_:)``).
    public var decoded: MetricsMessage.Decoded

    /// - Parameters:
    ///   - messageID: the message's unique id.
    ///   - decoded: the point or event it carries.
    public init(messageID: String, decoded: MetricsMessage.Decoded) {
        self.messageID = messageID
        self.decoded = decoded
    }
}

/// Where a sink writes: InfluxDB, PostgreSQL, SQLite, Amplitude or Google
/// Analytics 4. One type per file in `Destinations/`.
///
/// The consumer calls ``start()`` once (create tables, check the address),
/// then ``write(_:)`` for each batch, one batch at a time, and acknowledges
/// the batch's messages only after `write` returned. ``shutdown()`` closes
/// connections.
///
/// Contract for `write`:
/// - Return normally only when every message is stored (or deliberately
///   skipped, e.g. metric points sent to an analytics destination).
/// - Throw ``SinkError`` with ``SinkError/Code/retryable`` when the
///   destination could not be reached or was overloaded: the same batch is
///   written again later, so writes must be idempotent on
///   ``SinkMessage/messageID``.
/// - Throw ``SinkError`` with ``SinkError/Code/permanent`` when the
///   destination refused the data. The consumer then splits the batch and
///   retries the halves, until it finds the single messages at fault, which
///   it dead-letters with the error's message as the reason.
///
/// ```swift
/// let influx = try InfluxDestination(InfluxConfiguration(url: "http://127.0.0.1:8086", database: "clowder"))
/// try await influx.start()
/// try await influx.write(messages)
/// ```
public protocol Destination: Sendable {
    /// A short name for logs, e.g. `influx`.
    var kind: String { get }
    /// Prepares the destination (creates tables or the database).
    /// - Throws: ``SinkError`` (retryable when the destination is unreachable).
    func start() async throws
    /// Writes one batch; see the contract above.
    /// - Throws: ``SinkError``.
    func write(_ messages: [SinkMessage]) async throws
    /// Releases connections. Called once, after the last `write`.
    func shutdown() async
}

extension Destination {
    public func start() async throws {}
    public func shutdown() async {}
}
