import Parsers

/// Settings of an ``AccessLogPipeline``.
///
/// ```swift
/// let config = AccessLogPipelineConfiguration(
///     logFormat: try LogFormat.resolve("combined"), prefix: "/clowder",
///     tags: ["agent": "a1", "host": "web-1", "region": "eu"], emitEvents: true)
/// ```
public struct AccessLogPipelineConfiguration: Sendable {
    /// The NGINX `log_format` of the lines (must log `$time_local`, `$time_iso8601` or `$msec`).
    public var logFormat: LogFormat
    /// Clowder's context prefix (`application.context`), e.g. `/clowder`; `""` for none.
    public var prefix: String
    /// Tumbling window length in seconds (windows start at multiples of it since the epoch, UTC). Default 60.
    public var windowSeconds: Int
    /// Allowed lateness in seconds: a window closes once the newest line's time is past its
    /// end plus this. Default 30.
    public var latenessSeconds: Int
    /// Tags on every point (`agent`, `host`, `region`); `vhost` is added per virtual host.
    public var tags: [String: String]
    /// Whether to make one Clowder-style event per resource view, download, upload, delete and extraction.
    public var emitEvents: Bool
    /// Which hosts get a `vhost` tag of their own per window (`CLOWDER_METRICS_MAX_VHOSTS`, the
    /// `server_name`s of `CLOWDER_METRICS_NGINX_CONFIG`); the rest count under `vhost=other`.
    public var vhostLimit: VhostLimit
    /// `$remote_user` leaves the agent only when this is set: as `user_id` in events, a keyed
    /// hash (`u-` + 32 hex digits of HMAC-SHA256 with this key). Nil (the default): never sent.
    public var remoteUserKey: [UInt8]?
    /// Per window, the K most viewed and the K most downloaded resources are sent as one
    /// `nginx_top_resources` point each (`CLOWDER_METRICS_TOP_RESOURCES`); 0 turns it off.
    public var topResources: Int

    /// Creates a configuration; see the properties for meanings and units.
    public init(logFormat: LogFormat = .combined, prefix: String = "", windowSeconds: Int = 60,
                latenessSeconds: Int = 30, tags: [String: String] = [:], emitEvents: Bool = false,
                vhostLimit: VhostLimit = VhostLimit(), remoteUserKey: [UInt8]? = nil, topResources: Int = 10) {
        self.logFormat = logFormat
        self.prefix = prefix
        self.windowSeconds = windowSeconds
        self.latenessSeconds = latenessSeconds
        self.tags = tags
        self.emitEvents = emitEvents
        self.vhostLimit = vhostLimit
        self.remoteUserKey = remoteUserKey
        self.topResources = max(0, topResources)
    }
}
