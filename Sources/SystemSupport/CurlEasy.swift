import CCurl

/// One HTTP request for ``CurlEasy/perform(_:)``: what the forwarder, the probes and the sinks'
/// HTTP destinations ask of libcurl, as values instead of `CURLOPT_*` calls.
package struct CurlRequest {
    /// The absolute http(s) URL, query included (`CURLOPT_URL`).
    package var url: String
    /// `GET`, `HEAD` (`CURLOPT_NOBODY`), `POST` (`CURLOPT_POST` with a body) or any other
    /// (`CURLOPT_CUSTOMREQUEST`).
    package var method: String
    /// Request header lines such as `Content-Type: application/json` (`CURLOPT_HTTPHEADER`);
    /// `Expect:` is always added (no 100-continue round trip).
    package var headers: [String] = []
    /// Request body, sent with `Content-Length` (`CURLOPT_POSTFIELDS`), or nil.
    package var body: [UInt8]? = nil
    /// Seconds for the whole exchange (`CURLOPT_TIMEOUT_MS`).
    package var timeout: Double
    /// Seconds to connect (`CURLOPT_CONNECTTIMEOUT_MS`); nil: the whole `timeout`.
    package var connectTimeout: Double? = nil
    /// `User-Agent`, or nil for none (`CURLOPT_USERAGENT`).
    package var userAgent: String? = nil
    /// CA bundle for https, or nil for the system's (`CURLOPT_CAINFO`).
    package var caFile: String? = nil
    /// Verify the TLS peer and host name (`CURLOPT_SSL_VERIFYPEER`, `CURLOPT_SSL_VERIFYHOST`).
    package var verifyTLS = true
    /// HTTP Basic credentials (`CURLOPT_HTTPAUTH`, `CURLOPT_USERNAME`, `CURLOPT_PASSWORD`), or nil.
    package var basicAuth: (user: String, password: String)? = nil
    /// Follow up to 10 redirects (`CURLOPT_FOLLOWLOCATION`, `CURLOPT_MAXREDIRS`).
    package var followRedirects = false
    /// Reuse a kept connection and DNS answer; false makes each request measure a fresh
    /// lookup and handshake (`CURLOPT_FRESH_CONNECT`, `CURLOPT_FORBID_REUSE`,
    /// `CURLOPT_DNS_CACHE_TIMEOUT` 0).
    package var reuseConnections = true
    /// Collect the TLS certificate chain (`CURLOPT_CERTINFO`) for ``CurlTransfer/leafCertificate``.
    package var certificateInfo = false
    /// Collect the response headers (``CurlTransfer/headers``).
    package var collectHeaders = false
    /// Body bytes kept in ``CurlTransfer/body``; the rest is counted, not kept.
    package var keepBodyBytes = 64 << 10
    /// Asked about once a second during the transfer (`CURLOPT_XFERINFOFUNCTION`); true aborts it
    /// (`CURLE_ABORTED_BY_CALLBACK`).
    package var shouldAbort: (() -> Bool)? = nil

    /// - Parameters: see the properties.
    package init(url: String, method: String = "GET", timeout: Double) {
        self.url = url
        self.method = method
        self.timeout = timeout
    }
}

/// libcurl's cumulative times for one transfer, microseconds from its start, 0 when not
/// reached (`CURLINFO_*_TIME_T`, https://curl.se/libcurl/c/curl_easy_getinfo.html "TIMES").
package struct CurlTimings: Sendable, Equatable {
    /// `CURLINFO_NAMELOOKUP_TIME_T`.
    package var nameLookup: Int64
    /// `CURLINFO_CONNECT_TIME_T`.
    package var connect: Int64
    /// `CURLINFO_APPCONNECT_TIME_T` (TLS done; 0 without TLS).
    package var appConnect: Int64
    /// `CURLINFO_STARTTRANSFER_TIME_T` (first response byte).
    package var startTransfer: Int64
    /// `CURLINFO_TOTAL_TIME_T`.
    package var total: Int64
}

