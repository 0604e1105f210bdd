/// Which access logs an NGINX configuration writes, and in which format: what the agent tails
/// with `CLOWDER_METRICS_NGINX_CONFIG` and what `parse --nginx-config` picks a format from.
///
/// Reads every `access_log` directive (ngx_http_log_module:
/// `access_log path [format [buffer=size] [gzip[=level]] [flush=time] [if=condition]]; access_log off;`)
/// and sorts it into what it is:
/// - a file: tailed with the format it names (`combined` when none is given);
/// - a path with variables (`/var/log/nginx/$host.log`): NGINX opens one file per value, so the
///   path is tailed as a glob with each variable replaced by `*`;
/// - `if=condition`: tailed, but NGINX writes only the requests for which the condition is
///   neither empty nor `0`, so the counts cover those requests only (reported);
/// - `off`, `syslog:` targets, `/dev/stdout`-style streams and relative paths (relative to
///   NGINX's `--prefix`, which the output of `nginx -T` does not say): not tailed (reported);
/// - a format name that no `log_format` defines: not tailed (reported).
///
/// Several directives that write one file with one format are one log; one file written in two
/// formats is reported and tailed with the format of the first directive.
///
/// ```swift
/// let discovery = NginxLogDiscovery(config: try NginxConfig(text: output, file: "nginx -T"))
/// for log in discovery.logs { print(log.path, log.format.name ?? "") }
/// for finding in discovery.findings { print(finding) }
/// ```
public struct NginxLogDiscovery: Sendable {
    /// An access log to tail.
    public struct Log: Sendable, Hashable {
        /// The file, or a glob (`*` for each variable of the directive's path).
        public var path: String
        /// The format the file is written in.
        public var format: LogFormat
        /// The lines of the directives that write it.
        public var lines: [Int]
        /// The `if=` conditions of those directives (empty: every request is logged).
        public var conditions: [String]
        /// Whether ``path`` is a glob made from a path with variables.
        public var isGlob: Bool
    }

    /// One directive and what the agent does with it.
    public struct Finding: Sendable, Hashable, CustomStringConvertible {
        /// What the directive is.
        public enum Kind: String, Sendable {
            /// A file, tailed.
            case file
            /// A path with variables, tailed as a glob.
            case variablePath = "variables in path"
            /// A file with `if=`: tailed, but only the requests the condition selects are logged.
            case conditional = "if= condition"
            /// `access_log off`.
            case off
            /// `syslog:server=…`: NGINX sends these lines over the network, there is no file.
            case syslog
            /// A stream such as `/dev/stdout`: nothing to tail on this host.
            case stream
            /// A relative path (relative to NGINX's `--prefix`).
            case relative = "relative path"
            /// The directive names a `log_format` that is not defined.
            case undefinedFormat = "undefined log_format"
            /// The same file is written in two formats.
            case conflictingFormats = "two formats into one file"
        }

        /// What it is.
        public var kind: Kind
        /// The path as written (or `off`).
        public var path: String
        /// The format name the directive gives (`combined` when none).
        public var formatName: String
        /// 1-based line in the configuration text.
        public var line: Int
        /// Whether the agent tails it.
        public var tailed: Bool
        /// One sentence for the operator.
        public var detail: String

        public var description: String {
            "line \(line): access_log \(path) \(formatName): \(kind.rawValue): \(detail)"
        }
    }

    /// The logs to tail, in the order of their first directive.
    public private(set) var logs: [Log] = []
    /// Every `access_log` directive and what became of it, in order.
    public private(set) var findings: [Finding] = []

