import MetricsModel
import Parsers

/// What one HTTP round measured: the `http_response` measurement.
///
/// Fields (seconds as doubles, bytes as integers):
/// - `response_time`: the whole request, redirects included (`CURLINFO_TOTAL_TIME_T`).
/// - `dns_time`, `connect_time`, `tls_time`, `ttfb_time`, `transfer_time`: each
///   phase alone; they sum to `response_time` (see ``HTTPPhases``).
/// - `http_response_code` (int, the final response's status; absent when none came),
///   `content_length` (int, body bytes downloaded of the final response,
///   `CURLINFO_SIZE_DOWNLOAD_T`), `redirects` (int, `CURLINFO_REDIRECT_COUNT`),
///   `tls_cert_expiry` (float, seconds until the server certificate's notAfter;
///   https only), `up` (int 0/1), `result_code` (int, Telegraf's
///   `inputs.http_response` codes: 0 success, 1 body mismatch
///   (Telegraf's response_string_mismatch), 3 connection failed, 4 timeout,
///   5 DNS error, 6 status code mismatch; **7 TLS error** is ours).
///
/// When the ``ProbeScheduler`` runs the probe it adds `uptime` (float, 0–1:
/// the share of rounds up over ``ProbeSettings/uptimeWindow``).
///
/// Tags: `server` (the URL), `method`, `result` (``Outcome``), and the agent's
/// `agent`, `host`, `region`.
public struct HTTPResult: Sendable, Hashable {
    /// How the round ended (the `result` tag), from curl's `CURLcode` and the checks.
    public enum Outcome: String, Sendable, Hashable {
        /// A response arrived and passed the status and body checks.
        case success
        /// `CURLE_OPERATION_TIMEDOUT`: no complete answer within the timeout.
        case timeout
        /// Connect refused or failed, or the connection broke (`CURLE_COULDNT_CONNECT`,
        /// `CURLE_RECV_ERROR`, `CURLE_GOT_NOTHING`, and any other transfer error).
        case connectionFailed = "connection_failed"
        /// The name did not resolve (`CURLE_COULDNT_RESOLVE_HOST`/`_PROXY`).
        case dnsError = "dns_error"
        /// The TLS handshake or certificate check failed (`CURLE_SSL_*`,
        /// `CURLE_PEER_FAILED_VERIFICATION`, `CURLE_USE_SSL_FAILED`).
        case tlsError = "tls_error"
        /// A response came, but not with the expected status (or, with no
        /// expectation, not 2xx/3xx).
        case responseStatusCodeMismatch = "response_status_code_mismatch"
        /// The body did not contain the expected string.
        case bodyMismatch = "body_mismatch"

        /// Telegraf's `result_code` for this outcome (7 = TLS error is ours).
        public var resultCode: Int64 {
            switch self {
            case .success: 0
            case .bodyMismatch: 1
            case .connectionFailed: 3
            case .timeout: 4
            case .dnsError: 5
            case .responseStatusCodeMismatch: 6
            case .tlsError: 7
            }
        }
    }

    /// The URL probed (the `server` tag).
    public var url: String
    /// The request method (the `method` tag).
    public var method: String
    /// How the round ended.
    public var outcome: Outcome
    /// Final HTTP status, or `nil` when no response arrived.
    public var statusCode: Int?
    /// Each phase alone, seconds.
    public var phases: HTTPPhases
    /// Body bytes downloaded (final response).
    public var contentLength: Int64
    /// Redirects followed.
    public var redirects: Int
    /// Seconds until the server certificate expires (negative when expired); https only.
    public var tlsCertificateExpiry: Double?
    /// The URL of the final response (after redirects).
    public var effectiveURL: String?
    /// Remote address of the final connection, e.g. `127.0.0.1`.
    public var remoteAddress: String?
    /// curl's result code (`CURLcode`, 0 = `CURLE_OK`).
    public var curlCode: Int
    /// A one-line explanation of a failure (curl's error buffer, or the check that failed).
    public var message: String?

    /// Creates a result (used by the probe and by tests).
    public init(url: String, method: String, outcome: Outcome, statusCode: Int?, phases: HTTPPhases,
                contentLength: Int64, redirects: Int, tlsCertificateExpiry: Double? = nil,
                effectiveURL: String? = nil, remoteAddress: String? = nil, curlCode: Int = 0, message: String? = nil) {
        self.url = url
        self.method = method
        self.outcome = outcome
        self.statusCode = statusCode
        self.phases = phases
        self.contentLength = contentLength
        self.redirects = redirects
        self.tlsCertificateExpiry = tlsCertificateExpiry
        self.effectiveURL = effectiveURL
        self.remoteAddress = remoteAddress
        self.curlCode = curlCode
        self.message = message
    }

    /// Whether the target is up: the round succeeded.
    public var isUp: Bool { outcome == .success }

    /// The `http_response` point described above.
    public func point(identity: AgentIdentity, timeNanoseconds: Int64) -> Point {
        var fields: [String: JSONValue] = [
            "response_time": .double(phases.total),
            "dns_time": .double(phases.dns),
            "connect_time": .double(phases.connect),
            "tls_time": .double(phases.tls),
            "ttfb_time": .double(phases.firstByte),
            "transfer_time": .double(phases.transfer),
            "content_length": .int(contentLength),
            "redirects": .int(Int64(redirects)),
            "up": .int(isUp ? 1 : 0),
            "result_code": .int(outcome.resultCode),
        ]
        if let s = statusCode { fields["http_response_code"] = .int(Int64(s)) }
        if let e = tlsCertificateExpiry { fields["tls_cert_expiry"] = .double(e) }
        var tags = ProbeTags.agent(identity)
        tags["server"] = KeyRedaction.redact(url)
        tags["method"] = method
        tags["result"] = outcome.rawValue
        return Point(measurement: "http_response", tags: tags, fields: fields, timeNanoseconds: timeNanoseconds)
    }
}
