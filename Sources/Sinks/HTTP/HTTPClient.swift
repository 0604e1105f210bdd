import CCurl
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
    private let handle: Mutex<CurlHandle>
    /// Whole-request timeout, seconds (`CURLOPT_TIMEOUT_MS`).
    let timeout: Double
    /// Connect timeout, seconds (`CURLOPT_CONNECTTIMEOUT_MS`).
    let connectTimeout: Double

    private static let globalInit: Bool = {
        curl_global_init(3) == CURLE_OK  // CURL_GLOBAL_ALL (a macro Swift cannot import)
    }()

    /// - Parameters:
    ///   - label: the dispatch queue's label.
    ///   - timeout: whole-request timeout in seconds.
    ///   - connectTimeout: connect timeout in seconds.
    init(label: String, timeout: Double = 30, connectTimeout: Double = 5) {
        _ = Self.globalInit
        self.queue = DispatchQueue(label: "clowder-sink.http.\(label)")
        self.handle = Mutex(CurlHandle())
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
                    try self.handle.withLock { h in
                        try h.perform(
                            url: url, headers: headers, body: body, basicAuth: basicAuth,
                            timeout: self.timeout, connectTimeout: self.connectTimeout)
                    }
                }
                continuation.resume(with: result)
            }
        }
    }
}

/// Owns one `CURL *` easy handle.
struct CurlHandle: ~Copyable {
    let curl: UnsafeMutableRawPointer?

    init() { curl = curl_easy_init() }

    deinit { if let curl { curl_easy_cleanup(curl) } }

    /// The collected response body; curl's write callback appends to it.
    final class Sink {
        var bytes: [UInt8] = []
    }

    func perform(
        url: String, headers: [String], body: [UInt8], basicAuth: String?, timeout: Double, connectTimeout: Double
    ) throws -> HTTPResponse {
        guard let curl else { throw SinkError.retryable("curl_easy_init failed") }
        curl_easy_reset(curl)
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for h in headers + ["Expect:"] { list = curl_slist_append(list, h) }
        defer { curl_slist_free_all(list) }
        let sink = Sink()
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = url.withCString { urlC in
            (basicAuth ?? "").withCString { authC in
                body.withUnsafeBytes { bodyBytes in
                    errorBuffer.withUnsafeMutableBufferPointer { errBuf in
                        _ = ccurl_easy_setopt_string(curl, CURLOPT_URL, urlC)
                        _ = ccurl_easy_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
                        _ = ccurl_easy_setopt_long(curl, CURLOPT_POST, 1)
                        _ = ccurl_easy_setopt_pointer(
                            curl, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bodyBytes.baseAddress))
                        _ = ccurl_easy_setopt_off_t(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bodyBytes.count))
                        _ = ccurl_easy_setopt_slist(curl, CURLOPT_HTTPHEADER, list)
                        _ = ccurl_easy_setopt_long(curl, CURLOPT_TIMEOUT_MS, Int(timeout * 1000))
                        _ = ccurl_easy_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000))
                        _ = ccurl_easy_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errBuf.baseAddress)
                        if basicAuth != nil {
                            _ = ccurl_easy_setopt_long(curl, CURLOPT_HTTPAUTH, 1)  // CURLAUTH_BASIC
                            _ = ccurl_easy_setopt_string(curl, CURLOPT_USERPWD, authC)
                        }
                        _ = ccurl_easy_setopt_write_function(curl, CURLOPT_WRITEFUNCTION) { data, size, count, user in
                            let n = size * count
                            guard let data, let user else { return n }
                            let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
                            sink.bytes.append(
                                contentsOf: UnsafeRawBufferPointer(start: data, count: n).bindMemory(to: UInt8.self))
                            return n
                        }
                        _ = ccurl_easy_setopt_pointer(curl, CURLOPT_WRITEDATA, sinkPointer)
                        let rc = curl_easy_perform(curl)
                        // The error buffer and the body go out of scope: detach them from the handle.
                        _ = ccurl_easy_setopt_pointer(curl, CURLOPT_ERRORBUFFER, nil)
                        return rc
                    }
                }
            }
        }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            throw SinkError.retryable("POST \(Self.redacted(url)): \(text)")
        }
        var status = 0
        _ = ccurl_easy_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, body: sink.bytes)
    }

    /// The URL without its query (which may hold an API secret or a password).
    static func redacted(_ url: String) -> String {
        if let q = url.firstIndex(of: "?") { return String(url[..<q]) + "?…" }
        return url
    }
}
