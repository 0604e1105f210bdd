import SystemSupport
import Dispatch
import Synchronization

/// An HTTP response: the status code and the body bytes.
public struct HTTPResponse: Sendable {
    /// The status code, e.g. 204.
    public var status: Int
    /// The response body.
    public var body: [UInt8]
    /// The body as text (lossy UTF-8), at most `limit` bytes, for error messages.
    public func text(limit: Int = 300) -> String {
        String(decoding: body.prefix(limit), as: UTF8.self)
    }
}

/// A small blocking HTTP client over one libcurl easy handle, run on its own
/// serial dispatch queue so that the cooperative thread pool never blocks.
///
/// The handle is reused, so the connection is kept alive between requests
/// (libcurl's connection cache, https://curl.se/libcurl/c/curl_easy_perform.html).
/// Requests are serialised: one destination writes one batch at a time.
///
/// ```swift
/// let client = HTTPClient(label: "influx")
/// let r = try await client.post(url: "http://127.0.0.1:8086/write?db=x", headers: [], body: Array("m v=1i".utf8))
/// ```
final class HTTPClient: Sendable {
    private let queue: DispatchQueue
    private let easy: Mutex<CurlEasy?>
    /// Whole-request timeout, seconds (`CURLOPT_TIMEOUT_MS`).
    let timeout: Double
    /// Connect timeout, seconds (`CURLOPT_CONNECTTIMEOUT_MS`).
    let connectTimeout: Double

    /// - Parameters:
    ///   - label: the dispatch queue's label.
    ///   - timeout: whole-request timeout in seconds.
    ///   - connectTimeout: connect timeout in seconds.
    init(label: String, timeout: Double = 30, connectTimeout: Double = 5) {
        self.queue = DispatchQueue(label: "clowder-sink.http.\(label)")
        self.easy = Mutex(try? CurlEasy())
        self.timeout = timeout
        self.connectTimeout = connectTimeout
    }

    /// POSTs `body` to `url`.
    /// - Parameters:
    ///   - url: the absolute URL, query included.
    ///   - headers: header lines such as `Content-Type: application/json`.
    ///   - body: the request body.
    ///   - basicAuth: `user:password` for HTTP Basic authentication, if any.
    /// - Returns: the status and body of any HTTP answer (2xx or not).
    /// - Throws: ``SinkError`` (retryable) when no HTTP answer arrived: connection refused, timeout, DNS.
    func post(url: String, headers: [String], body: [UInt8], basicAuth: String? = nil) async throws -> HTTPResponse {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
            queue.async {
                let result = Result {
                    try self.easy.withLock { easy in
                        try Self.perform(
                            easy, url: url, headers: headers, body: body, basicAuth: basicAuth,
                            timeout: self.timeout, connectTimeout: self.connectTimeout)
                    }
                }
                continuation.resume(with: result)
            }
        }
    }

    /// One POST on `easy`; the whole body is kept.
    private static func perform(
        _ easy: CurlEasy?, url: String, headers: [String], body: [UInt8], basicAuth: String?, timeout: Double,
        connectTimeout: Double
    ) throws(SinkError) -> HTTPResponse {
        guard let easy else { throw SinkError.retryable(CurlEasy.unavailable) }
        var request = CurlRequest(url: url, method: "POST", timeout: timeout)
        request.headers = headers
        request.body = body
        request.connectTimeout = connectTimeout
        request.keepBodyBytes = .max
        if let basicAuth {
            // CURLOPT_USERPWD's rule: the user name ends at the first colon.
            let colon = basicAuth.firstIndex(of: ":") ?? basicAuth.endIndex
            let password = colon < basicAuth.endIndex ? String(basicAuth[basicAuth.index(after: colon)...]) : ""
            request.basicAuth = (String(basicAuth[..<colon]), password)
        }
        let t = easy.perform(request)
        if let failure = t.failure { throw SinkError.retryable("POST \(redacted(url)): \(failure.message)") }
        return HTTPResponse(status: t.status, body: t.body)
    }

    /// The URL without its query (which may hold an API secret or a password).
    static func redacted(_ url: String) -> String {
        if let q = url.firstIndex(of: "?") { return String(url[..<q]) + "?…" }
        return url
    }
}
