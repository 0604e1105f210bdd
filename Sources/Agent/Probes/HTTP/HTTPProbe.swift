import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP target, probed with libcurl's easy interface.
///
/// A probe keeps its easy handle between rounds (so the TLS context and CA
/// store are loaded once), but by default never its connection or DNS answer:
/// see ``HTTPProbeOptions/reuseConnections``. `curl_easy_perform` blocks, so
/// a probe runs on a thread of its own, never on Swift's cooperative pool. It
/// is not thread-safe.
///
/// ```swift
/// let probe = HTTPProbe(url: "https://clowder.example.org/healthz",
///                       options: HTTPProbeOptions(expectedBody: "healthy"))
/// let result = probe.run()
/// print(result.outcome, result.phases.total)
/// ```
public final class HTTPProbe {
    /// The URL probed.
    public let url: String
    /// Timeout, checks, redirects, reuse.
    public let options: HTTPProbeOptions
    private let easy: CurlEasy?
    private let keepBodyBytes: Int
    private var kept: [UInt8] = []

    /// Creates a probe and its curl handle.
    public convenience init(url: String, options: HTTPProbeOptions = HTTPProbeOptions()) {
        self.init(url: url, options: options, keepBodyBytes: options.expectedBody == nil ? 0 : 1 << 20)
    }

    /// Creates a probe that keeps the first `keepBodyBytes` of each body (``lastBody``).
    init(url: String, options: HTTPProbeOptions, keepBodyBytes: Int) {
        self.url = url
        self.options = options
        self.easy = try? CurlEasy()
        self.keepBodyBytes = keepBodyBytes
    }

    /// The request each round sends; the handle's connection and DNS caches outlive
    /// `curl_easy_reset`, so ``HTTPProbeOptions/reuseConnections`` decides reuse alone.
    private func request(stop: ProbeStopSignal?) -> CurlRequest {
        var r = CurlRequest(url: url, method: options.method, timeout: options.timeout)
        r.followRedirects = options.followRedirects
        r.userAgent = "clowder-agent/\(AgentVersion.current)"
        r.reuseConnections = options.reuseConnections
        r.caFile = options.caFile
        r.certificateInfo = url.lowercased().hasPrefix("https:") || options.followRedirects
        r.keepBodyBytes = keepBodyBytes
        if let stop { r.shouldAbort = { stop.isStopped } }
        return r
    }

    /// The kept start of the last round's body.
    var lastBody: [UInt8] { kept }

    /// Runs one request and returns what it measured. Blocks the calling thread
    /// for at most about ``HTTPProbeOptions/timeout`` seconds.
    public func run() -> HTTPResult { run(stop: nil) }

    /// One round; aborted (as a timeout) when `stop` fires.
    func run(stop: ProbeStopSignal?) -> HTTPResult {
        guard let easy else {
            return HTTPResult(url: url, method: options.method, outcome: .connectionFailed, statusCode: nil,
                              phases: HTTPPhases(dns: 0, connect: 0, tls: 0, firstByte: 0, transfer: 0, total: 0),
                              contentLength: 0, redirects: 0, message: CurlEasy.unavailable)
        }
        let t = easy.perform(request(stop: stop))
        kept = t.body
        let status = t.status
        let outcome = classify(t.failure, status: status)
        let appConnect = t.timings.appConnect
        let usesTLS = appConnect > 0 || outcome == .tlsError
            || (t.effectiveURL ?? url).lowercased().hasPrefix("https:")
        let phases = HTTPPhases(
            microsecondsNameLookup: t.timings.nameLookup, connect: t.timings.connect,
            appConnect: appConnect, startTransfer: t.timings.startTransfer,
            total: t.timings.total, usesTLS: usesTLS)
        var expiry: Double?
        if usesTLS, t.failure == nil {
            expiry = Self.certificateExpiry(t.leafCertificate).map { Double($0) - Double(ProbeClock.wallNanoseconds()) / 1e9 }
        }
        var message: String?
        if let failure = t.failure {
            message = "curl error \(failure.code): \(failure.message)"
        } else if outcome == .responseStatusCodeMismatch {
            message = "status \(status), expected \(options.expectedStatus.map(String.init) ?? "2xx or 3xx")"
        } else if outcome == .bodyMismatch {
            message = "body does not contain \"\(options.expectedBody ?? "")\""
        }
        return HTTPResult(
            url: url, method: options.method, outcome: outcome, statusCode: status > 0 ? status : nil,
            phases: phases, contentLength: t.bytesDownloaded, redirects: t.redirects,
            tlsCertificateExpiry: expiry, effectiveURL: t.effectiveURL, remoteAddress: t.remoteAddress,
            curlCode: Int(t.failure?.code ?? 0), message: message)
    }

    /// The `result` for a finished transfer: curl's code first, then the checks.
    private func classify(_ failure: CurlFailure?, status: Int) -> HTTPResult.Outcome {
        if let failure { return Self.outcome(for: failure.kind) }
        if let want = options.expectedStatus {
            if status != want { return .responseStatusCodeMismatch }
        } else if !(200..<400).contains(status) {
            return .responseStatusCodeMismatch
        }
        if let body = options.expectedBody, !Self.contains(kept, Array(body.utf8)) { return .bodyMismatch }
        return .success
    }

    /// Maps a failed transfer's kind (from its `CURLcode`, libcurl-errors(3)) to a `result`.
    static func outcome(for kind: CurlFailure.Kind) -> HTTPResult.Outcome {
        switch kind {
        case .timeout, .aborted: .timeout
        case .dns: .dnsError
        case .tls: .tlsError
        case .connection: .connectionFailed
        }
    }

    /// The leaf certificate's notAfter as epoch seconds, from its `CURLINFO_CERTINFO` lines
    /// (the OpenSSL backend's "Expire date" entry, `ASN1_TIME_print` format
    /// `Mon DD HH:MM:SS YYYY GMT`).
    private static func certificateExpiry(_ lines: [String]) -> Int64? {
        guard let line = lines.first(where: { $0.hasPrefix("Expire date:") }) else { return nil }
        return parseASN1Time(String(line.dropFirst("Expire date:".count)))
    }

    /// Whether `kept` contains `needle` (an empty needle always matches).
    static func contains(_ kept: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard kept.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        let last = kept.count - needle.count
        while i <= last {
            if kept[i] == first && kept[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    /// Parses `Mon DD HH:MM:SS YYYY GMT` (OpenSSL `ASN1_TIME_print`) to epoch seconds.
    static func parseASN1Time(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count >= 4 else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let month = months.firstIndex(of: String(parts[0])), let day = Int(parts[1]), let year = Int(parts[3])
        else { return nil }
        let hms = parts[2].split(separator: ":").compactMap { Int($0) }
        guard hms.count == 3 else { return nil }
        var t = tm()
        t.tm_year = Int32(year - 1900)
        t.tm_mon = Int32(month)
        t.tm_mday = Int32(day)
        t.tm_hour = Int32(hms[0])
        t.tm_min = Int32(hms[1])
        t.tm_sec = Int32(hms[2])
        return Int64(timegm(&t))
    }
}
