/// Settings of the delivery stage. The lead's config reader fills it from
/// `CLOWDER_METRICS_*` keys (names given per property).
///
/// ```swift
/// var c = DeliveryConfiguration(ingestURL: "https://ingest.example.org", apiKeyID: "web-1",
///                               apiKeyFile: "/etc/clowder-metrics/api-key", spoolPath: "/var/lib/clowder-metrics/spool.db")
/// c.spoolMaxBytes = 256 << 20
/// ```
public struct DeliveryConfiguration: Sendable {
    /// Base URL of the ingest (`CLOWDER_METRICS_INGEST_URL`), e.g.
    /// `https://ingest.example.org`; batches go to `<ingestURL>/v1/batches`.
    public var ingestURL: String
    /// `keyid` of the signature (`CLOWDER_METRICS_API_KEY_ID`).
    public var apiKeyID: String
    /// File holding the HMAC secret (`CLOWDER_METRICS_API_KEY_FILE`): its bytes,
    /// without trailing whitespace or newline, are the secret.
    public var apiKeyFile: String
    /// CA bundle for TLS verification (`CLOWDER_METRICS_CA_FILE`); nil: the system store.
    public var caFile: String?
    /// Verify the server's TLS certificate and host name (default true;
    /// `CLOWDER_METRICS_TLS_VERIFY=false` only for tests).
    public var verifyTLS: Bool = true
    /// Spool database path (`CLOWDER_METRICS_SPOOL_PATH`).
    public var spoolPath: String
    /// Spool bound in bytes (`CLOWDER_METRICS_SPOOL_MAX_BYTES`, default 64 MiB):
    /// the database file stays within it; the WAL adds at most a quarter of it, 4 MiB at most.
    public var spoolMaxBytes: Int64 = 64 << 20
    /// A batch closes at this many points and events (`CLOWDER_METRICS_BATCH_MAX_POINTS`, default 5000).
    public var batchMaxPoints: Int = 5000
    /// … or at this many bytes of uncompressed JSON (`CLOWDER_METRICS_BATCH_MAX_BYTES`, default 1 MiB).
    public var batchMaxBytes: Int = 1 << 20
    /// … or this many seconds after its first point (`CLOWDER_METRICS_BATCH_MAX_AGE`, default 10 s).
    public var batchMaxAge: Double = 10
    /// First retry delay cap, seconds (`CLOWDER_METRICS_RETRY_INITIAL`, default 1 s);
    /// the n-th retry waits a uniformly random time in 0…min(max, initial·2ⁿ) (full jitter).
    public var retryInitial: Double = 1
    /// Largest retry delay, seconds (`CLOWDER_METRICS_RETRY_MAX`, default 300 s).
    public var retryMax: Double = 300
    /// Largest `Retry-After` honoured, seconds (default 3600 s); longer values are cut to this.
    public var retryAfterMax: Double = 3600
    /// Whole-request timeout, seconds (default 30 s).
    public var requestTimeout: Double = 30
    /// Connect timeout, seconds (default 10 s).
    public var connectTimeout: Double = 10
    /// Grace period to send what is spooled at shutdown, seconds (`CLOWDER_METRICS_SHUTDOWN_GRACE`, default 10 s).
    public var shutdownGrace: Double = 10

    /// - Parameters: see the properties; every other setting takes its default.
    public init(ingestURL: String, apiKeyID: String, apiKeyFile: String, spoolPath: String) {
        self.ingestURL = ingestURL
        self.apiKeyID = apiKeyID
        self.apiKeyFile = apiKeyFile
        self.spoolPath = spoolPath
    }

    /// `<ingestURL>/v1/batches`, with one `/` between.
    public var batchesURL: String {
        var base = ingestURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/v1/batches"
    }
}
