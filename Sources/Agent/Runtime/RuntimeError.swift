import SystemSupport

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
    /// What happened, the wrapped error's text included (what an operator reads).
    public var message: String
    /// The error this one wraps (a ``DeliveryError``, a ``LogTailError``, …), kept typed for a
    /// caller that branches on it; nil when the failure is the agent's own finding.
    public var underlying: (any Error)?

    /// - Parameters:
    ///   - code: which part failed.
    ///   - message: what happened; with `underlying`, the context before `: <underlying>`.
    ///   - underlying: the error being wrapped, if any.
    public init(_ code: Code, _ message: String = "", underlying: (any Error)? = nil) {
        self.code = code
        self.underlying = underlying
        self.message = wrappedMessage(message, underlying: underlying)
    }

    public var description: String { message }
}
