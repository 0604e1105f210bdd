/// The logging directives found in NGINX configuration text, such as the output of `nginx -T`
/// (every configuration file concatenated, each after a `# configuration file …:` comment).
///
/// Reads the configuration grammar of NGINX's `ngx_conf_read_token`: words separated by
/// blanks, `"…"` and `'…'` quoting with `\"`, `\'`, `\\`, `\t`, `\r`, `\n` escapes, `#` comments,
/// directives ended by `;`, blocks in `{ }`. A `log_format` directive may span lines and
/// concatenate several quoted parts (NGINX joins them with nothing in between).
///
/// ```swift
/// let config = try NginxConfig(text: output, file: "nginx-T.txt")
/// let format = try config.selectFormat(name: nil)   // the format access_log uses
/// ```
public struct NginxConfig: Sendable {
    /// One `access_log` directive.
    public struct AccessLog: Sendable, Hashable {
        /// The log path (or `syslog:…`).
        public var path: String
        /// The format name it writes (`combined` when not given).
        public var formatName: String
        /// 1-based line of the directive in the text.
        public var line: Int

        /// Creates a description of an `access_log` directive.
        public init(path: String, formatName: String, line: Int) {
            self.path = path
            self.formatName = formatName
            self.line = line
        }
    }

    /// Every `log_format`, by name, in the order defined (later definitions replace earlier ones).
    public private(set) var logFormats: [String: LogFormat] = [:]
    /// The names of ``logFormats`` in order of definition.
    public private(set) var logFormatNames: [String] = []
    /// Every `access_log` directive that is not `off`.
    public private(set) var accessLogs: [AccessLog] = []
    /// Every `access_log` directive as written (its words after `access_log`, `off` included), for
    /// ``NginxLogDiscovery``.
    public private(set) var accessLogDirectives: [(words: [String], line: Int)] = []
    /// The files `nginx -T` says it read (its `# configuration file PATH:` comments), in order.
    public private(set) var configurationFiles: [String] = []
    /// The names of every `server_name` directive, in order, without repeats (exact, `*.`/`.`
    /// wildcards and `~regex` names as written; ngx_http_core_module, `server_name`).
    public private(set) var serverNames: [String] = []
    /// The file the text came from, for error messages.
    public var file: String?

    /// Reads configuration text.
    /// - Parameters:
    ///   - text: `nginx -T` output or an `nginx.conf`.
    ///   - file: where it came from (used in errors).
    /// - Throws: ``ParserError`` `.config` (unterminated quote or directive) or `.format` (a bad
    ///   `log_format` string), with the file and line.
    public init(text: String, file: String? = nil) throws {
        self.file = file
        var tokenizer = Tokenizer(bytes: Array(text.utf8), file: file)
        configurationFiles = Self.configurationFilesListed(in: text)
        while let directive = try tokenizer.nextDirective() {
            guard let head = directive.words.first else { continue }
            switch head {
            case "log_format":
                guard directive.words.count >= 3 else {
                    throw ParserError(.config, "log_format needs a name and a format string", file: file,
                                      line: directive.line, key: "log_format")
                }
                let name = directive.words[1]
                var rest = directive.words[2...]
                var escape = LogEscape.default
                if let first = rest.first, first.hasPrefix("escape=") {
                    let value = String(first.dropFirst("escape=".count))
                    guard let e = LogEscape(rawValue: value) else {
                        throw ParserError(.config, "log_format \(name): escape=\(value) is not one of default, json, none",
                                          file: file, line: directive.line, key: name)
                    }
                    escape = e
                    rest = rest.dropFirst()
                }
                guard !rest.isEmpty else {
                    throw ParserError(.config, "log_format \(name) has no format string", file: file,
                                      line: directive.line, key: name)
                }
                do {
                    let format = try LogFormat(string: rest.joined(), escape: escape, name: name)
                    if logFormats[name] == nil { logFormatNames.append(name) }
                    logFormats[name] = format
                } catch var e as ParserError {
                    e.file = file
                    e.line = directive.line
                    throw e
                }
            case "server_name":
                for name in directive.words.dropFirst() where !serverNames.contains(name) { serverNames.append(name) }
            case "access_log":
                guard directive.words.count >= 2 else { continue }
                accessLogDirectives.append((Array(directive.words.dropFirst()), directive.line))
                let path = directive.words[1]
                if path == "off" { continue }
                var formatName = "combined"
                if directive.words.count >= 3, !directive.words[2].contains("=") { formatName = directive.words[2] }
                accessLogs.append(AccessLog(path: path, formatName: formatName, line: directive.line))
            default:
                continue
            }
        }
    }

