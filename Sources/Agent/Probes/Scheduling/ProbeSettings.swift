/// What the probes measure and how often: the agent's probe configuration.
///
/// Every member has a default, so `ProbeSettings(httpTargets: ["https://clowder.example.org/healthz"])`
/// is a complete configuration. A settings value with no target at all is
/// valid (the scheduler then only waits for cancellation); so is a probe-only
/// agent with no access log, which is what runs in remote regions.
///
/// ```swift
/// let settings = ProbeSettings(
///     httpTargets: ["https://clowder.example.org/healthz"],
///     pingTargets: ["clowder.example.org"],
///     stubStatusURL: "http://127.0.0.1/nginx_status",
///     interval: 30, expectBody: "healthy")
/// ```
public struct ProbeSettings: Sendable, Hashable {
    /// URLs probed with HTTP (`http_response`). Default none.
    public var httpTargets: [String]
    /// Host names or IPv4/IPv6 addresses probed with ICMP echo (`ping`). Default none.
    public var pingTargets: [String]
    /// NGINX `stub_status` page read each round (`nginx`). Default none.
    public var stubStatusURL: String?
    /// Seconds between two rounds of one target. Default 60.
    public var interval: Double
    /// Per-target interval in seconds, keyed by the target exactly as listed
    /// (URL, host, or the stub_status URL); overrides ``interval``. Default none.
    public var targetIntervals: [String: Double]
    /// Echo requests per ping round. Default 5.
    public var pingCount: Int
    /// Seconds between two echo requests of a round. Default 1.0 (Telegraf's `ping_interval`).
    public var pingInterval: Double
    /// Seconds to wait for replies after the last echo request. Default 2.0.
    public var pingTimeout: Double
    /// Seconds allowed for one HTTP request (and stub_status read). Default 10.
    public var httpTimeout: Double
    /// Status an HTTP target must answer; `nil` (default) accepts any 2xx or 3xx.
    public var expectStatus: Int?
    /// Byte string every HTTP target's body must contain (Clowder's `/healthz`
    /// answers `healthy`); `nil` (default) checks no body.
    public var expectBody: String?
    /// Follow HTTP redirects. Default `true`.
    public var followRedirects: Bool
    /// Reuse HTTP connections and DNS answers between rounds. Default `false`
    /// (each round measures DNS and connect afresh).
    public var reuseConnections: Bool
    /// Seconds of history for the `uptime` of `service_status` events. Default 3600.
    public var uptimeWindow: Double
    /// `service_name` of the events, keyed by target; default the target itself.
    public var serviceNames: [String: String]
    /// Start each target at a random offset within its first interval, so targets
    /// do not all fire at once. Default `true`.
    public var randomStartOffset: Bool
    /// Hosts that show whether the agent's own way out works, tried when a
    /// round fails (see ``WitnessChecker``). Default none: every failure is `down`.
    public var witnesses: [WitnessTarget]
    /// Seconds each witness may take to answer. Default 3.
    public var witnessTimeout: Double

    /// - Parameters: see the properties; each defaults as documented there.
    public init(
        httpTargets: [String] = [], pingTargets: [String] = [], stubStatusURL: String? = nil,
        interval: Double = 60, targetIntervals: [String: Double] = [:],
        pingCount: Int = 5, pingInterval: Double = 1.0, pingTimeout: Double = 2.0,
        httpTimeout: Double = 10, expectStatus: Int? = nil, expectBody: String? = nil,
        followRedirects: Bool = true, reuseConnections: Bool = false,
        uptimeWindow: Double = 3600, serviceNames: [String: String] = [:], randomStartOffset: Bool = true,
        witnesses: [WitnessTarget] = [], witnessTimeout: Double = 3
    ) {
        self.witnesses = witnesses
        self.witnessTimeout = witnessTimeout
        self.httpTargets = httpTargets
        self.pingTargets = pingTargets
        self.stubStatusURL = stubStatusURL
        self.interval = interval
        self.targetIntervals = targetIntervals
        self.pingCount = pingCount
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.httpTimeout = httpTimeout
        self.expectStatus = expectStatus
        self.expectBody = expectBody
        self.followRedirects = followRedirects
        self.reuseConnections = reuseConnections
        self.uptimeWindow = uptimeWindow
        self.serviceNames = serviceNames
        self.randomStartOffset = randomStartOffset
    }

    /// Whether no target is configured.
    public var isEmpty: Bool { httpTargets.isEmpty && pingTargets.isEmpty && stubStatusURL == nil }

    /// The ping options these settings describe.
    public var pingOptions: PingOptions {
        PingOptions(count: pingCount, interval: pingInterval, timeout: pingTimeout)
    }

    /// The HTTP options these settings describe.
    public var httpOptions: HTTPProbeOptions {
        HTTPProbeOptions(timeout: httpTimeout, expectedStatus: expectStatus, expectedBody: expectBody,
                         followRedirects: followRedirects, reuseConnections: reuseConnections)
    }

    /// The interval of one target, seconds (at least 0.01).
    public func interval(for target: String) -> Double {
        max(0.01, targetIntervals[target] ?? interval)
    }
}
