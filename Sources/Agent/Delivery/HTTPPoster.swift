#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CCurl

/// One HTTP exchange's outcome.
struct HTTPOutcome: Sendable {
    /// HTTP status, or 0 when no response arrived (network, TLS or timeout error).
    var status: Int
    /// Response body (at most 64 KiB kept).
    var body: [UInt8]
    /// `Content-Type` of the response, lowercased, if any.
    var contentType: String? = nil
    /// The `Retry-After` value as received (RFC 9110 §10.2.3), if any.
    var retryAfter: String? = nil
    /// libcurl's error text when `status` is 0.
    var error: String? = nil
}

/// Collects what libcurl's callbacks deliver.
private final class ResponseSink {
    var body: [UInt8] = []
    /// Asked about once a second during the transfer; true aborts it.
    var shouldAbort: (() -> Bool)?
    var headers: [(String, String)] = []
    static let maxBody = 64 << 10
}

/// A POST client over one libcurl easy handle (https://curl.se/libcurl/c/libcurl-easy.html),
/// reused so the connection is kept alive between batches. TLS peer and host
/// verification stay on unless the configuration turns them off
/// (`CURLOPT_SSL_VERIFYPEER`, `CURLOPT_SSL_VERIFYHOST`); `CURLOPT_CAINFO` when a CA file is given.
///
/// Not thread-safe: used by the forwarder's thread only (and by tests).
final class HTTPPoster {
    private let handle: UnsafeMutableRawPointer
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    let caFile: String?
    let verifyTLS: Bool
    let connectTimeout: Double

    private static let globalInit: Bool = { curl_global_init(3 /* CURL_GLOBAL_ALL */) == CURLE_OK }()

    /// - Throws: ``DeliveryError`` `.http` when libcurl cannot be initialised.
    init(caFile: String?, verifyTLS: Bool, connectTimeout: Double) throws(DeliveryError) {
        guard Self.globalInit, let h = curl_easy_init() else { throw DeliveryError(.http, "curl_easy_init failed") }
        handle = h
        self.caFile = caFile
        self.verifyTLS = verifyTLS
        self.connectTimeout = connectTimeout
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// POSTs `body` to `url` with `headers`; waits at most `timeout` seconds in
    /// all, and gives up early when `shouldAbort` (asked about once a second,
    /// `CURLOPT_XFERINFOFUNCTION`) returns true.
    func post(
        url: String, headers: [(name: String, value: String)], body: [UInt8], timeout: Double,
        shouldAbort: (() -> Bool)? = nil
    ) -> HTTPOutcome {
        let h = handle
        curl_easy_reset(h)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let sink = ResponseSink()
        sink.shouldAbort = shouldAbort
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers { list = curl_slist_append(list, "\(name): \(value)") }
        list = curl_slist_append(list, "Expect:")  // no 100-continue round trip
        defer { curl_slist_free_all(list) }

        _ = ccurl_easy_setopt_string(h, CURLOPT_URL, url)
        _ = ccurl_easy_setopt_long(h, CURLOPT_POST, 1)
        _ = ccurl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_easy_setopt_string(h, CURLOPT_USERAGENT, "clowder-agent/\(AgentVersion.current)")
        _ = ccurl_easy_setopt_slist(h, CURLOPT_HTTPHEADER, list)
        _ = ccurl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, max(1, Int(timeout * 1000)))
        _ = ccurl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(min(connectTimeout, timeout) * 1000)))
        _ = ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, verifyTLS ? 1 : 0)
        _ = ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, verifyTLS ? 2 : 0)
        if let caFile { _ = ccurl_easy_setopt_string(h, CURLOPT_CAINFO, caFile) }
        _ = ccurl_easy_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = ccurl_easy_setopt_write_function(h, CURLOPT_WRITEFUNCTION) { data, size, count, user in
            let n = size * count
            let sink = Unmanaged<ResponseSink>.fromOpaque(user!).takeUnretainedValue()
            if let data, sink.body.count < ResponseSink.maxBody {
                let keep = min(n, ResponseSink.maxBody - sink.body.count)
                data.withMemoryRebound(to: UInt8.self, capacity: keep) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: keep)) }
            }
            return n
        }
        _ = ccurl_easy_setopt_pointer(h, CURLOPT_WRITEDATA, sinkPointer)
        _ = ccurl_easy_setopt_write_function(h, CURLOPT_HEADERFUNCTION) { data, size, count, user in
            let n = size * count
            let sink = Unmanaged<ResponseSink>.fromOpaque(user!).takeUnretainedValue()
            if let data {
                let line = data.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
                if line.hasPrefix("HTTP/") { sink.headers.removeAll() }  // a new response (e.g. after 100 Continue)
                if let colon = line.firstIndex(of: ":") {
                    let name = line[..<colon].lowercased()
                    let value = trimmed(line[line.index(after: colon)...])
                    sink.headers.append((name, value))
                }
            }
            return n
        }
        _ = ccurl_easy_setopt_pointer(h, CURLOPT_HEADERDATA, sinkPointer)
        if shouldAbort != nil {
            _ = ccurl_easy_setopt_long(h, CURLOPT_NOPROGRESS, 0)
            _ = ccurl_easy_setopt_xferinfo_function(h) { user, _, _, _, _ in
                let sink = Unmanaged<ResponseSink>.fromOpaque(user!).takeUnretainedValue()
                return sink.shouldAbort?() == true ? 1 : 0
            }
            _ = ccurl_easy_setopt_pointer(h, CURLOPT_XFERINFODATA, sinkPointer)
        }

        let rc: CURLcode = body.withUnsafeBytes { raw in
            _ = ccurl_easy_setopt_off_t(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(raw.count))
            _ = ccurl_easy_setopt_pointer(h, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(errorBuffer)))
            return curl_easy_perform(h)
        }
        withExtendedLifetime(sink) {}
        guard rc == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            let text = String(cString: curl_easy_strerror(rc))
            return HTTPOutcome(status: 0, body: [], contentType: nil, retryAfter: nil,
                               error: detail.isEmpty ? text : "\(text): \(detail)")
        }
        var code = 0
        _ = ccurl_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &code)
        let header = { (name: String) in sink.headers.last { $0.0 == name }?.1 }
        return HTTPOutcome(
            status: code, body: sink.body, contentType: header("content-type")?.lowercased(),
            retryAfter: header("retry-after"), error: nil)
    }

    /// Seconds to wait for a `Retry-After` value (RFC 9110 §10.2.3): a
    /// number of seconds, or an HTTP-date (any of the three formats of
    /// RFC 9110 §5.6.7, parsed by `curl_getdate`) minus `now` (Unix seconds).
    /// nil when the value is neither.
    static func retryAfterSeconds(_ value: String, now: Double) -> Double? {
        let v = trimmed(Substring(value))
        if !v.isEmpty, v.utf8.allSatisfy({ (48...57).contains($0) }) { return Double(v) }
        let t = curl_getdate(v, nil)
        guard t >= 0 else { return nil }
        return max(0, Double(t) - now)
    }
}

/// `s` without leading and trailing spaces, tabs, CR and LF.
private func trimmed(_ s: Substring) -> String {
    var u = s.unicodeScalars[...]
    let ws: Set<Unicode.Scalar> = [" ", "\t", "\r", "\n"]
    while let f = u.first, ws.contains(f) { u.removeFirst() }
    while let l = u.last, ws.contains(l) { u.removeLast() }
    return String(u)
}
