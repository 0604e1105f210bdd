import SystemSupport

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

    /// What caused it (the de-duplication or journal store's `SQLiteError`, a keys file's
    /// `FileContents.Failure`), kept typed; the message already carries its text.
    public var underlying: (any Error)?

    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - message: what went wrong; followed by `: <cause>` when `underlying` is given.
    ///   - underlying: the cause.
    public init(_ code: Code, _ message: String = "", underlying: (any Error)? = nil) {
        self.code = code
        self.underlying = underlying
        self.message = wrappedMessage(message, underlying: underlying)
    }

    /// Equal when code and message are (the wrapped error's text is part of the message).
    public static func == (a: IngestError, b: IngestError) -> Bool { a.code == b.code && a.message == b.message }

    public var description: String { "\(code.rawValue): \(message)" }
}
