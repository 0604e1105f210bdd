/// The few URL parts the probes need, without Foundation (RFC 3986 section 3.2).
enum ProbeURL {
    /// Host and port of `scheme://[userinfo@]host[:port]/…`; the port defaults to
    /// 443 for https and 80 otherwise. An IPv6 host keeps no brackets.
    static func hostAndPort(_ url: String) -> (host: String, port: String) {
        var rest = Substring(url)
        var defaultPort = "80"
        let scheme = Array("://".utf8)
        let bytes = Array(rest.utf8)
        if let i = (0..<max(0, bytes.count - 2)).first(where: { Array(bytes[$0..<($0 + 3)]) == scheme }) {
            if String(decoding: bytes[..<i], as: UTF8.self).lowercased() == "https" { defaultPort = "443" }
            rest = Substring(String(decoding: bytes[(i + 3)...], as: UTF8.self))
        }
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            let host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            return (host, after.hasPrefix(":") ? String(after.dropFirst()) : defaultPort)
        }
        if let colon = rest.lastIndex(of: ":") {
            return (String(rest[..<colon]), String(rest[rest.index(after: colon)...]))
        }
        return (String(rest), defaultPort)
    }
}