/// Why a transfer failed: libcurl's `CURLcode` (libcurl-errors(3)) and its texts.
package struct CurlFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure, for the probes' `result` and the sinks' retry decision.
    package enum Kind: Sendable, Equatable {
        /// `CURLE_OPERATION_TIMEDOUT`.
        case timeout
        /// `CURLE_ABORTED_BY_CALLBACK`: ``CurlRequest/shouldAbort`` said so.
        case aborted
        /// `CURLE_COULDNT_RESOLVE_HOST`/`_PROXY`.
        case dns
        /// `CURLE_SSL_*`, `CURLE_PEER_FAILED_VERIFICATION`, `CURLE_USE_SSL_FAILED`.
        case tls
        /// Anything else: refused, reset, nothing received, a bad URL.
        case connection
    }

    /// The `CURLcode` value (0 is success and never a failure).
    package var code: Int32
    /// `curl_easy_strerror(code)`, e.g. `Couldn't connect to server`.
    package var summary: String
    /// The `CURLOPT_ERRORBUFFER` text (more precise), or empty.
    package var detail: String

    /// The kind of ``code``.
    package var kind: Kind {
        switch CURLcode(UInt32(bitPattern: code)) {
        case CURLE_OPERATION_TIMEDOUT: .timeout
        case CURLE_ABORTED_BY_CALLBACK: .aborted
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: .dns
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_USE_SSL_FAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CLIENTCERT:
            .tls
        default: .connection
        }
    }

    /// The more precise of the two texts: ``detail``, or ``summary`` when it is empty.
    package var message: String { detail.isEmpty ? summary : detail }

    /// `summary: detail`, or `summary` alone.
    package var description: String { detail.isEmpty ? summary : "\(summary): \(detail)" }
}

/// What one ``CurlEasy/perform(_:)`` measured and received.
package struct CurlTransfer {
    /// nil on a complete exchange (any HTTP status); else why it failed.
    package var failure: CurlFailure?
    /// The final HTTP status, 0 when no response arrived (`CURLINFO_RESPONSE_CODE`).
    package var status: Int
    /// The first ``CurlRequest/keepBodyBytes`` of the body.
    package var body: [UInt8]
    /// Body bytes received, also beyond what was kept.
    package var bodyBytesReceived: Int
    /// Body bytes sent (`CURLINFO_SIZE_UPLOAD_T`).
    package var bytesUploaded: Int64
    /// Body bytes received as libcurl counts them (`CURLINFO_SIZE_DOWNLOAD_T`).
    package var bytesDownloaded: Int64
    /// Cumulative phase times.
    package var timings: CurlTimings
    /// Redirects followed (`CURLINFO_REDIRECT_COUNT`).
    package var redirects: Int
    /// The last URL used (`CURLINFO_EFFECTIVE_URL`).
    package var effectiveURL: String?
    /// The peer's IP address (`CURLINFO_PRIMARY_IP`).
    package var remoteAddress: String?
    /// The final response's headers, names lowercased, values trimmed (when collected).
    package var headers: [(name: String, value: String)]
    /// The leaf certificate's `name: value` lines (`CURLINFO_CERTINFO`; OpenSSL backend), when
    /// asked for and the transfer succeeded; else empty.
    package var leafCertificate: [String]

    /// Whether the kept body was shorter than the body.
    package var bodyTruncated: Bool { bodyBytesReceived > body.count }

    /// The last value of header `name` (lowercase).
    package func header(_ name: String) -> String? { headers.last { $0.name == name }?.value }
}

