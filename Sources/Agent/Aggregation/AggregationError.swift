/// The error of the aggregation stage: a code and a message naming the setting or the snapshot
/// byte at fault.
public struct AggregationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure.
    public enum Code: String, Sendable {
        /// A configuration value out of range (window, lateness) or a format without a time variable.
        case configuration
        /// A snapshot that is truncated, of another version, or made with another window/lateness.
        case snapshot
        /// A log file that cannot be opened or read (the message names the path and the system error).
        case file
    }

    /// What kind of failure.
    public var code: Code
    /// What is wrong, with the key or offset.
    public var message: String
    /// The configuration key or snapshot part at fault, when there is one.
    public var key: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, key: String? = nil) {
        self.code = code
        self.message = message
        self.key = key
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
