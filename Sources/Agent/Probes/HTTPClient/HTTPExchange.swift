import CCurl
#if canImport(Glibc)
import Glibc
#endif

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

    private static let globalInit: CURLcode = curl_global_init(3 /* CURL_GLOBAL_DEFAULT */)
    private let handle: UnsafeMutableRawPointer?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let sink: Sink
    /// Longest body kept, bytes.
    let maxBodyBytes: Int

    final class Sink {
        var bytes: [UInt8] = []
        var total = 0
        let keep: Int
        init(keep: Int) { self.keep = keep }
    }

    init(maxBodyBytes: Int = 16 << 20) {
        _ = Self.globalInit
        self.maxBodyBytes = maxBodyBytes
        handle = curl_easy_init()
        sink = Sink(keep: maxBodyBytes)
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        if let handle { curl_easy_cleanup(handle) }
        errorBuffer.deallocate()
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
        guard let h = handle else {
            return Response(status: 0, body: [], truncated: false, seconds: 0, bytesDown: 0, bytesUp: 0,
                            failure: ("connection_failed", "curl_easy_init failed"))
        }
        curl_easy_reset(h)
        sink.bytes = []
        sink.total = 0
        errorBuffer[0] = 0
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers { list = curl_slist_append(list, "\(name): \(value)") }
        list = curl_slist_append(list, "Expect:")  // no 100-continue round trip
        defer { curl_slist_free_all(list) }
        _ = ccurl_easy_setopt_string(h, CURLOPT_URL, url)
        _ = ccurl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        let ms = max(1, Int(timeout * 1000))
        _ = ccurl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, ms)
        _ = ccurl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, ms)
        _ = ccurl_easy_setopt_string(h, CURLOPT_USERAGENT, "clowder-agent/\(AgentVersion.current)")
        _ = ccurl_easy_setopt_slist(h, CURLOPT_HTTPHEADER, list)
        if let caFile { _ = ccurl_easy_setopt_string(h, CURLOPT_CAINFO, caFile) }
        if let basicAuth {
            _ = ccurl_easy_setopt_long(h, CURLOPT_HTTPAUTH, 1 /* CURLAUTH_BASIC */)
            _ = ccurl_easy_setopt_string(h, CURLOPT_USERNAME, basicAuth.user)
            _ = ccurl_easy_setopt_string(h, CURLOPT_PASSWORD, basicAuth.password)
        }
        _ = ccurl_easy_setopt_pointer(h, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
        _ = ccurl_easy_setopt_write_function(h, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            if let data {
                sink.total += n
                let room = sink.keep - sink.bytes.count
                if room > 0 {
                    sink.bytes += UnsafeRawBufferPointer(start: data, count: min(n, room))
                }
            }
            return n
        }
        _ = ccurl_easy_setopt_pointer(h, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
        if method == "HEAD" {
            _ = ccurl_easy_setopt_long(h, CURLOPT_NOBODY, 1)
        } else if method != "GET" {
            _ = ccurl_easy_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
        }
        let payload = body ?? []
        let code: CURLcode = payload.withUnsafeBytes { raw in
            if body != nil {
                _ = ccurl_easy_setopt_off_t(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(raw.count))
                // An empty body still needs a non-null pointer, or curl reads one with strlen.
                _ = ccurl_easy_setopt_pointer(h, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
                if method == "POST" { _ = ccurl_easy_setopt_long(h, CURLOPT_POST, 1) }
            }
            return curl_easy_perform(h)
        }
        var status = 0
        _ = ccurl_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        var total: curl_off_t = 0, down: curl_off_t = 0, up: curl_off_t = 0
        _ = ccurl_easy_getinfo_off_t(h, CURLINFO_TOTAL_TIME_T, &total)
        _ = ccurl_easy_getinfo_off_t(h, CURLINFO_SIZE_DOWNLOAD_T, &down)
        _ = ccurl_easy_getinfo_off_t(h, CURLINFO_SIZE_UPLOAD_T, &up)
        var failure: (String, String)?
        if code != CURLE_OK {
            let detail = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
            failure = (HTTPProbe.outcome(forCurlCode: code).rawValue, "curl error \(code.rawValue): \(detail)")
        }
        return Response(status: status, body: sink.bytes, truncated: sink.total > sink.bytes.count,
                        seconds: Double(total) / 1e6, bytesDown: Int64(down), bytesUp: Int64(up), failure: failure)
    }
}
