import CCurl
#if canImport(Glibc)
import Glibc
#endif

/// libcurl's process-wide initialisation (`curl_global_init(3)`), done once,
/// before any handle is made; Swift runs a global's initialiser exactly once.
private let curlGlobalInit: CURLcode = curl_global_init(3 /* CURL_GLOBAL_DEFAULT = SSL | WIN32 */)

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
    private let handle: UnsafeMutableRawPointer?
    private let sink: HTTPBodySink
    private let errorBuffer: UnsafeMutablePointer<CChar>

    /// Creates a probe and its curl handle.
    public convenience init(url: String, options: HTTPProbeOptions = HTTPProbeOptions()) {
        self.init(url: url, options: options, keepBodyBytes: options.expectedBody == nil ? 0 : 1 << 20)
    }

    /// Creates a probe that keeps the first `keepBodyBytes` of each body (``lastBody``).
    init(url: String, options: HTTPProbeOptions, keepBodyBytes: Int) {
        _ = curlGlobalInit
        self.url = url
        self.options = options
        self.handle = curl_easy_init()
        self.sink = HTTPBodySink(keep: keepBodyBytes)
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        if handle != nil { configure() }
    }

    deinit {
        if let handle { curl_easy_cleanup(handle) }
        errorBuffer.deallocate()
    }

    private func configure() {
        let h = handle
        _ = ccurl_easy_setopt_string(h, CURLOPT_URL, url)
        _ = ccurl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)  // threads: no SIGALRM for timeouts
        let ms = max(1, Int(options.timeout * 1000))
        _ = ccurl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, ms)
        _ = ccurl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, ms)
        _ = ccurl_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, options.followRedirects ? 1 : 0)
        _ = ccurl_easy_setopt_long(h, CURLOPT_MAXREDIRS, 10)
        _ = ccurl_easy_setopt_string(h, CURLOPT_USERAGENT, "clowder-agent/\(AgentVersion.current)")
        if options.method == "HEAD" {
            _ = ccurl_easy_setopt_long(h, CURLOPT_NOBODY, 1)
        } else if options.method != "GET" {
            _ = ccurl_easy_setopt_string(h, CURLOPT_CUSTOMREQUEST, options.method)
        }
        if !options.reuseConnections {
            _ = ccurl_easy_setopt_long(h, CURLOPT_FRESH_CONNECT, 1)
            _ = ccurl_easy_setopt_long(h, CURLOPT_FORBID_REUSE, 1)
            _ = ccurl_easy_setopt_long(h, CURLOPT_DNS_CACHE_TIMEOUT, 0)
        }
        if let ca = options.caFile { _ = ccurl_easy_setopt_string(h, CURLOPT_CAINFO, ca) }
        if url.lowercased().hasPrefix("https:") || options.followRedirects {
            _ = ccurl_easy_setopt_long(h, CURLOPT_CERTINFO, 1)
        }
        _ = ccurl_easy_setopt_pointer(h, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
        _ = ccurl_easy_setopt_write_function(h, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let sink = Unmanaged<HTTPBodySink>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            if let data { sink.append(UnsafeRawBufferPointer(start: data, count: n)) }
            return n
        }
        _ = ccurl_easy_setopt_pointer(h, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
        _ = ccurl_easy_setopt_long(h, CURLOPT_NOPROGRESS, 0)
        _ = ccurl_easy_setopt_xferinfo_function(h) { context, _, _, _, _ in
            let sink = Unmanaged<HTTPBodySink>.fromOpaque(context!).takeUnretainedValue()
            return sink.stop?.isStopped == true ? 1 : 0
        }
        _ = ccurl_easy_setopt_pointer(h, CURLOPT_XFERINFODATA, Unmanaged.passUnretained(sink).toOpaque())
    }

    /// The kept start of the last round's body.
    var lastBody: [UInt8] { sink.kept }

    /// Runs one request and returns what it measured. Blocks the calling thread
    /// for at most about ``HTTPProbeOptions/timeout`` seconds.
    public func run() -> HTTPResult { run(stop: nil) }

    /// One round; aborted (as a timeout) when `stop` fires.
    func run(stop: ProbeStopSignal?) -> HTTPResult {
        guard let h = handle else {
            return HTTPResult(url: url, method: options.method, outcome: .connectionFailed, statusCode: nil,
                              phases: HTTPPhases(dns: 0, connect: 0, tls: 0, firstByte: 0, transfer: 0, total: 0),
                              contentLength: 0, redirects: 0, message: "curl_easy_init failed")
        }
        sink.reset()
        sink.stop = stop
        errorBuffer[0] = 0
        let code = curl_easy_perform(h)
        sink.stop = nil

        func offT(_ info: CURLINFO) -> Int64 {
            var v: curl_off_t = 0
            return ccurl_easy_getinfo_off_t(h, info, &v) == CURLE_OK ? Int64(v) : 0
        }
        func long(_ info: CURLINFO) -> Int {
            var v: Int = 0
            return ccurl_easy_getinfo_long(h, info, &v) == CURLE_OK ? v : 0
        }
        func string(_ info: CURLINFO) -> String? {
            var p: UnsafeMutablePointer<CChar>?
            guard ccurl_easy_getinfo_string(h, info, &p) == CURLE_OK, let p else { return nil }
            return String(cString: p)
        }

        let status = long(CURLINFO_RESPONSE_CODE)
        let effective = string(CURLINFO_EFFECTIVE_URL)
        let outcome = classify(code: code, status: status)
        let appConnect = offT(CURLINFO_APPCONNECT_TIME_T)
        let usesTLS = appConnect > 0 || outcome == .tlsError
            || (effective ?? url).lowercased().hasPrefix("https:")
        let phases = HTTPPhases(
            microsecondsNameLookup: offT(CURLINFO_NAMELOOKUP_TIME_T), connect: offT(CURLINFO_CONNECT_TIME_T),
            appConnect: appConnect, startTransfer: offT(CURLINFO_STARTTRANSFER_TIME_T),
            total: offT(CURLINFO_TOTAL_TIME_T), usesTLS: usesTLS)
        var expiry: Double?
        if usesTLS, code == CURLE_OK {
            expiry = Self.certificateExpiry(h).map { Double($0) - Double(ProbeClock.wallNanoseconds()) / 1e9 }
        }
        var message: String?
        if code != CURLE_OK {
            let detail = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
            message = "curl error \(code.rawValue): \(detail)"
        } else if outcome == .responseStatusCodeMismatch {
            message = "status \(status), expected \(options.expectedStatus.map(String.init) ?? "2xx or 3xx")"
        } else if outcome == .bodyMismatch {
            message = "body does not contain \"\(options.expectedBody ?? "")\""
        }
        return HTTPResult(
            url: url, method: options.method, outcome: outcome, statusCode: status > 0 ? status : nil,
            phases: phases, contentLength: offT(CURLINFO_SIZE_DOWNLOAD_T), redirects: long(CURLINFO_REDIRECT_COUNT),
            tlsCertificateExpiry: expiry, effectiveURL: effective, remoteAddress: string(CURLINFO_PRIMARY_IP),
            curlCode: Int(code.rawValue), message: message)
    }

    /// The `result` for a finished transfer: curl's code first, then the checks.
    private func classify(code: CURLcode, status: Int) -> HTTPResult.Outcome {
        if code != CURLE_OK { return Self.outcome(forCurlCode: code) }
        if let want = options.expectedStatus {
            if status != want { return .responseStatusCodeMismatch }
        } else if !(200..<400).contains(status) {
            return .responseStatusCodeMismatch
        }
        if let body = options.expectedBody, !sink.contains(Array(body.utf8)) { return .bodyMismatch }
        return .success
    }

    /// Maps a failed transfer's `CURLcode` (libcurl-errors(3)) to a `result`.
    static func outcome(forCurlCode code: CURLcode) -> HTTPResult.Outcome {
        switch code {
        case CURLE_OPERATION_TIMEDOUT, CURLE_ABORTED_BY_CALLBACK: return .timeout
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .dnsError
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_USE_SSL_FAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CLIENTCERT:
            return .tlsError
        default: return .connectionFailed
        }
    }

    /// The leaf certificate's notAfter as epoch seconds, from `CURLINFO_CERTINFO`
    /// (the OpenSSL backend's "Expire date" entry, `ASN1_TIME_print` format
    /// `Mon DD HH:MM:SS YYYY GMT`).
    private static func certificateExpiry(_ h: UnsafeMutableRawPointer) -> Int64? {
        var info: UnsafeMutablePointer<curl_certinfo>?
        guard ccurl_easy_getinfo_certinfo(h, &info) == CURLE_OK, let info, info.pointee.num_of_certs > 0,
              let lists = info.pointee.certinfo
        else { return nil }
        var node = lists[0]
        while let n = node {
            if let data = n.pointee.data {
                let line = String(cString: data)
                if line.hasPrefix("Expire date:") {
                    return parseASN1Time(String(line.dropFirst("Expire date:".count)))
                }
            }
            node = n.pointee.next
        }
        return nil
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

/// Receives the body from curl's write callback: counts it, keeps the first
/// `keep` bytes for the body check, and carries the stop signal to the
/// progress callback.
final class HTTPBodySink {
    private let keep: Int
    private(set) var kept: [UInt8] = []
    var stop: ProbeStopSignal?

    init(keep: Int) { self.keep = keep }

    func reset() { kept.removeAll(keepingCapacity: true) }

    func append(_ bytes: UnsafeRawBufferPointer) {
        let room = keep - kept.count
        if room > 0 { kept.append(contentsOf: bytes.prefix(room)) }
    }

    /// Whether the kept body contains `needle` (an empty needle always matches).
    func contains(_ needle: [UInt8]) -> Bool {
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
}