/// One libcurl easy handle (https://curl.se/libcurl/c/libcurl-easy.html), the only owner of
/// `curl_easy_init` in the program family. `curl_global_init` runs once, before the first handle.
///
/// The handle is kept between requests so that its connection cache, DNS cache and TLS context
/// live on (``CurlRequest/reuseConnections`` turns reuse off); it is reset (`curl_easy_reset`,
/// which keeps those) before each request. `perform` blocks for at most the request's timeout:
/// run it on a thread of its own, never on Swift's cooperative pool. Not thread-safe.
///
/// ```swift
/// let easy = try CurlEasy()
/// var request = CurlRequest(url: "http://127.0.0.1:8086/ping", timeout: 5)
/// let transfer = easy.perform(request)
/// print(transfer.status, transfer.timings.total)
/// ```
package final class CurlEasy {
    /// `curl_global_init(CURL_GLOBAL_ALL)` (3; a macro Swift cannot import), run exactly once
    /// (Swift runs a static's initialiser once, thread-safely) before any handle is made.
    private static let globalInit: CURLcode = curl_global_init(3)

    /// What a caller reports when ``init()`` failed and it has no handle.
    package static let unavailable = "libcurl could not make a handle (curl_easy_init failed)"

    private let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let state = TransferState()

    /// Makes the handle.
    /// - Throws: ``CurlFailure`` when `curl_global_init` or `curl_easy_init` fails (memory).
    package init() throws(CurlFailure) {
        let global = Self.globalInit
        guard global == CURLE_OK else {
            throw CurlFailure(code: Int32(bitPattern: global.rawValue), summary: Self.text(global), detail: "curl_global_init failed")
        }
        guard let h = curl_easy_init() else {
            throw CurlFailure(code: Int32(bitPattern: CURLE_FAILED_INIT.rawValue), summary: Self.text(CURLE_FAILED_INIT), detail: "curl_easy_init failed")
        }
        handle = h
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// Sends one request and waits for the whole answer (or the timeout, or an abort).
    /// - Returns: what was received and measured; ``CurlTransfer/failure`` tells whether it completed.
    package func perform(_ request: CurlRequest) -> CurlTransfer {
        let h = handle
        curl_easy_reset(h)
        errorBuffer[0] = 0
        state.begin(request)
        var list: UnsafeMutablePointer<curl_slist>?
        for line in request.headers { list = curl_slist_append(list, line) }
        list = curl_slist_append(list, "Expect:")
        defer { curl_slist_free_all(list) }

        _ = ccurl_easy_setopt_string(h, CURLOPT_URL, request.url)
        _ = ccurl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)  // threads: no SIGALRM for timeouts
        let timeout = max(1, Int(request.timeout * 1000))
        _ = ccurl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, timeout)
        _ = ccurl_easy_setopt_long(
            h, CURLOPT_CONNECTTIMEOUT_MS, min(timeout, max(1, Int((request.connectTimeout ?? request.timeout) * 1000))))
        if let ua = request.userAgent { _ = ccurl_easy_setopt_string(h, CURLOPT_USERAGENT, ua) }
        _ = ccurl_easy_setopt_slist(h, CURLOPT_HTTPHEADER, list)
        if !request.verifyTLS {
            _ = ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 0)
            _ = ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let ca = request.caFile { _ = ccurl_easy_setopt_string(h, CURLOPT_CAINFO, ca) }
        if let auth = request.basicAuth {
            _ = ccurl_easy_setopt_long(h, CURLOPT_HTTPAUTH, 1 /* CURLAUTH_BASIC */)
            _ = ccurl_easy_setopt_string(h, CURLOPT_USERNAME, auth.user)
            _ = ccurl_easy_setopt_string(h, CURLOPT_PASSWORD, auth.password)
        }
        if request.followRedirects {
            _ = ccurl_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, 1)
            _ = ccurl_easy_setopt_long(h, CURLOPT_MAXREDIRS, 10)
        }
        if !request.reuseConnections {
            _ = ccurl_easy_setopt_long(h, CURLOPT_FRESH_CONNECT, 1)
            _ = ccurl_easy_setopt_long(h, CURLOPT_FORBID_REUSE, 1)
            _ = ccurl_easy_setopt_long(h, CURLOPT_DNS_CACHE_TIMEOUT, 0)
        }
        if request.certificateInfo { _ = ccurl_easy_setopt_long(h, CURLOPT_CERTINFO, 1) }
        switch request.method {
        case "GET": break
        case "HEAD": _ = ccurl_easy_setopt_long(h, CURLOPT_NOBODY, 1)
        case "POST" where request.body != nil: _ = ccurl_easy_setopt_long(h, CURLOPT_POST, 1)
        default: _ = ccurl_easy_setopt_string(h, CURLOPT_CUSTOMREQUEST, request.method)
        }
        _ = ccurl_easy_setopt_pointer(h, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
        let context = Unmanaged.passUnretained(state).toOpaque()
        _ = ccurl_easy_setopt_write_function(h, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let n = size * count
            if let data, let context {
                Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
                    .receive(UnsafeRawBufferPointer(start: data, count: n))
            }
            return n
        }
        _ = ccurl_easy_setopt_pointer(h, CURLOPT_WRITEDATA, context)
        if request.collectHeaders {
            _ = ccurl_easy_setopt_write_function(h, CURLOPT_HEADERFUNCTION) { data, size, count, context in
                let n = size * count
                if let data, let context {
                    Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
                        .header(UnsafeRawBufferPointer(start: data, count: n))
                }
                return n
            }
            _ = ccurl_easy_setopt_pointer(h, CURLOPT_HEADERDATA, context)
        }
        if request.shouldAbort != nil {
            _ = ccurl_easy_setopt_long(h, CURLOPT_NOPROGRESS, 0)
            _ = ccurl_easy_setopt_xferinfo_function(h) { context, _, _, _, _ in
                guard let context else { return 0 }
                return Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue().shouldAbort?() == true ? 1 : 0
            }
            _ = ccurl_easy_setopt_pointer(h, CURLOPT_XFERINFODATA, context)
        }

        let code: CURLcode
        if let body = request.body {
            code = body.withUnsafeBytes { raw in
                _ = ccurl_easy_setopt_off_t(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(raw.count))
                // An empty body still needs a non-null pointer, or curl reads one with strlen.
                _ = ccurl_easy_setopt_pointer(
                    h, CURLOPT_POSTFIELDS,
                    UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(errorBuffer)))
                return curl_easy_perform(h)
            }
        } else {
            code = curl_easy_perform(h)
        }
        // Nothing the handle points at may outlive this call.
        _ = ccurl_easy_setopt_pointer(h, CURLOPT_POSTFIELDS, nil)
        _ = ccurl_easy_setopt_slist(h, CURLOPT_HTTPHEADER, nil)
        return finish(code, request)
    }

    private func finish(_ code: CURLcode, _ request: CurlRequest) -> CurlTransfer {
        let h = handle
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
        var failure: CurlFailure?
        if code != CURLE_OK {
            failure = CurlFailure(
                code: Int32(bitPattern: code.rawValue), summary: Self.text(code),
                detail: errorBuffer[0] != 0 ? String(cString: errorBuffer) : "")
        }
        let body = state.body
        state.body = []
        state.shouldAbort = nil
        return CurlTransfer(
            failure: failure, status: long(CURLINFO_RESPONSE_CODE), body: body,
            bodyBytesReceived: state.received, bytesUploaded: offT(CURLINFO_SIZE_UPLOAD_T),
            bytesDownloaded: offT(CURLINFO_SIZE_DOWNLOAD_T),
            timings: CurlTimings(
                nameLookup: offT(CURLINFO_NAMELOOKUP_TIME_T), connect: offT(CURLINFO_CONNECT_TIME_T),
                appConnect: offT(CURLINFO_APPCONNECT_TIME_T), startTransfer: offT(CURLINFO_STARTTRANSFER_TIME_T),
                total: offT(CURLINFO_TOTAL_TIME_T)),
            redirects: long(CURLINFO_REDIRECT_COUNT), effectiveURL: string(CURLINFO_EFFECTIVE_URL),
            remoteAddress: string(CURLINFO_PRIMARY_IP), headers: state.headers,
            leafCertificate: request.certificateInfo && code == CURLE_OK ? leafCertificate() : [])
    }

    /// The first certificate's lines from `CURLINFO_CERTINFO`.
    private func leafCertificate() -> [String] {
        var info: UnsafeMutablePointer<curl_certinfo>?
        guard ccurl_easy_getinfo_certinfo(handle, &info) == CURLE_OK, let info, info.pointee.num_of_certs > 0,
              let lists = info.pointee.certinfo
        else { return [] }
        var lines: [String] = []
        var node = lists[0]
        while let n = node {
            if let data = n.pointee.data { lines.append(String(cString: data)) }
            node = n.pointee.next
        }
        return lines
    }

    /// `curl_easy_strerror`.
    private static func text(_ code: CURLcode) -> String { String(cString: curl_easy_strerror(code)) }

    /// Seconds since the epoch for an HTTP-date in any of the three formats of RFC 9110 §5.6.7
    /// (`curl_getdate(3)`), or nil when `text` is not a date.
    package static func parseDate(_ text: String) -> Int64? {
        let t = curl_getdate(text, nil)
        return t >= 0 ? Int64(t) : nil
    }
}

