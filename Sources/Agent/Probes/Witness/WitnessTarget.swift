/// One witness: a host outside the agent that shows whether the agent's own
/// way out works (DESIGN.md, "Verdicts and the status page").
///
/// When a probe round fails, the agent checks its witnesses; when none of them
/// is reachable either, the round is `agent_network_down` rather than `down`
/// (see ``WitnessChecker``). Each kind counts as reachable as soon as the far
/// host *answers*, whatever it answers: a witness proves the path, not the
/// health of the witness.
///
/// Written in `CLOWDER_METRICS_WITNESS_TARGETS` as:
/// - `http://…` or `https://…`: reachable when any HTTP response arrives (any
///   status), or the TLS handshake fails (the host answered).
/// - `tcp://HOST:PORT`: reachable when the TCP connection is accepted or
///   refused (a reset is an answer); not when it times out or the network is
///   unreachable.
/// - `dns://ADDRESS[:PORT]`: reachable when the DNS server answers a query for
///   the root's `NS` records over UDP (any response code; RFC 1035 §4.1), or
///   its host answers ICMP port unreachable.
///
/// ```swift
/// let w = try WitnessTarget(parsing: "dns://192.0.2.53")   // .dns(host: "192.0.2.53", port: 53)
/// ```
public enum WitnessTarget: Sendable, Hashable, CustomStringConvertible {
    /// Any HTTP answer from this URL.
    case http(url: String)
    /// A TCP answer (accepted or refused) from this host and port.
    case tcp(host: String, port: UInt16)
    /// A DNS answer from this server (UDP).
    case dns(host: String, port: UInt16)

    /// Parses one witness as written in the settings.
    /// - Throws: ``WitnessTarget/ParseError`` with what is expected.
    public init(parsing text: String) throws(ParseError) {
        let lower = text.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            guard text.split(separator: "/", omittingEmptySubsequences: true).count >= 2 else {
                throw ParseError(text: text, expected: "an absolute http(s) URL with a host")
            }
            self = .http(url: text)
        } else if lower.hasPrefix("tcp://") {
            let (h, p) = try Self.hostPort(String(text.dropFirst(6)), text: text, defaultPort: nil)
            self = .tcp(host: h, port: p)
        } else if lower.hasPrefix("dns://") {
            let (h, p) = try Self.hostPort(String(text.dropFirst(6)), text: text, defaultPort: 53)
            self = .dns(host: h, port: p)
        } else {
            throw ParseError(text: text, expected: "ingest, resolver, http(s)://URL, tcp://HOST:PORT or dns://ADDRESS[:PORT]")
        }
    }

    /// `HOST:PORT`, `[V6]:PORT`, `HOST` (with a default port) or a bare IPv6 address.
    static func hostPort(_ s: String, text: String, defaultPort: UInt16?) throws(ParseError) -> (String, UInt16) {
        var s = Substring(s)
        while s.hasSuffix("/") { s.removeLast() }
        var host = s
        var port: Substring?
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw ParseError(text: text, expected: "a closing ] after the IPv6 address") }
            host = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            if rest.hasPrefix(":") { port = rest.dropFirst() } else if !rest.isEmpty {
                throw ParseError(text: text, expected: "[ADDRESS]:PORT")
            }
        } else if s.filter({ $0 == ":" }).count == 1, let colon = s.firstIndex(of: ":") {
            host = s[..<colon]
            port = s[s.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains("/"), !host.contains(" ") else {
            throw ParseError(text: text, expected: "a host name or IP address")
        }
        if let port {
            guard let p = UInt16(port), p > 0 else { throw ParseError(text: text, expected: "a port from 1 to 65535") }
            return (String(host), p)
        }
        guard let d = defaultPort else { throw ParseError(text: text, expected: "HOST:PORT (a port is required)") }
        return (String(host), d)
    }

    /// As written in the settings, e.g. `dns://192.0.2.53:53`.
    public var description: String {
        switch self {
        case .http(let url): url
        case .tcp(let h, let p): "tcp://\(h.contains(":") ? "[\(h)]" : h):\(p)"
        case .dns(let h, let p): "dns://\(h.contains(":") ? "[\(h)]" : h):\(p)"
        }
    }

    /// A witness that cannot be parsed.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The text as written.
        public var text: String
        /// What is expected instead.
        public var expected: String
        public var description: String { "\(text): expected \(expected)" }
    }
}
