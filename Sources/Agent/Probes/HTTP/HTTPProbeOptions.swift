/// How an HTTP round runs. Defaults are documented on each property.
public struct HTTPProbeOptions: Sendable, Hashable {
    /// Whole-request limit in seconds (`CURLOPT_TIMEOUT_MS`; also the connect
    /// limit, `CURLOPT_CONNECTTIMEOUT_MS`). Default 10.
    public var timeout: Double
    /// The status the target must answer. `nil` (default): any 2xx or 3xx
    /// (the final status after redirects) counts as success.
    public var expectedStatus: Int?
    /// A byte string the body must contain (Clowder's `/healthz` answers
    /// `healthy`). `nil` (default): no body check. Only the first 1 MiB of the body
    /// is searched.
    public var expectedBody: String?
    /// Follow `Location` redirects (`CURLOPT_FOLLOWLOCATION`, at most 10).
    /// Default `true`.
    public var followRedirects: Bool
    /// Keep connections (and cached DNS answers) from one round for the next.
    /// Default `false`: every round opens a fresh connection
    /// (`CURLOPT_FRESH_CONNECT`, `CURLOPT_FORBID_REUSE`) and resolves the name
    /// again (`CURLOPT_DNS_CACHE_TIMEOUT` 0), so `dns_time` and `connect_time` are
    /// measured every round; a reused connection makes them 0.
    public var reuseConnections: Bool
    /// Request method. Default `GET`.
    public var method: String
    /// A PEM file of CA certificates to verify https targets with
    /// (`CURLOPT_CAINFO`), for sites behind a private CA. Default `nil`: the
    /// system's CA store.
    public var caFile: String?

    /// - Parameters: see the properties.
    public init(timeout: Double = 10, expectedStatus: Int? = nil, expectedBody: String? = nil,
                followRedirects: Bool = true, reuseConnections: Bool = false, method: String = "GET",
                caFile: String? = nil) {
        self.timeout = timeout
        self.expectedStatus = expectedStatus
        self.expectedBody = expectedBody
        self.followRedirects = followRedirects
        self.reuseConnections = reuseConnections
        self.method = method
        self.caFile = caFile
    }
}