    /// Sorts the `access_log` directives of `config`.
    public init(config: NginxConfig) {
        var byPath: [String: Int] = [:]
        for (words, line) in config.accessLogDirectives {
            let path = words[0]
            var formatName = "combined"
            var condition: String?
            for (i, w) in words.enumerated().dropFirst() {
                if w.hasPrefix("if=") { condition = String(w.dropFirst(3)) }
                else if i == 1, !w.contains("=") { formatName = w }
            }
            func report(_ kind: Finding.Kind, tailed: Bool, _ detail: String) {
                findings.append(Finding(kind: kind, path: path, formatName: formatName, line: line, tailed: tailed,
                                        detail: detail))
            }
            if path == "off" {
                report(.off, tailed: false, "logging is off in this context: nothing to tail")
                continue
            }
            if path.hasPrefix("syslog:") {
                report(.syslog, tailed: false, "NGINX sends these lines to syslog, not to a file: not tailed (tail the file syslog writes instead)")
                continue
            }
            if path.hasPrefix("/dev/") || path.hasPrefix("/proc/") {
                report(.stream, tailed: false, "a stream, not a file: not tailed")
                continue
            }
            if !path.hasPrefix("/") {
                report(.relative, tailed: false, "relative to NGINX's --prefix (see `nginx -V`), which nginx -T does not print: not tailed; write an absolute path")
                continue
            }
            guard let format = config.logFormats[formatName] ?? (formatName == "combined" ? LogFormat.combined : nil) else {
                report(.undefinedFormat, tailed: false, "no log_format \(formatName) is defined: not tailed")
                continue
            }
            let glob = Self.glob(path)
            let target = glob ?? path
            if let i = byPath[target] {
                if logs[i].format.string != format.string || logs[i].format.escape != format.escape {
                    report(.conflictingFormats, tailed: true,
                           "\(target) is also written in format \(logs[i].format.name ?? "?") (line \(logs[i].lines[0])): lines of one format will count as malformed; tailed with \(logs[i].format.name ?? "?")")
                    continue
                }
                logs[i].lines.append(line)
                if let condition { logs[i].conditions.append(condition) }
            } else {
                byPath[target] = logs.count
                logs.append(Log(path: target, format: format, lines: [line], conditions: condition.map { [$0] } ?? [],
                                isGlob: glob != nil))
            }
            if let glob {
                report(.variablePath, tailed: true, "NGINX opens one file per value: tailed as the glob \(glob)")
            } else if let condition {
                report(.conditional, tailed: true, "tailed; NGINX writes only requests where \(condition) is neither empty nor 0, so the counts cover those requests only")
            } else {
                report(.file, tailed: true, "tailed with log_format \(formatName)")
            }
        }
    }

    /// The glob for a path with variables (`$name` or `${name}` → `*`), or nil when it has none.
    static func glob(_ path: String) -> String? {
        guard path.contains("$") else { return nil }
        var out = ""
        var i = path.startIndex
        while i < path.endIndex {
            let c = path[i]
            guard c == "$" else { out.append(c); i = path.index(after: i); continue }
            var j = path.index(after: i)
            if j < path.endIndex, path[j] == "{" {
                while j < path.endIndex, path[j] != "}" { j = path.index(after: j) }
                if j < path.endIndex { j = path.index(after: j) }
            } else {
                while j < path.endIndex, path[j].isASCII, path[j].isLetter || path[j].isNumber || path[j] == "_" {
                    j = path.index(after: j)
                }
            }
            if !out.hasSuffix("*") { out.append("*") }
            i = j
        }
        return out
    }

    /// The log that writes `file`: the same path, a glob that matches it, or a rotated copy of
    /// either (`access.log.1`, `access.log.2.gz`, `access.log-20261201`). Nil when none does.
    public func log(for file: String) -> Log? {
        for candidate in Self.unrotated(file) {
            if let l = logs.first(where: { !$0.isGlob && $0.path == candidate }) { return l }
            if let l = logs.first(where: { $0.isGlob && Self.matches(glob: $0.path, candidate) }) { return l }
        }
        return nil
    }

    /// `file`, then `file` without a rotation suffix (`.gz`, then `.N` or `-YYYYMMDD`).
    static func unrotated(_ file: String) -> [String] {
        var out = [file]
        var base = Substring(file)
        if base.hasSuffix(".gz") { base = base.dropLast(3); out.append(String(base)) }
        if let dot = base.lastIndex(where: { $0 == "." || $0 == "-" }) {
            let tail = base[base.index(after: dot)...]
            if !tail.isEmpty, tail.allSatisfy({ $0.isASCII && $0.isNumber }) { out.append(String(base[..<dot])) }
        }
        return out
    }

    /// Whether `name` matches `glob`, where `*` matches any run of characters (including `/`,
    /// since an NGINX variable's value may hold one).
    static func matches(glob: String, _ name: String) -> Bool {
        let g = Array(glob.utf8), n = Array(name.utf8)
        var gi = 0, ni = 0, star = -1, mark = 0
        while ni < n.count {
            if gi < g.count, g[gi] == UInt8(ascii: "*") { star = gi; mark = ni; gi += 1 }
            else if gi < g.count, g[gi] == n[ni] { gi += 1; ni += 1 }
            else if star >= 0 { gi = star + 1; mark += 1; ni = mark }
            else { return false }
        }
        while gi < g.count, g[gi] == UInt8(ascii: "*") { gi += 1 }
        return gi == g.count
    }
}
