/// The NGINX variables the parser knows by name (ngx_http_core_module, ngx_http_log_module and
/// ngx_http_upstream_module "Embedded Variables"), plus the parts the parser derives from `$request`.
///
/// Any other `$name` in a `log_format` is kept as an opaque string, reachable with
/// ``AccessRecord/span(custom:)`` through ``AccessLogParser/customIndex(of:)``.
public enum AccessField: Int, CaseIterable, Sendable {
    /// `$remote_addr`, as logged (may be an X-Forwarded-For list, quoted, or prefixed by a host name).
    case remoteAddr
    /// `$remote_user`: the HTTP Basic user name.
    case remoteUser
    /// `$time_local` (`07/Dec/2016:11:05:07 +0100`).
    case timeLocal
    /// `$time_iso8601` (`2016-12-07T11:05:07+01:00`).
    case timeISO8601
    /// `$msec`: epoch seconds with millisecond resolution (`1481105107.123`).
    case msec
    /// `$request`: the full request line.
    case request
    /// `$request_method`.
    case requestMethod
    /// `$request_uri`: the original target with its query.
    case requestURI
    /// `$uri`: the normalized path.
    case uri
    /// `$args`: the query string.
    case args
    /// `$server_protocol`.
    case serverProtocol
    /// `$status`.
    case status
    /// `$body_bytes_sent`.
    case bodyBytesSent
    /// `$bytes_sent`.
    case bytesSent
    /// `$request_length`.
    case requestLength
    /// `$request_time`: seconds with millisecond resolution.
    case requestTime
    /// `$http_referer`.
    case httpReferer
    /// `$http_user_agent`.
    case httpUserAgent
    /// `$http_x_forwarded_for`.
    case httpXForwardedFor
    /// `$host`.
    case host
    /// `$server_name`.
    case serverName
    /// `$connection`: the connection serial number.
    case connection
    /// `$connection_requests`.
    case connectionRequests
    /// `$upstream_addr` (a list: `a, b : c`).
    case upstreamAddr
    /// `$upstream_status` (a list).
    case upstreamStatus
    /// `$upstream_response_time` (a list of seconds).
    case upstreamResponseTime
    /// `$upstream_connect_time` (a list of seconds).
    case upstreamConnectTime
    /// `$upstream_header_time` (a list of seconds).
    case upstreamHeaderTime
    /// `$upstream_response_length` (a list of bytes).
    case upstreamResponseLength
    /// `$pipe`: `p` when pipelined, `.` otherwise.
    case pipe
    /// `$scheme`.
    case scheme
    /// Derived: the method of `$request` (or `$request_method`).
    case method
    /// Derived: the target of `$request` (or `$request_uri`), path and query.
    case target
    /// Derived: the path part of ``target`` (or `$uri`).
    case path
    /// Derived: the query of ``target`` without `?` (or `$args`).
    case query
    /// Derived: the protocol of `$request` (or `$server_protocol`).
    case proto

    /// The NGINX variable name without `$`, or `nil` for a derived field.
    public var variableName: String? {
        switch self {
        case .remoteAddr: "remote_addr"
        case .remoteUser: "remote_user"
        case .timeLocal: "time_local"
        case .timeISO8601: "time_iso8601"
        case .msec: "msec"
        case .request: "request"
        case .requestMethod: "request_method"
        case .requestURI: "request_uri"
        case .uri: "uri"
        case .args: "args"
        case .serverProtocol: "server_protocol"
        case .status: "status"
        case .bodyBytesSent: "body_bytes_sent"
        case .bytesSent: "bytes_sent"
        case .requestLength: "request_length"
        case .requestTime: "request_time"
        case .httpReferer: "http_referer"
        case .httpUserAgent: "http_user_agent"
        case .httpXForwardedFor: "http_x_forwarded_for"
        case .host: "host"
        case .serverName: "server_name"
        case .connection: "connection"
        case .connectionRequests: "connection_requests"
        case .upstreamAddr: "upstream_addr"
        case .upstreamStatus: "upstream_status"
        case .upstreamResponseTime: "upstream_response_time"
        case .upstreamConnectTime: "upstream_connect_time"
        case .upstreamHeaderTime: "upstream_header_time"
        case .upstreamResponseLength: "upstream_response_length"
        case .pipe: "pipe"
        case .scheme: "scheme"
        case .method, .target, .path, .query, .proto: nil
        }
    }

    /// The field logged by the NGINX variable `name` (without `$`), if the parser knows it.
    public init?(variableName name: String) {
        guard let f = AccessField.byName[name] else { return nil }
        self = f
    }

    private static let byName: [String: AccessField] = {
        var d: [String: AccessField] = [:]
        for f in AccessField.allCases { if let n = f.variableName { d[n] = f } }
        return d
    }()

    /// How the pattern matches the variable's text.
    var kind: VariableKind {
        switch self {
        case .remoteAddr, .httpXForwardedFor: .addressList
        case .timeLocal: .timeLocal
        case .timeISO8601: .timeISO8601
        case .msec: .msec
        case .request, .httpReferer, .httpUserAgent: .text
        case .status, .bodyBytesSent, .bytesSent, .requestLength, .connection, .connectionRequests: .integer
        case .requestTime: .decimal
        case .upstreamAddr, .upstreamStatus, .upstreamResponseTime, .upstreamConnectTime, .upstreamHeaderTime,
            .upstreamResponseLength:
            .list
        case .pipe: .pipe
        default: .token
        }
    }
}

/// The shape of a variable's text, which decides its sub-pattern.
enum VariableKind {
    /// One or more addresses, possibly with spaces (`a, b, c`), matched lazily up to the next literal.
    case addressList
    /// `dd/Mon/yyyy:HH:MM:SS ±hhmm`.
    case timeLocal
    /// `yyyy-mm-ddTHH:MM:SS±hh:mm`.
    case timeISO8601
    /// `seconds.milliseconds`.
    case msec
    /// Free text (quoted in every sane format).
    case text
    /// Digits, or `-`.
    case integer
    /// Digits with an optional fraction, or `-`.
    case decimal
    /// An NGINX upstream list: members separated by `, ` or ` : `.
    case list
    /// `p` or `.`.
    case pipe
    /// Anything up to the next literal's first byte.
    case token
}
