/// How NGINX escapes variable values in a `log_format` (`escape=` parameter, ngx_http_log_module).
public enum LogEscape: String, Sendable, CaseIterable {
    /// `"`, `\` and bytes below 0x20 or above 0x7E are written as `\xHH` (NGINX's default).
    case `default`
    /// JSON string escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f` and `\u00HH` for other control bytes.
    case json
    /// Nothing is escaped.
    case none
}

/// An NGINX `log_format`: literal text and `$variables`, with its escaping mode.
///
/// Source: NGINX docs, ngx_http_log_module, directive `log_format`
/// (`log_format name [escape=default|json|none] string ...;`). Variables are written `$name` or
/// `${name}`, where a name is made of ASCII letters, digits and `_`.
///
/// ```swift
/// let f = try LogFormat.resolve("combined")
/// let g = try LogFormat(string: #"$remote_addr [$time_local] "$request" $status"#)
/// ```
public struct LogFormat: Sendable, Hashable {
    /// One piece of a format.
    public enum Element: Sendable, Hashable {
        /// Bytes written as they are.
        case literal([UInt8])
        /// A variable name without `$` (e.g. `remote_addr`).
        case variable(String)
    }

    /// The format's name when it came from a `log_format` directive or is predefined (`combined`).
    public var name: String?
    /// The escaping NGINX applies to variable values.
    public var escape: LogEscape
    /// The format string as written (parts of a multi-part directive joined).
    public var string: String
    /// The pieces, adjacent literals merged.
    public var elements: [Element]

    /// NGINX's predefined `combined` format (ngx_http_log_module).
    public static let combinedString =
        #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#

    /// The predefined `combined` format.
    public static var combined: LogFormat {
        // The literal is valid by construction.
        try! LogFormat(string: combinedString, escape: .default, name: "combined")
    }

    /// Clowder Metrics' recommended format (`deploy/nginx/clowder_metrics.conf`): `combined` plus
    /// `$request_time $upstream_response_time $connection $connection_requests $request_length`
    /// (`$request_length` gives `upload_bytes`; it is `gen-clowder-log --format clowder_rl`).
    public static let clowderMetricsString =
        combinedString + " $request_time $upstream_response_time $connection $connection_requests $request_length"

    /// The recommended format, by the name `clowder_metrics`.
    public static var clowderMetrics: LogFormat {
        try! LogFormat(string: clowderMetricsString, escape: .default, name: "clowder_metrics")
    }

    /// Reads a format string.
    /// - Parameters:
    ///   - string: the format text, e.g. `$remote_addr - [$time_local] "$request"`.
    ///   - escape: the `escape=` mode of the directive (default `.default`).
    ///   - name: the directive's name, if any.
    /// - Throws: ``ParserError`` `.format` for an empty format, a lone `$`, or an unterminated `${`.
    public init(string: String, escape: LogEscape = .default, name: String? = nil) throws {
        self.name = name
        self.escape = escape
        self.string = string
        var elements: [Element] = []
        var literal: [UInt8] = []
        let b = Array(string.utf8)
        var i = 0
        func isNameByte(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
        }
        while i < b.count {
            let c = b[i]
            guard c == UInt8(ascii: "$") else {
                literal.append(c)
                i += 1
                continue
            }
            var j = i + 1
            var varName: [UInt8] = []
            if j < b.count, b[j] == UInt8(ascii: "{") {
                j += 1
                while j < b.count, b[j] != UInt8(ascii: "}") { varName.append(b[j]); j += 1 }
                guard j < b.count, !varName.isEmpty, varName.allSatisfy(isNameByte) else {
                    throw ParserError(.format, "unterminated or invalid ${…} at offset \(i) in format \"\(string)\"",
                                      key: name)
                }
                j += 1
            } else {
                while j < b.count, isNameByte(b[j]) { varName.append(b[j]); j += 1 }
                guard !varName.isEmpty else {
                    throw ParserError(.format, "a '$' without a variable name at offset \(i) in format \"\(string)\"",
                                      key: name)
                }
            }
            if !literal.isEmpty { elements.append(.literal(literal)); literal = [] }
            elements.append(.variable(String(decoding: varName, as: UTF8.self)))
            i = j
        }
        if !literal.isEmpty { elements.append(.literal(literal)) }
        guard !elements.isEmpty else { throw ParserError(.format, "empty log_format", key: name) }
        self.elements = elements
    }

    /// The variable names in order of appearance (without `$`).
    public var variables: [String] {
        elements.compactMap { if case .variable(let v) = $0 { v } else { nil } }
    }

    /// A format given on a command line or in configuration: a name defined in `formats` (e.g.
    /// read from `nginx -T`), `combined`, `clowder_metrics`, a name of ``namedFormats``
    /// (`combined_xff`, `combined_host`, `ingress_nginx`, `traefik_clf`, `traefik_json`), or else a format string.
    /// - Throws: ``ParserError`` `.format` when `text` looks like a name (no `$`) but is not known.
    public static func resolve(_ text: String, formats: [String: LogFormat] = [:]) throws -> LogFormat {
        if let f = formats[text] { return f }
        if text == "combined" { return .combined }
        if text == "clowder_metrics" { return .clowderMetrics }
        if let f = named(text) { return f }
        guard text.contains("$") else {
            let known = (["combined", "clowder_metrics"] + namedFormats.keys.sorted()
                + formats.keys.sorted().filter { $0 != "clowder_metrics" && namedFormats[$0] == nil })
                .joined(separator: ", ")
            throw ParserError(.format, "unknown log_format name \"\(text)\" (known: \(known); or give a format string with $variables)",
                              key: text)
        }
        return try LogFormat(string: text)
    }
}
