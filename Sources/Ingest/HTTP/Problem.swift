import MetricsModel

/// An RFC 9457 problem document (`application/problem+json`): `type`, `title`,
/// `status`, `detail`, and the request path as `instance`.
///
/// `type` is a URN naming the problem (`urn:clowder-metrics:problem:<name>`),
/// e.g. `signature`, `digest`, `expired`, `unknown-key`, `invalid-body`,
/// `too-large`, `rate-limited`, `broker-unavailable`.
public struct Problem: Sendable, Hashable {
    /// HTTP status code.
    public var status: Int
    /// Short name, the last part of `type`.
    public var name: String
    /// A short summary of the problem type.
    public var title: String
    /// What was wrong with this request.
    public var detail: String
    /// `Retry-After` seconds for 429 and 503, else nil.
    public var retryAfter: Int?

    public init(status: Int, name: String, title: String, detail: String, retryAfter: Int? = nil) {
        self.status = status
        self.name = name
        self.title = title
        self.detail = detail
        self.retryAfter = retryAfter
    }

    /// `urn:clowder-metrics:problem:<name>`.
    public var type: String { "urn:clowder-metrics:problem:\(name)" }

    /// Longest `detail` written, bytes: answers stay short whatever was sent.
    public static let maxDetailBytes = 300

    /// The JSON body, with `instance` set to `path` when given (a known route,
    /// never the query). `detail` is cut to ``maxDetailBytes``.
    public func json(instance path: String? = nil) -> [UInt8] {
        var d = detail
        if d.utf8.count > Self.maxDetailBytes { d = String(decoding: d.utf8.prefix(Self.maxDetailBytes - 3), as: UTF8.self) + "…" }
        var o: [String: JSONValue] = [
            "type": .string(type), "title": .string(title), "status": .int(Int64(status)), "detail": .string(d),
        ]
        if let path, path.utf8.count <= 64 { o["instance"] = .string(path) }
        return JSONValue.object(o).jsonBytes
    }

    /// 400: the body is not JSON or does not have the documented shape.
    public static func invalidBody(_ detail: String) -> Problem {
        Problem(status: 400, name: "invalid-body", title: "The request body is not valid", detail: detail)
    }

    /// 400: a header is missing or malformed.
    public static func invalidHeader(_ detail: String) -> Problem {
        Problem(status: 400, name: "invalid-header", title: "A request header is missing or not valid", detail: detail)
    }

    /// 401 for a verification failure from `MetricsModel` (`signature`, `digest`, `expired`, `unknownKey`).
    public static func unauthorized(_ e: ModelError) -> Problem {
        switch e.code {
        case .digest: Problem(status: 401, name: "digest", title: "Content-Digest is missing or does not match the body", detail: e.message)
        case .expired: Problem(status: 401, name: "expired", title: "The signature's created time is outside the allowed window", detail: e.message)
        case .unknownKey: Problem(status: 401, name: "unknown-key", title: "The key is not known", detail: e.message)
        default: Problem(status: 401, name: "signature", title: "The request signature is missing or does not verify", detail: e.message)
        }
    }

    /// 401: no accepted credentials.
    public static func unauthenticated(_ detail: String) -> Problem {
        Problem(status: 401, name: "unauthenticated", title: "A signature or an API key is required", detail: detail)
    }

    /// 403: the key may not post this kind of request.
    public static func forbidden(_ detail: String) -> Problem {
        Problem(status: 403, name: "forbidden", title: "The key is not allowed this kind of request", detail: detail)
    }

    /// 408: the body did not arrive in time.
    public static func timeout(_ detail: String) -> Problem {
        Problem(status: 408, name: "timeout", title: "The request did not arrive in time", detail: detail)
    }

    /// 413: body larger than the limit.
    public static func tooLarge(_ detail: String) -> Problem {
        Problem(status: 413, name: "too-large", title: "The request body is too large", detail: detail)
    }

    /// 415: unsupported `Content-Encoding`.
    public static func unsupportedEncoding(_ detail: String) -> Problem {
        Problem(status: 415, name: "unsupported-encoding", title: "The Content-Encoding is not supported", detail: detail)
    }

    /// 429 with `Retry-After`.
    public static func rateLimited(_ detail: String, retryAfter: Int) -> Problem {
        Problem(status: 429, name: "rate-limited", title: "Too many requests for this key", detail: detail, retryAfter: retryAfter)
    }

    /// 503 with `Retry-After`.
    public static func unavailable(_ detail: String, retryAfter: Int) -> Problem {
        Problem(
            status: 503, name: "broker-unavailable", title: "The messages could not be delivered now; retry later", detail: detail,
            retryAfter: retryAfter)
    }
}
