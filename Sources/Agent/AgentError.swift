/// The error of the agent's probes that report one line to the operator: the journey probe's key
/// file, the RabbitMQ queue probe's credentials file and rounds, and a `stub_status` page that
/// cannot be read. The stages keep their own error types (``ConfigError``, ``LogTailError``,
/// ``AggregationError``, ``DeliveryError``, ``RuntimeError``), whose fields (key, path, `errno`)
/// callers and tests read.
///
/// ```
/// CLOWDER_METRICS_RABBITMQ_CREDENTIALS_FILE=/etc/clowder-metrics/rabbitmq: the first line must be user:password
/// stub_status http://127.0.0.1:8080/: not an NGINX stub_status page
/// ```
public struct AgentError: Error, CustomStringConvertible, Sendable, Hashable {
    /// Which probe failed (formerly one error type each).
    public enum Kind: String, Sendable, Hashable {
        /// The journey probe's API key file cannot be read or holds no key (formerly `JourneyError`).
        case journey
        /// The RabbitMQ queue probe: its credentials file, or a round's request (formerly `QueueProbeError`).
        case queueProbe
        /// A `stub_status` page that cannot be fetched or is not one (formerly `StubStatusFailure`).
        case stubStatus
    }

    /// Which probe failed.
    public var kind: Kind
    /// One line naming the setting, file or URL and the problem: what an operator reads.
    public var message: String
    /// The cause (the file read's failure, the JSON parser's error), kept typed; its text is already in ``message``.
    public var underlying: (any Error)?

    /// - Parameters:
    ///   - kind: which probe failed.
    ///   - message: the whole line an operator reads (it already holds the cause's text).
    ///   - underlying: the cause, if any.
    public init(_ kind: Kind, _ message: String, underlying: (any Error)? = nil) {
        self.kind = kind
        self.message = message
        self.underlying = underlying
    }

    /// Same kind, same message (the cause's text is in the message).
    public static func == (a: AgentError, b: AgentError) -> Bool { a.kind == b.kind && a.message == b.message }

    public func hash(into h: inout Hasher) {
        h.combine(kind)
        h.combine(message)
    }

    /// The message.
    public var description: String { message }
}
