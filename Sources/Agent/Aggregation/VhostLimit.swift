/// Which virtual hosts get a `vhost` tag of their own, so that the Host header a client sends
/// cannot grow the agent's memory or InfluxDB's series.
///
/// - With server names (the `server_name` directives of `CLOWDER_METRICS_NGINX_CONFIG`, i.e.
///   `nginx -T` output): a host equal to one of them is tagged with it; a host matching a
///   wildcard name (`*.example.org`, or `.example.org`, which also matches `example.org`) is
///   tagged with the name as written; regular-expression names (`~…`) and `_` are not matched.
/// - Per window, at most ``maxVhosts`` vhosts get their own point (the first seen, in line
///   order, among the allowed ones); every other host is counted under `vhost=other`
///   (``otherName``). So a window holds at most `maxVhosts` + 1 aggregates.
///
/// NGINX writes `$host` lowercased and without the port (ngx_http_core_module, `$host`);
/// `$server_name` is already one of the configured names.
///
/// ```swift
/// let limit = VhostLimit(serverNames: ["clowder.example.org", "*.example.org"], maxVhosts: 20)
/// ```
public struct VhostLimit: Sendable, Equatable {
    /// The tag value under which hosts beyond the limit are counted.
    public static let otherName = "other"
    /// Default of `CLOWDER_METRICS_MAX_VHOSTS`.
    public static let defaultMaxVhosts = 20

    /// The names allowed (empty: any host, up to ``maxVhosts`` per window).
    public let serverNames: [String]
    /// Vhosts with a point of their own per window (at least 1).
    public let maxVhosts: Int

    let exact: [[UInt8]]
    /// (suffix to match, name to tag with, whether the bare domain matches too).
    let wildcards: [(suffix: [UInt8], name: [UInt8], bare: Bool)]

    /// - Parameters:
    ///   - serverNames: `server_name` values; `_`, empty and `~regex` names are ignored, the
    ///     rest lowercased.
    ///   - maxVhosts: vhosts per window with their own point (values below 1 count as 1).
    public init(serverNames: [String] = [], maxVhosts: Int = VhostLimit.defaultMaxVhosts) {
        var exact: [[UInt8]] = []
        var wildcards: [(suffix: [UInt8], name: [UInt8], bare: Bool)] = []
        var kept: [String] = []
        for raw in serverNames {
            let name = raw.lowercased()
            guard !name.isEmpty, name != "_", !name.hasPrefix("~"), !kept.contains(name) else { continue }
            kept.append(name)
            if name.hasPrefix("*.") {
                wildcards.append((Array(name.utf8.dropFirst()), Array(name.utf8), false))
            } else if name.hasPrefix(".") {
                wildcards.append((Array(name.utf8), Array(name.utf8), true))
            } else {
                exact.append(Array(name.utf8))
            }
        }
        self.serverNames = kept
        self.maxVhosts = max(1, maxVhosts)
        self.exact = exact
        self.wildcards = wildcards
    }

    public static func == (a: VhostLimit, b: VhostLimit) -> Bool {
        a.serverNames == b.serverNames && a.maxVhosts == b.maxVhosts
    }

    /// What a host new to the window is counted under.
    enum Key: Equatable {
        /// A vhost of its own, tagged with the host.
        case itself
        /// Under another name: `other`, or the wildcard server name it matched.
        case named([UInt8])
    }

    static let other = Array(otherName.utf8)

    /// The key for `host` by the server names alone (``maxVhosts`` is applied by the window,
    /// which knows how many vhosts it has).
    func key(for host: UnsafeRawBufferPointer) -> Key {
        if host.isEmpty { return .itself }  // the format logs no vhost
        if exact.isEmpty && wildcards.isEmpty { return .itself }
        for name in exact where name.count == host.count && name.elementsEqual(host) { return .itself }
        for w in wildcards {
            if host.count > w.suffix.count, host.suffix(w.suffix.count).elementsEqual(w.suffix) { return .named(w.name) }
            if w.bare, host.count == w.suffix.count - 1, host.elementsEqual(w.suffix.dropFirst()) { return .named(w.name) }
        }
        return .named(Self.other)
    }
}
