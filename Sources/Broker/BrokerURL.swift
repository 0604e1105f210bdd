/// Where the broker is and how to log in: the parsed form of an AMQP URI
/// (RabbitMQ's URI spec, https://www.rabbitmq.com/docs/uri-spec):
/// `amqp://user:password@host:port/vhost`.
///
/// Defaults: user and password `guest`, port 5672, virtual host `/`. The
/// virtual host is the percent-decoded path after the first `/`
/// (`amqp://h/%2F` and `amqp://h` both mean `/`). `amqps` (TLS) is not supported.
///
/// ```swift
/// let url = try BrokerURL("amqp://guest:guest@127.0.0.1:5672/")
/// ```
public struct BrokerURL: Sendable, Hashable, CustomStringConvertible {
    /// Host name or address.
    public var host: String
    /// TCP port.
    public var port: Int
    /// User name (SASL PLAIN).
    public var user: String
    /// Password (SASL PLAIN).
    public var password: String
    /// Virtual host.
    public var virtualHost: String

    public init(host: String, port: Int = 5672, user: String = "guest", password: String = "guest", virtualHost: String = "/") {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.virtualHost = virtualHost
    }

    /// Parses an `amqp://` URI.
    /// - Throws: ``BrokerError`` with code `invalidURL` naming what is wrong.
    public init(_ text: String) throws {
        guard text.hasPrefix("amqp://") else {
            throw BrokerError(.invalidURL, "'\(Self.redacted(text))' must start with amqp:// (amqps is not supported)")
        }
        var rest = Substring(text.dropFirst("amqp://".count))
        var vhost = "/"
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty { vhost = try Self.percentDecoded(path, whole: text) }
            rest = rest[..<slash]
        }
        var user = "guest", password = "guest"
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.percentDecoded(userInfo[..<colon], whole: text)
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], whole: text)
            } else {
                user = try Self.percentDecoded(userInfo, whole: text)
            }
        }
        var host = String(rest), port = 5672
        if host.hasPrefix("[") {  // IPv6 literal
            guard let close = host.firstIndex(of: "]") else { throw BrokerError(.invalidURL, "unclosed '[' in host of \(Self.redacted(text))") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    throw BrokerError(.invalidURL, "port of \(Self.redacted(text)) must be 1-65535")
                }
                port = p
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                throw BrokerError(.invalidURL, "port of \(Self.redacted(text)) must be 1-65535")
            }
            port = p
            host = String(host[..<colon])
        }
        if host.isEmpty { host = "localhost" }
        self.init(host: host, port: port, user: user, password: password, virtualHost: vhost)
    }

    /// The URI with the password replaced by `***`, for logs and errors.
    public var description: String {
        let v = virtualHost == "/" ? "" : virtualHost
        return "amqp://\(user):***@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(v)"
    }

    /// Parses a comma-separated list of `amqp://` URIs, the nodes of one RabbitMQ cluster
    /// (e.g. `amqp://u:p@rabbit1:5672/,amqp://u:p@rabbit2:5672/`), in the order they are tried.
    /// Spaces around each entry are ignored; a comma inside a password or virtual host is written `%2C`.
    /// - Returns: one URL or more.
    /// - Throws: ``BrokerError`` `invalidURL` naming the entry (1-based) at fault, or when the list is empty.
    public static func list(_ text: String) throws -> [BrokerURL] {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
        guard entries.contains(where: { !$0.isEmpty }) else {
            throw BrokerError(.invalidURL, "no broker URL given: expected amqp://user:password@host:port/vhost, or several separated by commas")
        }
        return try entries.enumerated().map { i, entry in
            guard !entry.isEmpty else { throw BrokerError(.invalidURL, "entry \(i + 1) of the broker URL list is empty") }
            do { return try BrokerURL(entry) } catch let e as BrokerError where entries.count > 1 {
                throw BrokerError(.invalidURL, "entry \(i + 1) of the broker URL list: \(e.message)")
            }
        }
    }

    /// `text` (an AMQP URI or a comma-separated list of them, possibly malformed) with any password
    /// replaced by `***`, for messages.
    public static func redacted(_ text: String) -> String {
        guard !text.contains(",") else { return text.split(separator: ",", omittingEmptySubsequences: false).map { redactedOne(String($0)) }.joined(separator: ",") }
        return redactedOne(text)
    }

    static func redactedOne(_ text: String) -> String {
        let u = Array(text.utf8)
        guard let at = u.lastIndex(of: UInt8(ascii: "@")) else { return text }
        var start = 0
        for i in 0..<max(0, u.count - 2) where u[i] == UInt8(ascii: ":") && u[i + 1] == UInt8(ascii: "/") && u[i + 2] == UInt8(ascii: "/") {
            start = i + 3
            break
        }
        guard start < at, let colon = u[start..<at].firstIndex(of: UInt8(ascii: ":")) else { return text }
        return String(decoding: u[..<colon], as: UTF8.self) + ":***" + String(decoding: u[at...], as: UTF8.self)
    }

    static func percentDecoded(_ s: Substring, whole: String) throws -> String {
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else {
                    throw BrokerError(.invalidURL, "bad percent escape in \(redacted(whole))")
                }
                out.append(v)
                it = it.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}

/// The nodes a ``BrokerPublisher`` or ``BrokerConsumer`` may connect to, and the one it is on:
/// after a failed connect or a lost connection the client moves to the next node of the list
/// (round robin), so that a stopped cluster node is left for the next one.
struct BrokerNodes: Sendable {
    let urls: [BrokerURL]
    private(set) var index = 0

    init(_ urls: [BrokerURL]) {
        precondition(!urls.isEmpty, "a broker client needs at least one URL")
        self.urls = urls
    }

    /// The node connected to, or tried next.
    var current: BrokerURL { urls[index] }

    /// `i/n`: the current node's place in the list (1-based), for the logs.
    var position: String { "\(index + 1)/\(urls.count)" }

    /// Moves to the next node of the list (the first after the last).
    mutating func advance() { index = (index + 1) % urls.count }
}
