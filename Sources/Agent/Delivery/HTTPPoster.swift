#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemSupport

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

/// A POST client over one libcurl easy handle (``CurlEasy``), reused so the connection is kept
/// alive between batches. TLS peer and host verification stay on unless the configuration turns
/// them off (`CURLOPT_SSL_VERIFYPEER`, `CURLOPT_SSL_VERIFYHOST`); `CURLOPT_CAINFO` when a CA file is given.
///
/// Not thread-safe: used by the forwarder's thread only (and by tests).
final class HTTPPoster {
    private let easy: CurlEasy
    let caFile: String?
    let verifyTLS: Bool
    let connectTimeout: Double
    /// Response body bytes kept (a problem document or an acknowledgement).
    static let maxBody = 64 << 10

    /// - Throws: ``DeliveryError`` `.http` when libcurl cannot be initialised.
    init(caFile: String?, verifyTLS: Bool, connectTimeout: Double) throws(DeliveryError) {
        do { easy = try CurlEasy() } catch { throw DeliveryError(.http, underlying: error) }
        self.caFile = caFile
        self.verifyTLS = verifyTLS
        self.connectTimeout = connectTimeout
    }

    /// POSTs `body` to `url` with `headers`; waits at most `timeout` seconds in
    /// all, and gives up early when `shouldAbort` (asked about once a second,
    /// `CURLOPT_XFERINFOFUNCTION`) returns true.
    func post(
        url: String, headers: [(name: String, value: String)], body: [UInt8], timeout: Double,
        shouldAbort: (() -> Bool)? = nil
    ) -> HTTPOutcome {
        var request = CurlRequest(url: url, method: "POST", timeout: timeout)
        request.headers = headers.map { "\($0.name): \($0.value)" }
        request.body = body
        request.connectTimeout = connectTimeout
        request.userAgent = "clowder-agent/\(AgentVersion.current)"
        request.verifyTLS = verifyTLS
        request.caFile = caFile
        request.collectHeaders = true
        request.keepBodyBytes = Self.maxBody
        request.shouldAbort = shouldAbort
        let transfer = easy.perform(request)
        if let failure = transfer.failure {
            return HTTPOutcome(status: 0, body: [], contentType: nil, retryAfter: nil, error: failure.description)
        }
        return HTTPOutcome(
            status: transfer.status, body: transfer.body, contentType: transfer.header("content-type")?.lowercased(),
            retryAfter: transfer.header("retry-after"), error: nil)
    }

    /// Seconds to wait for a `Retry-After` value (RFC 9110 §10.2.3): a
    /// number of seconds, or an HTTP-date (any of the three formats of
    /// RFC 9110 §5.6.7, parsed by `curl_getdate`) minus `now` (Unix seconds).
    /// nil when the value is neither.
    static func retryAfterSeconds(_ value: String, now: Double) -> Double? {
        let v = trimmed(Substring(value))
        if !v.isEmpty, v.utf8.allSatisfy({ (48...57).contains($0) }) { return Double(v) }
        guard let t = CurlEasy.parseDate(v) else { return nil }
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
