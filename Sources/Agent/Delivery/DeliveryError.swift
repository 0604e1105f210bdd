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

    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - message: the context: file, key, SQL or library message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "delivery \(code.rawValue) error: \(message)" }
}
