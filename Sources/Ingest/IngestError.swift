/// The one error type of `Ingest`: a code and the context a person needs
/// (the configuration key and value, the keys file and line, …).
public struct IngestError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure.
    public enum Code: String, Sendable {
        /// A configuration value is missing or malformed (`key`, `value` and what is expected in the message).
        case configuration
        /// The keys file is unreadable or has a malformed line (`file:line`).
        case keysFile
        /// A local SQLite store (de-duplication, journal) failed.
        case storage
        /// The body could not be decompressed.
        case encoding
    }

    /// What kind of failure.
    public var code: Code
    /// What went wrong, naming the key, file, line or value.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
