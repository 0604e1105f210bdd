/// A configuration the agent refuses to start with: which key, which value,
/// where it came from and what is expected instead.
///
/// ```
/// /etc/clowder-metrics/agent.env:12: CLOWDER_METRICS_WINDOW="1m": expected a whole number of seconds from 1 to 3600, e.g. 60
/// ```
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Code: String, Sendable {
        /// The settings file cannot be read.
        case unreadableFile
        /// A line of the settings file is not `KEY=value` (or `key: value` in YAML).
        case syntax
        /// A `CLOWDER_METRICS_` key that the agent does not know (a typo?).
        case unknownKey
        /// A value that does not have the expected form or range.
        case invalidValue
        /// A required key is missing, or keys that must go together do not.
        case missingKey
    }

    public var code: Code
    /// The key at fault, if any.
    public var key: String?
    /// The value at fault, as written.
    public var value: String?
    /// Where the value came from: `FILE:LINE`, `the environment`, or the file alone.
    public var source: String?
    /// What is expected, or what to fix.
    public var expected: String

    public init(_ code: Code, key: String? = nil, value: String? = nil, source: String? = nil, expected: String) {
        self.code = code
        self.key = key
        self.value = value
        self.source = source
        self.expected = expected
    }

    public var description: String {
        var s = ""
        if let source { s += "\(source): " }
        if let key {
            s += key
            if let value { s += "=\"\(value)\"" }
            s += ": "
        }
        return s + expected
    }
}
