import MetricsModel

/// The declared field types of the measurements the agent writes, and of the
/// members of Clowder events, so that no client can change a field's type
/// (InfluxDB keeps one type per field and measurement, and refuses every
/// later point of another type: one client's string would poison every other
/// agent's integers). A point of a declared measurement with a declared field
/// of the wrong type is refused with a 400 naming the field. A field the schema
/// does not declare is accepted with its own type, so that an agent newer than
/// the ingest (a field added to a measurement) loses nothing while the ingest
/// is upgraded after it; measurements not declared here are the client's own.
///
/// Sources: the agent's writers (`AccessLogPipeline`, `PingResult`,
/// `HTTPResult`, `StubStatus`, `DeliveryStats`, `ServiceStatusEvent`), which
/// follow Telegraf's `ping`, `http_response` and `nginx` inputs; Clowder v1's
/// event members. Events all land in one InfluxDB measurement (`events`),
/// so their members share one schema whatever the category.
public enum FieldSchema {
    /// A declared type. Integers are JSON numbers without fraction or exponent, doubles with one (see ``JSONValue``).
    public enum FieldType: String, Sendable {
        case integer, double, string, boolean

        func matches(_ v: JSONValue) -> Bool {
            switch (self, v) {
            case (.integer, .int), (.double, .double), (.string, .string), (.boolean, .bool): true
            default: false
            }
        }
    }

    static func all(_ names: [String], _ t: FieldType) -> [String: FieldType] {
        Dictionary(uniqueKeysWithValues: names.map { ($0, t) })
    }

    /// Measurement → field → type.
    public static let measurements: [String: [String: FieldType]] = [
        "nginx_access": all(
            [
                "requests", "page_views", "view_file", "view_dataset", "view_collection", "view_space", "download_file",
                "download_dataset", "download_collection", "partial_downloads", "uploads", "deletes", "extractions", "api_calls",
                "asset_requests", "bot_requests", "status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx",
                "bytes_sent", "malformed_lines", "late_lines", "distinct_clients", "distinct_connections",
                "upload_bytes", "download_bytes",
            ], .integer).merging(all(["request_time_p50", "request_time_p90", "request_time_p99", "request_time_max"], .double)) { a, _ in a },
        "ping": all(["result_code", "packets_transmitted", "packets_received", "agent_network_down"], .integer).merging(
            all(["percent_packet_loss", "minimum_response_ms", "average_response_ms", "maximum_response_ms", "standard_deviation_ms"], .double)
        ) { a, _ in a },
        "http_response": all(["content_length", "redirects", "up", "result_code", "http_response_code", "agent_network_down"], .integer).merging(
            all(["response_time", "dns_time", "connect_time", "tls_time", "ttfb_time", "transfer_time", "tls_cert_expiry", "uptime"], .double)
        ) { a, _ in a },
        "nginx": all(["active", "accepts", "handled", "requests", "reading", "writing", "waiting"], .integer),
        "agent": all(
            [
                "lines_read", "malformed_lines", "batches_spooled", "batches_sent", "batches_retried", "batches_dead_lettered",
                "batches_dropped", "spool_bytes", "spool_batches",
            ], .integer),
    ]

    /// Event member → type (any category); members not listed are free.
    public static let eventMembers: [String: FieldType] = all(
        [
            "category", "type", "resource_id", "resource_name", "resource_type", "user_id", "author_id", "url", "source",
            "service_name", "extractor_name", "agent", "host", "region", "key_id",
        ], .string
    ).merging(all(["created", "size"], .integer)) { a, _ in a }
        .merging(all(["response_time_avg", "response_time_min", "response_time_max", "response_time_loss", "uptime"], .double)) { a, _ in a }
        .merging(["healthy": .boolean]) { a, _ in a }
}