    /// Picks the format to parse with.
    ///
    /// With `name`, that format (`combined` is always known). Without: the format the
    /// `access_log` directives write, if they all write the same one; else, when no `access_log`
    /// is given, the only custom `log_format` (or `combined` when there is none).
    /// - Throws: ``ParserError`` `.config` when `name` is unknown, or when the choice is ambiguous
    ///   (the message lists the candidates: pass one as `name`).
    public func selectFormat(name: String?) throws -> LogFormat {
        if let name {
            if let f = logFormats[name] { return f }
            if name == "combined" { return .combined }
            throw ParserError(.config, "no log_format named \"\(name)\" (defined: \(candidates))", file: file, key: name)
        }
        let used = accessLogs.map(\.formatName).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        if used.count == 1 {
            let n = used[0]
            if let f = logFormats[n] { return f }
            if n == "combined" { return .combined }
            let line = accessLogs.first?.line
            throw ParserError(.config, "access_log uses log_format \"\(n)\", which is not defined", file: file,
                              line: line, key: n)
        }
        if used.count > 1 {
            throw ParserError(.config, "access_log directives use several formats (\(used.joined(separator: ", "))): choose one with --log-format NAME",
                              file: file)
        }
        if logFormatNames.count == 1 { return logFormats[logFormatNames[0]]! }
        if logFormatNames.isEmpty { return .combined }
        throw ParserError(.config, "several log_format directives and no access_log (\(candidates)): choose one with --log-format NAME",
                          file: file)
    }

    /// The paths of `nginx -T`'s `# configuration file PATH:` lines.
    public static func configurationFilesListed(in text: String) -> [String] {
        let marker = "# configuration file "
        var files: [String] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.drop(while: { $0 == " " || $0 == "\t" })
            guard line.hasPrefix(marker) else { continue }
            var path = line.dropFirst(marker.count)
            if path.hasSuffix(":") { path = path.dropLast() }
            if !path.isEmpty, !files.contains(String(path)) { files.append(String(path)) }
        }
        return files
    }

    private var candidates: String { (["combined"] + logFormatNames).joined(separator: ", ") }
}

/// NGINX configuration tokenizer (after ngx_conf_file.c `ngx_conf_read_token`).
private struct Tokenizer {
    struct Directive {
        var words: [String]
        var line: Int
    }

    let bytes: [UInt8]
    let file: String?
    var i = 0
    var line = 1

    init(bytes: [UInt8], file: String?) {
        self.bytes = bytes
        self.file = file
    }

    /// The next directive (words up to `;`), skipping block braces; `nil` at the end.
    mutating func nextDirective() throws -> Directive? {
        var words: [String] = []
        var startLine = line
        while true {
            skipBlanksAndComments()
            guard i < bytes.count else {
                if !words.isEmpty {
                    throw ParserError(.config, "directive \"\(words[0])\" is not terminated by \";\"", file: file,
                                      line: startLine, key: words[0])
                }
                return nil
            }
            let c = bytes[i]
            if c == UInt8(ascii: ";") {
                i += 1
                if words.isEmpty { continue }
                return Directive(words: words, line: startLine)
            }
            if c == UInt8(ascii: "{") || c == UInt8(ascii: "}") {
                i += 1
                // A block opener ends the words of its directive (e.g. `http {`); they are not logging directives.
                words = []
                continue
            }
            if words.isEmpty { startLine = line }
            words.append(try word())
        }
    }

    mutating func skipBlanksAndComments() {
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\n") { line += 1; i += 1 }
            else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") { i += 1 }
            else if c == UInt8(ascii: "#") {
                while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
            } else { return }
        }
    }

    mutating func word() throws -> String {
        var out: [UInt8] = []
        let c = bytes[i]
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
            let quote = c
            let startLine = line
            i += 1
            while true {
                guard i < bytes.count else {
                    throw ParserError(.config, "unterminated \(quote == UInt8(ascii: "\"") ? "double" : "single")-quoted string",
                                      file: file, line: startLine)
                }
                let d = bytes[i]
                if d == quote { i += 1; break }
                if d == UInt8(ascii: "\\"), i + 1 < bytes.count {
                    let e = bytes[i + 1]
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"): out.append(e)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    default: out.append(d); out.append(e)
                    }
                    if e == UInt8(ascii: "\n") { line += 1 }
                    i += 2
                    continue
                }
                if d == UInt8(ascii: "\n") { line += 1 }
                out.append(d)
                i += 1
            }
            return String(decoding: out, as: UTF8.self)
        }
        while i < bytes.count {
            let d = bytes[i]
            if d == UInt8(ascii: "{"), out.last == UInt8(ascii: "$") {
                // `${name}` inside an unquoted word is a variable, not a block.
                while i < bytes.count, bytes[i] != UInt8(ascii: "}") { out.append(bytes[i]); i += 1 }
                if i < bytes.count { out.append(bytes[i]); i += 1 }
                continue
            }
            if d == UInt8(ascii: " ") || d == UInt8(ascii: "\t") || d == UInt8(ascii: "\r") || d == UInt8(ascii: "\n")
                || d == UInt8(ascii: ";") || d == UInt8(ascii: "{") || d == UInt8(ascii: "}")
            {
                break
            }
            if d == UInt8(ascii: "\\"), i + 1 < bytes.count {
                out.append(bytes[i + 1])
                i += 2
                continue
            }
            out.append(d)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
