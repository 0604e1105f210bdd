import SystemSupport

/// The error of the delivery stage (batching, spool, forwarding): a code and
/// the context a person needs (the file, the URL, the SQL or zlib detail).
public struct DeliveryError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What failed.
    public enum Code: String, Sendable {
        /// A configuration value that cannot be used (e.g. an empty API key file).
        case configuration
        /// The spool database (SQLite) failed.
        case spool
        /// zlib failed to compress or decompress.
        case compression
        /// libcurl could not be set up.
        case http
    }

    /// What failed.
    public var code: Code
    /// What happened, naming the file, key or call.
    public var message: String

    /// The wrapped cause (an `SQLiteError` of the spool, a `Gzip.Failure`, a `CurlFailure`), kept
    /// typed; its text is already in ``message``.
    public var underlying: (any Error)?

    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - message: the context (file, key, SQL); with `underlying`, what comes before `: <cause>`.
    ///   - underlying: the cause, if any.
    public init(_ code: Code, _ message: String = "", underlying: (any Error)? = nil) {
        self.code = code
        self.underlying = underlying
        self.message = wrappedMessage(message, underlying: underlying)
    }

    /// Same code, same message (the cause's text is in the message).
    public static func == (a: DeliveryError, b: DeliveryError) -> Bool { a.code == b.code && a.message == b.message }

    public var description: String { "delivery \(code.rawValue) error: \(message)" }
}
