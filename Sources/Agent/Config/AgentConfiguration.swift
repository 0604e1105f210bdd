/// The agent's whole configuration, validated: every value typed and in range.
///
/// Built by ``AgentConfiguration/load(envFile:environment:)`` from the settings
/// file and the process environment (see ``ConfigKeys`` for every key, its
/// default and unit), or directly in tests.
public struct AgentConfiguration: Sendable {
    // MARK: Identity
    /// `CLOWDER_METRICS_AGENT_ID`, default the host name.
    public var agentID: String
    /// `CLOWDER_METRICS_HOST`, default `gethostname()`.
    public var host: String
    /// `CLOWDER_METRICS_REGION`.
    public var region: String

    // MARK: Access logs
    /// `CLOWDER_METRICS_ACCESS_LOG`: paths or globs; empty for a probe-only agent.
    public var accessLogs: [String]
    /// `CLOWDER_METRICS_LOG_FORMAT`: a format name or an NGINX format string.
    public var logFormat: String
    /// `CLOWDER_METRICS_NGINX_CONFIG`: path of `nginx -T` output, `auto` (run ``nginxCommand``), or nil.
    public var nginxConfig: String?
    /// `CLOWDER_METRICS_NGINX_COMMAND`: the program and arguments that print NGINX's configuration.
    public var nginxCommand: [String] = ["nginx", "-T"]
    /// `CLOWDER_METRICS_READ_FROM`: files present at the first start are read from their start (true) or end.
    public var readFromStart: Bool
    /// `CLOWDER_METRICS_CONTEXT_PREFIX`, e.g. `/clowder`, or empty.
    public var contextPrefix: String
    /// `CLOWDER_METRICS_MAX_LINE_BYTES`, bytes.
    public var maxLineBytes: Int
    /// `CLOWDER_METRICS_WINDOW`, seconds.
    public var windowSeconds: Int
    /// `CLOWDER_METRICS_ALLOWED_LATENESS`, seconds.
    public var allowedLatenessSeconds: Int
    /// `CLOWDER_METRICS_EMIT_EVENTS`.
    public var emitEvents: Bool
    /// `CLOWDER_METRICS_MAX_VHOSTS`: vhosts with a point of their own per window.
    public var maxVhosts: Int = VhostLimit.defaultMaxVhosts
    /// `CLOWDER_METRICS_TOP_RESOURCES`: K of the per-window top resources (0: off).
    public var topResources: Int = 10
    /// `CLOWDER_METRICS_REMOTE_USER_KEY_FILE` when `CLOWDER_METRICS_REMOTE_USER=hash`; nil (`drop`):
    /// `$remote_user` never leaves the agent.
    public var remoteUserKeyFile: String? = nil

    // MARK: Probes
    /// `CLOWDER_METRICS_HTTP_TARGETS`: absolute http(s) URLs.
    public var httpTargets: [String]
    /// `CLOWDER_METRICS_PING_TARGETS`: host names or addresses.
    public var pingTargets: [String]
    /// `CLOWDER_METRICS_STUB_STATUS_URL`, or nil.
    public var stubStatusURL: String?
    /// `CLOWDER_METRICS_PROBE_INTERVAL`, seconds.
    public var probeIntervalSeconds: Double
    /// `CLOWDER_METRICS_PING_COUNT`.
    public var pingCount: Int
    /// `CLOWDER_METRICS_PING_INTERVAL`, seconds between echoes.
    public var pingIntervalSeconds: Double
    /// `CLOWDER_METRICS_HTTP_TIMEOUT`, seconds.
    public var httpTimeoutSeconds: Double
    /// `CLOWDER_METRICS_HTTP_EXPECT_STATUS`, or nil (any 2xx/3xx).
    public var httpExpectStatus: Int?
    /// `CLOWDER_METRICS_HTTP_EXPECT_BODY`, or nil.
    public var httpExpectBody: String?
    /// `CLOWDER_METRICS_HTTP_FOLLOW_REDIRECTS`.
    public var httpFollowRedirects: Bool

    /// `CLOWDER_METRICS_RABBITMQ_*`, or nil: the extractor queue probe.
    public var queues: QueueSettings? = nil
    /// `CLOWDER_METRICS_JOURNEY_*`, or nil: the journey probe.
    public var journey: JourneySettings? = nil

    // MARK: Delivery
    /// `CLOWDER_METRICS_INGEST_URL`, or nil to write JSON lines to ``outputFile``.
    public var ingestURL: String?
    /// `CLOWDER_METRICS_OUTPUT_FILE`: a path, or `-` for standard output.
    public var outputFile: String
    /// `CLOWDER_METRICS_API_KEY_ID`.
    public var apiKeyID: String?
    /// `CLOWDER_METRICS_API_KEY_FILE`.
    public var apiKeyFile: String?
    /// `CLOWDER_METRICS_CA_FILE`.
    public var caFile: String?
    /// `CLOWDER_METRICS_SPOOL_PATH`.
    public var spoolPath: String
    /// `CLOWDER_METRICS_SPOOL_MAX_BYTES`, bytes.
    public var spoolMaxBytes: Int64
    /// `CLOWDER_METRICS_BATCH_MAX_POINTS`.
    public var batchMaxPoints: Int
    /// `CLOWDER_METRICS_BATCH_MAX_BYTES`, bytes.
    public var batchMaxBytes: Int
    /// `CLOWDER_METRICS_BATCH_MAX_AGE`, seconds.
    public var batchMaxAgeSeconds: Double
    /// `CLOWDER_METRICS_RETRY_INITIAL`, seconds.
    public var retryInitialSeconds: Double
    /// `CLOWDER_METRICS_RETRY_MAX`, seconds.
    public var retryMaxSeconds: Double
    /// `CLOWDER_METRICS_SHUTDOWN_GRACE`, seconds.
    public var shutdownGraceSeconds: Double
    /// `CLOWDER_METRICS_LOG_LEVEL`.
    public var logLevel: String
    /// `CLOWDER_METRICS_HEALTH_FILE`, or nil for ``HealthFile/defaultName`` beside the spool.
    public var healthFileSetting: String? = nil

    /// Where the health file is written (``HealthFile``).
    public var healthFile: String {
        if let healthFileSetting { return healthFileSetting }
        let folder = FileSystem.directory(of: spoolPath)
        return (folder == "/" ? "" : folder) + "/" + HealthFile.defaultName
    }

    /// `CLOWDER_METRICS_WITNESS_TARGETS`, resolved (`ingest` and `resolver` replaced by what they name).
    public var witnessTargets: [WitnessTarget] = []
    /// `CLOWDER_METRICS_WITNESS_TIMEOUT`, seconds.
    public var witnessTimeoutSeconds: Double = 3

    /// Whether the agent tails logs (false: a probe-only agent, as in remote regions).
    public var tailsLogs: Bool { !accessLogs.isEmpty || nginxConfig != nil }
    /// Whether the agent runs probes.
    public var probes: Bool { !httpTargets.isEmpty || !pingTargets.isEmpty || stubStatusURL != nil || queues != nil || journey != nil }
}
