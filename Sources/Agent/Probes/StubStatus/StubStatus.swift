import MetricsModel
import Parsers

/// NGINX's `stub_status` page, as `ngx_http_stub_status_module` writes it
/// (https://nginx.org/en/docs/http/ngx_http_stub_status_module.html):
///
/// ```
/// Active connections: 291
/// server accepts handled requests
///  16630948 16630948 31070465
/// Reading: 6 Writing: 179 Waiting: 106
/// ```
///
/// As a point it is Telegraf's `nginx` measurement (`inputs.nginx`): integer
/// fields `active accepts handled requests reading writing waiting`, tags
/// `server` (host of the status URL) and `port`, plus the agent's tags.
public struct StubStatus: Sendable, Hashable {
    /// Open client connections, waiting ones included (`Active connections`).
    public var active: Int64
    /// Client connections accepted since start.
    public var accepts: Int64
    /// Connections handled (equals `accepts` unless a resource limit was hit).
    public var handled: Int64
    /// Client requests since start.
    public var requests: Int64
    /// Connections where NGINX is reading the request header.
    public var reading: Int64
    /// Connections where NGINX is writing the response.
    public var writing: Int64
    /// Idle keep-alive connections waiting for a request.
    public var waiting: Int64

    /// - Parameters: see the properties.
    public init(active: Int64, accepts: Int64, handled: Int64, requests: Int64,
                reading: Int64, writing: Int64, waiting: Int64) {
        self.active = active
        self.accepts = accepts
        self.handled = handled
        self.requests = requests
        self.reading = reading
        self.writing = writing
        self.waiting = waiting
    }

    /// Parses the page. - Returns: `nil` when it does not have the shape above.
    public init?(parsing bytes: some Collection<UInt8>) {
        // The page is the seven numbers in a fixed order, each after its label.
        var numbers: [Int64] = []
        var current: Int64?
        for b in bytes {
            if b >= 0x30 && b <= 0x39 {
                let (m, o1) = (current ?? 0).multipliedReportingOverflow(by: 10)
                let (v, o2) = m.addingReportingOverflow(Int64(b - 0x30))
                if o1 || o2 { return nil }
                current = v
            } else if let c = current {
                numbers.append(c)
                current = nil
            }
        }
        if let c = current { numbers.append(c) }
        let text = String(decoding: bytes, as: UTF8.self)
        guard numbers.count == 7, text.hasPrefix("Active connections:"), text.contains("Reading:"),
              text.contains("Writing:"), text.contains("Waiting:")
        else { return nil }
        self.init(active: numbers[0], accepts: numbers[1], handled: numbers[2], requests: numbers[3],
                  reading: numbers[4], writing: numbers[5], waiting: numbers[6])
    }

    /// The `nginx` point.
    /// - Parameters:
    ///   - server: the `server` tag (host of the status URL).
    ///   - port: the `port` tag.
    public func point(server: String, port: String, identity: AgentIdentity, timeNanoseconds: Int64) -> Point {
        var tags = ProbeTags.agent(identity)
        tags["server"] = KeyRedaction.redact(server)
        tags["port"] = port
        return Point(measurement: "nginx", tags: tags, fields: [
            "active": .int(active), "accepts": .int(accepts), "handled": .int(handled), "requests": .int(requests),
            "reading": .int(reading), "writing": .int(writing), "waiting": .int(waiting),
        ], timeNanoseconds: timeNanoseconds)
    }
}
