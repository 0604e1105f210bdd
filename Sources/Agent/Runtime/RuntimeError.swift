/// Why the agent cannot start or go on: the component and what to fix.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    /// Which part failed.
    public enum Code: String, Sendable {
        /// The log format cannot be compiled or found.
        case logFormat
        /// An access log path cannot be read.
        case accessLog
        /// The spool or state database cannot be opened.
        case spool
        /// The JSON-lines output cannot be written.
        case output
        /// A probe cannot be set up (e.g. its credentials file cannot be read).
        case probe
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
