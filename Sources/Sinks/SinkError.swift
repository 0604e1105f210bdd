/// The one error type of `Sinks`: a code saying what the consumer should do
/// with the messages involved, and the context a person needs (sink, key,
/// value, HTTP status, database state).
///
/// - ``Code/retryable``: the destination or the broker is unavailable or
///   overloaded (network error, HTTP 5xx or 429, a lost database
///   connection). Nothing is acknowledged; the batch is tried again after a
///   backoff.
/// - ``Code/permanent``: the destination refused the data itself (HTTP 4xx
///   other than 408/429, a PostgreSQL data exception). Retrying cannot help;
///   the consumer narrows the batch down to the messages at fault and sends
///   each to the dead-letter exchange with ``message`` as its reason.
/// - ``Code/partial``: the destination stored every message of the batch
///   except those in ``refused`` (InfluxDB 1.x's `partial write`), which it
///   refused for good: the consumer dead-letters exactly those, with their
///   reasons, and acknowledges the rest.
/// - ``Code/config``: a configuration key with a bad or missing value.
public struct SinkError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure, and so what happens to the messages.
    public enum Code: String, Sendable {
        /// Try the same messages again later (nothing acknowledged).
        case retryable
        /// The messages can never be written: dead-letter them with the reason.
        case permanent
        /// Every message was stored except ``SinkError/refused``: dead-letter those.
        case partial
        /// A configuration value is missing or malformed.
        case config
    }

    /// What kind of failure.
    public var code: Code
    /// A sentence naming what failed, e.g. `InfluxDB answered 400: partial write: field type conflict…`.
    public var message: String
    /// The configuration key, for ``Code/config`` errors (e.g. `CLOWDER_SINK_INFLUX_URL`).
    public var key: String?
    /// For ``Code/partial``: index in the batch given to `write` → the reason that message was refused.
    public var refused: [Int: String] = [:]

    /// - Parameters:
    ///   - code: what the consumer should do.
    ///   - message: the reason, shown to operators and written to the `x-clowder-reason` header.
    ///   - key: the configuration key at fault, if any.
    public init(_ code: Code, _ message: String, key: String? = nil) {
        self.code = code
        self.message = message
        self.key = key
    }

    /// A retryable error.
    public static func retryable(_ message: String) -> SinkError { SinkError(.retryable, message) }
    /// A permanent error: `reason` goes to the dead-letter header.
    public static func permanent(_ reason: String) -> SinkError { SinkError(.permanent, reason) }

    /// Every message of the batch was stored except `refused` (index in the batch → reason).
    public static func partial(_ refused: [Int: String], _ summary: String) -> SinkError {
        var e = SinkError(.partial, summary)
        e.refused = refused
        return e
    }

    /// A configuration error naming the key, the value found and what was expected.
    public static func config(key: String, value: String?, expected: String) -> SinkError {
        let shown = value.map { "\"\($0)\"" } ?? "(missing)"
        return SinkError(.config, "\(key)=\(shown): expected \(expected)", key: key)
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