/// What the callbacks of one transfer fill in.
private final class TransferState {
    var body: [UInt8] = []
    var received = 0
    var keep = 0
    var headers: [(name: String, value: String)] = []
    var shouldAbort: (() -> Bool)?

    func begin(_ request: CurlRequest) {
        body = []
        received = 0
        keep = request.keepBodyBytes
        headers = []
        shouldAbort = request.shouldAbort
    }

    func receive(_ bytes: UnsafeRawBufferPointer) {
        received += bytes.count
        let room = keep - body.count
        if room > 0 { body.append(contentsOf: bytes.prefix(room)) }
    }

    /// One header line (`Name: value\r\n`); a status line starts a new response (after a
    /// `100 Continue` or a redirect).
    func header(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("HTTP/") { headers.removeAll() }
        guard let colon = line.firstIndex(of: ":") else { return }
        headers.append((line[..<colon].lowercased(), trimmed(line[line.index(after: colon)...])))
    }
}

/// `s` without leading and trailing spaces, tabs, CR and LF.
private func trimmed(_ s: Substring) -> String {
    var u = s.unicodeScalars[...]
    while let f = u.first, f == " " || f == "\t" || f == "\r" || f == "\n" { u.removeFirst() }
    while let l = u.last, l == " " || l == "\t" || l == "\r" || l == "\n" { u.removeLast() }
    return String(u)
}
