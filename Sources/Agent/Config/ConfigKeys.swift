/// Every setting of the agent: its key, default, unit and meaning.
///
/// Keys are read from the settings file given with `--env-file` and from the
/// process environment, which wins. The table is the single source of the
/// names: `clowder-agent check` lists it, and unknown `CLOWDER_METRICS_` keys
/// are refused so that a typo does not silently fall back to a default.
public enum ConfigKeys {
    /// One documented setting.
    public struct Setting: Sendable {
        /// Full key, e.g. `CLOWDER_METRICS_WINDOW`.
        public var key: String
        /// Default as written in a settings file (empty: unset).
        public var defaultValue: String
        /// One line: meaning and unit.
        public var help: String
    }

    /// The prefix of every key.
    public static let prefix = "CLOWDER_METRICS_"

    static func s(_ name: String, _ def: String, _ help: String) -> Setting {
        Setting(key: prefix + name, defaultValue: def, help: help)
    }

    /// All settings, in the order of the example files.
    public static let all: [Setting] = [
        // Identity
        s("AGENT_ID", "", "agent id sent with every batch and as the `agent` tag (default: the host name)"),
        s("HOST", "", "host name, the `host` tag (default: gethostname())"),
        s("REGION", "local", "region tag on every point, e.g. eu-west"),
        // Access logs
        s("ACCESS_LOG", "", "access logs to tail: comma-separated paths or globs; empty = probe-only agent"),
        s("LOG_FORMAT", "combined", "NGINX log_format: a name (combined, clowder_metrics, combined_xff, combined_host, ingress_nginx, traefik_clf, traefik_json, or one defined in NGINX_CONFIG) or the format string"),
        s("NGINX_CONFIG", "", "file with `nginx -T` output or nginx.conf, or `auto` to run NGINX_COMMAND; with ACCESS_LOG empty the agent tails every access_log it names, each in its own format (re-read on SIGHUP and when the file changes); with ACCESS_LOG set, only log_format definitions are read from it"),
        s("NGINX_COMMAND", "nginx -T", "with NGINX_CONFIG=auto: the command (no shell; words split at blanks) that prints NGINX's whole configuration, e.g. nginx -T -c /etc/nginx/nginx.conf"),
        s("READ_FROM", "end", "where to start in files already present at the first start: end | start"),
        s("CONTEXT_PREFIX", "", "Clowder's application.context, e.g. /clowder (empty: served at /)"),
        s("MAX_LINE_BYTES", "65536", "longest log line kept, bytes; longer lines are cut and counted"),
        s("WINDOW", "60", "aggregation window, seconds (UTC-aligned)"),
        s("ALLOWED_LATENESS", "30", "how long a window stays open after its end for late lines, seconds"),
        s("EMIT_EVENTS", "false", "also send one Clowder-style event per resource view, download, upload, delete, extraction: true | false"),
        s("MAX_VHOSTS", "20", "vhosts with a point of their own per window (the first seen, among NGINX_CONFIG's server_names when given); other hosts count under vhost=other"),
        s("TOP_RESOURCES", "10", "per window, the K most viewed and K most downloaded resources as nginx_top_resources points (0 = off)"),
        s("REMOTE_USER", "drop", "$remote_user (any client sets it with Authorization: Basic): drop = never sent | hash = user_id of events as a keyed HMAC-SHA256 pseudonym"),
        s("REMOTE_USER_KEY_FILE", "", "with REMOTE_USER=hash: file holding the hash key (keep it secret: without it the pseudonyms cannot be reversed)"),
        // Probes
        s("HTTP_TARGETS", "", "HTTP(S) URLs to probe, comma-separated (e.g. https://clowder.example.org/healthz)"),
        s("PING_TARGETS", "", "hosts to ping (ICMP), comma-separated"),
        s("STUB_STATUS_URL", "", "NGINX stub_status URL on loopback, e.g. http://127.0.0.1/nginx_status"),
        s("PROBE_INTERVAL", "30", "seconds between probe rounds, per target"),
        s("PING_COUNT", "5", "ICMP echoes per round"),
        s("PING_INTERVAL", "0.2", "seconds between echoes in a round"),
        s("HTTP_TIMEOUT", "10", "HTTP probe timeout, seconds"),
        s("HTTP_EXPECT_STATUS", "", "expected HTTP status (empty: any 2xx/3xx is up)"),
        s("HTTP_EXPECT_BODY", "", "substring the body must contain (Clowder's /healthz answers `healthy`)"),
        s("HTTP_FOLLOW_REDIRECTS", "true", "follow redirects: true | false"),
        // Extractor queues
        s("RABBITMQ_URL", "", "RabbitMQ management API base URL, e.g. http://127.0.0.1:15672 (rabbitmq_management enabled); empty = no queue probe"),
        s("RABBITMQ_CREDENTIALS_FILE", "", "file holding user:password for the management API (a user with the monitoring tag is enough)"),
        s("RABBITMQ_VHOST", "", "only queues of this virtual host (empty: every virtual host)"),
        s("RABBITMQ_QUEUES", "", "queue name prefixes to report, comma-separated, e.g. extractors.,error. (empty: every queue)"),
        s("RABBITMQ_INTERVAL", "60", "seconds between queue rounds"),
        // Journey probe
        s("JOURNEY_URL", "", "Clowder's base URL with its context, e.g. https://clowder.example.org; empty = no journey probe"),
        s("JOURNEY_API", "v1", "Clowder's API: v1 | v2 (routes under /api/v2)"),
        s("JOURNEY_API_KEY_FILE", "", "file holding a Clowder API key, sent as X-API-Key (never in the query string)"),
        s("JOURNEY_FILE_ID", "", "id of a file downloaded each round"),
        s("JOURNEY_DATASET_ID", "", "id of a test dataset a small file is uploaded to, read back and deleted from each round"),
        s("JOURNEY_UPLOAD_BYTES", "4096", "size of the generated test file, bytes"),
        s("JOURNEY_INTERVAL", "300", "seconds between journey rounds"),
        s("JOURNEY_TIMEOUT", "30", "seconds each step may take; a slower step fails the round as a timeout"),
        s("WITNESS_TARGETS", "ingest,resolver", "checked when a probe fails; none answering makes the round agent_network_down, not down: comma-separated ingest (INGEST_URL/healthz), resolver (first nameserver of /etc/resolv.conf), http(s)://URL, tcp://HOST:PORT, dns://ADDRESS[:PORT]; none = no witnesses"),
        s("WITNESS_TIMEOUT", "3", "seconds each witness may take to answer"),
        // Delivery
        s("INGEST_URL", "", "clowder-ingest base URL, e.g. https://metrics.example.org; empty = write JSON lines to OUTPUT_FILE"),
        s("OUTPUT_FILE", "-", "with no INGEST_URL: where closed windows go as JSON lines; - = standard output"),
        s("API_KEY_ID", "", "key id (RFC 9421 keyid) of the agent's key"),
        s("API_KEY_FILE", "", "file holding the agent's HMAC secret (never put secrets on the command line)"),
        s("CA_FILE", "", "CA bundle for the ingest's TLS certificate (default: the system's)"),
        s("SPOOL_PATH", "/var/lib/clowder-metrics/spool.db", "SQLite spool and checkpoint file"),
        s("SPOOL_MAX_BYTES", "268435456", "spool bound, bytes; when full the oldest batch is dropped and counted"),
        s("BATCH_MAX_POINTS", "1000", "a batch closes at this many points and events"),
        s("BATCH_MAX_BYTES", "1048576", "... or at this many JSON bytes"),
        s("BATCH_MAX_AGE", "10", "... or this many seconds after its first point"),
        s("RETRY_INITIAL", "1", "first retry delay cap, seconds; the n-th retry waits a random 0…min(RETRY_MAX, RETRY_INITIAL·2ⁿ)"),
        s("RETRY_MAX", "300", "largest retry delay, seconds"),
        s("SHUTDOWN_GRACE", "10", "on SIGTERM, seconds to keep trying to send what is spooled"),
        s("HEALTH_FILE", "", "health and counters in Prometheus text format, rewritten every 5 s for `clowder-agent health` and node_exporter's textfile collector (default: clowder-agent.prom beside SPOOL_PATH)"),
        s("LOG_LEVEL", "info", "agent log level: trace | debug | info | notice | warning | error | critical"),
    ]

    /// The setting for `key`, if it is one of ``all``.
    public static func setting(_ key: String) -> Setting? { all.first { $0.key == key } }
}
