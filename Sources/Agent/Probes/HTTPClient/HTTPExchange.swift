import SystemSupport

/// One HTTP request with libcurl's easy interface and its whole answer: what the RabbitMQ queue
/// probe and the journey probe need beyond ``HTTPProbe`` (request headers, a request body, other
/// methods, HTTP Basic credentials, the response body).
///
/// A handle is kept between requests (TLS context and CA store loaded once) and reset before
/// each; it is not thread-safe. `perform` blocks for at most the timeout: run it on a thread of
/// its own. Source: libcurl's easy interface (https://curl.se/libcurl/c/libcurl-easy.html),
/// `CURLOPT_CUSTOMREQUEST`, `CURLOPT_POSTFIELDS`, `CURLOPT_USERPWD`, `CURLINFO_*_TIME_T`.
final class HTTPExchange {
    /// The answer to one request.
    struct Response: Sendable {
        /// The final status, or 0 when no response came.
        var status: Int
        /// The body (at most ``HTTPExchange/maxBodyBytes``; longer bodies set ``truncated``).
        var body: [UInt8]
        /// Whether the body was longer than kept.
        var truncated: Bool
        /// Seconds for the whole request (`CURLINFO_TOTAL_TIME_T`).
        var seconds: Double
        /// Body bytes received (`CURLINFO_SIZE_DOWNLOAD_T`), also beyond what was kept.
        var bytesDown: Int64
        /// Body bytes sent (`CURLINFO_SIZE_UPLOAD_T`).
        var bytesUp: Int64
        /// `nil` on a complete exchange; else how it failed (``HTTPResult/Outcome`` raw values:
        /// `timeout`, `connection_failed`, `dns_error`, `tls_error`) and curl's message.
        var failure: (outcome: String, message: String)?

        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    private let easy: CurlEasy?
    /// Longest body kept, bytes.
    let maxBodyBytes: Int

    init(maxBodyBytes: Int = 16 << 20) {
        self.maxBodyBytes = maxBodyBytes
        easy = try? CurlEasy()
    }

    /// Sends one request and waits for the whole answer.
    /// - Parameters:
    ///   - method: `GET`, `POST`, `DELETE`, ….
    ///   - url: absolute http(s) URL.
    ///   - headers: request header lines (name, value).
    ///   - body: request body (sent with `Content-Length`), or nil.
    ///   - basicAuth: user and password for HTTP Basic, or nil.
    ///   - timeout: seconds for the whole exchange (connect included).
    ///   - caFile: CA bundle for https, or nil for the system's.
    func perform(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        basicAuth: (user: String, password: String)? = nil, timeout: Double, caFile: String? = nil
    ) -> Response {
        guard let easy else {
            return Response(status: 0, body: [], truncated: false, seconds: 0, bytesDown: 0, bytesUp: 0,
                            failure: ("connection_failed", CurlEasy.unavailable))
        }
        var request = CurlRequest(url: url, method: method, timeout: timeout)
        request.headers = headers.map { "\($0.0): \($0.1)" }
        request.body = body
        request.basicAuth = basicAuth
        request.caFile = caFile
        request.userAgent = "clowder-agent/\(AgentVersion.current)"
        request.keepBodyBytes = maxBodyBytes
        let t = easy.perform(request)
        let failure = t.failure.map { (HTTPProbe.outcome(for: $0.kind).rawValue, "curl error \($0.code): \($0.message)") }
        return Response(status: t.status, body: t.body, truncated: t.bodyTruncated,
                        seconds: Double(t.timings.total) / 1e6, bytesDown: t.bytesDownloaded, bytesUp: t.bytesUploaded,
                        failure: failure)
    }
}
