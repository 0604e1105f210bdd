/// The one error type of `Parsers`: a code plus the context a person needs to fix the input
/// (the format or file at fault, a line number, the offending key or variable).
///
/// ```swift
/// do { _ = try LogFormat(string: "$remote_addr [$time_local") }
/// catch let e as ParserError { print(e) }   // "format: …"
/// ```
public struct ParserError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure.
    public enum Code: String, Sendable {
        /// A `log_format` string that cannot be compiled (unknown name, bad variable syntax, no time variable, …).
        case format
        /// `nginx -T` text that cannot be read (unterminated quote, missing `;`, unknown or ambiguous format).
        case config
        /// PCRE2 refused the generated pattern (an internal error: the message holds PCRE2's text and offset).
        case pattern
    }

    /// What kind of failure.
    public var code: Code
    /// What is wrong, naming the variable, directive or name at fault.
    public var message: String
    /// The file the input came from, when known (e.g. the `--nginx-config` path).
    public var file: String?
    /// The 1-based line in ``file`` (or in the text given), when known.
    public var line: Int?
    /// The offending key: a format name, variable name or directive.
    public var key: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, file: String? = nil, line: Int? = nil, key: String? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.key = key
    }

    /// `code: [file:line: ]message`.
    public var description: String {
        var where_ = ""
        if let file { where_ = file + (line.map { ":\($0)" } ?? "") + ": " } else if let line { where_ = "line \(line): " }
        return "\(code.rawValue): \(where_)\(message)"
    }
}
