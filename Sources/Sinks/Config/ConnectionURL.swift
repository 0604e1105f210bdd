/// A server URL split into its parts (RFC 3986 section 3):
/// `scheme://[user[:password]@]host[:port][/path][?query]`, as used by
/// `postgres://`, `amqp://` and `http://` addresses. User and password are
/// percent-decoded.
///
/// ```swift
/// let u = try ConnectionURL("postgres://postgres@127.0.0.1:5432/clowder_test", key: "CLOWDER_SINK_POSTGRES_URL")
/// // u.host == "127.0.0.1", u.port == 5432, u.path == "clowder_test"
/// ```
public struct ConnectionURL: Sendable, Hashable {
    /// Lower-case scheme, e.g. `postgres`.
    public var scheme: String
    /// User name, empty when absent.
    public var user: String
    /// Password, `nil` when absent.
    public var password: String?
    /// Host name or address (brackets of an IPv6 literal removed).
    public var host: String
    /// Port, `nil` when absent.
    public var port: Int?
    /// The path without its leading `/`, percent-decoded (a database or a vhost).
    public var path: String
    /// Query parameters in order, percent-decoded.
    public var query: [(String, String)]

    public static func == (a: ConnectionURL, b: ConnectionURL) -> Bool {
        a.scheme == b.scheme && a.user == b.user && a.password == b.password && a.host == b.host && a.port == b.port
            && a.path == b.path && a.query.elementsEqual(b.query, by: { $0 == $1 })
    }

    public func hash(into h: inout Hasher) {
        h.combine(scheme)
        h.combine(host)
        h.combine(port)
        h.combine(path)
    }

    /// The value of a query parameter.
    public func parameter(_ name: String) -> String? { query.first { $0.0 == name }?.1 }

    /// Parses `text`.
    /// - Parameters:
    ///   - text: the URL.
    ///   - key: the configuration key it came from, for the error.
    ///   - schemes: accepted schemes.
    /// - Throws: ``SinkError`` (config) naming the key, the value and the expected form.
    public init(_ text: String, key: String, schemes: [String]) throws {
        let expected = "a URL like \(schemes[0])://user:password@host:port/path"
        guard let sep = text.firstRange(of: "://") else { throw SinkError.config(key: key, value: text, expected: expected) }
        scheme = text[..<sep.lowerBound].lowercased()
        guard schemes.contains(scheme) else {
            throw SinkError.config(key: key, value: text, expected: "a URL with scheme \(schemes.joined(separator: " or "))")
        }
        var rest = Substring(text[sep.upperBound...])
        var queryText = Substring("")
        if let q = rest.firstIndex(of: "?") {
            queryText = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var authority = rest
        var pathText = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            pathText = rest[rest.index(after: slash)...]
        }
        user = ""
        password = nil
        if let at = authority.lastIndex(of: "@") {
            let info = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                user = Self.percentDecoded(info[..<colon])
                password = Self.percentDecoded(info[info.index(after: colon)...])
            } else {
                user = Self.percentDecoded(info)
            }
        }
        port = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw SinkError.config(key: key, value: text, expected: expected)
            }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()) ?? -1 }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = Int(authority[authority.index(after: colon)...]) ?? -1
        } else {
            host = String(authority)
        }
        guard !host.isEmpty else { throw SinkError.config(key: key, value: text, expected: "\(expected) (host is empty)") }
        if let p = port, !(1...65535).contains(p) {
            throw SinkError.config(key: key, value: text, expected: "\(expected) (port 1-65535)")
        }
        path = Self.percentDecoded(pathText)
        query = queryText.split(separator: "&").map { pair in
            if let eq = pair.firstIndex(of: "=") {
                return (Self.percentDecoded(pair[..<eq]), Self.percentDecoded(pair[pair.index(after: eq)...]))
            }
            return (Self.percentDecoded(pair), "")
        }
    }

    /// Decodes `%HH` escapes (and leaves malformed ones as they are).
    static func percentDecoded(_ s: Substring) -> String {
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }
}
