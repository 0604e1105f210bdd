import MetricsModel

/// Reads NGINX's `stub_status` page over HTTP (libcurl) each round.
///
/// ```swift
/// let probe = StubStatusProbe(url: "http://127.0.0.1/nginx_status")
/// if case .success(let status) = probe.run() { print(status.active) }
/// ```
public final class StubStatusProbe {
    /// The status page URL.
    public let url: String
    /// Host of the URL (the `server` tag).
    public let server: String
    /// Port of the URL, explicit or the scheme's default (the `port` tag).
    public let port: String
    private let http: HTTPProbe

    /// - Parameters:
    ///   - url: the status page, e.g. `http://127.0.0.1:8080/nginx_status`.
    ///   - timeout: seconds for the whole request. Default 5.
    public init(url: String, timeout: Double = 5) {
        self.url = url
        (server, port) = ProbeURL.hostAndPort(url)
        http = HTTPProbe(url: url, options: HTTPProbeOptions(timeout: timeout, followRedirects: false),
                         keepBodyBytes: 4096)
    }

    /// Fetches and parses the page once. Blocks the calling thread.
    /// - Returns: the counters, or a one-line reason (HTTP failure or unreadable page).
    public func run() -> Result<StubStatus, AgentError> { run(stop: nil) }

    func run(stop: ProbeStopSignal?) -> Result<StubStatus, AgentError> {
        let r = http.run(stop: stop)
        guard r.outcome == .success else {
            return .failure(AgentError(.stubStatus, "stub_status \(url): \(r.outcome.rawValue): \(r.message ?? "")"))
        }
        guard let s = StubStatus(parsing: http.lastBody) else {
            return .failure(AgentError(.stubStatus, "stub_status \(url): not an NGINX stub_status page"))
        }
        return .success(s)
    }
}
