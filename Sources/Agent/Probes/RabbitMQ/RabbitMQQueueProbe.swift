#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MetricsModel
import SystemSupport

/// Extractor queue depths from RabbitMQ's management API, as Clowder's `scripts/monitor/monitor.py`
/// watches them: one `rabbitmq_queue` point per queue and round.
///
/// Reads `GET {url}/api/queues` (or `/api/queues/{vhost}`) with HTTP Basic credentials
/// (RabbitMQ management plugin HTTP API, https://www.rabbitmq.com/docs/http-api-reference).
/// Fields, from each queue object (absent members are left out):
/// - `messages_ready`, `messages_unacknowledged`, `messages` (counts), `consumers` (count);
/// - `messages_publish_rate`, `messages_deliver_rate` (messages per second: `message_stats`
///   `publish_details.rate` and `deliver_get_details.rate`, RabbitMQ's own rates over its
///   sample window), `messages_publish`, `messages_deliver_get` (totals since the queue began);
/// - `idle` (1 when the queue has no consumer and holds ready messages: nothing works it off).
/// Tags: `queue` (the name), `vhost`, `kind` (`extractor` for `extractors.NAME`, `error` for
/// `error.NAME`, else `other`), `extractor` (NAME, for those two kinds), and the agent's tags.
///
/// ```swift
/// let probe = try RabbitMQQueueProbe(url: "http://127.0.0.1:15672", credentialsFile: "/etc/clowder-metrics/rabbitmq")
/// let result = probe.run()    // .success([Point]) or .failure(message)
/// ```
final class RabbitMQQueueProbe {
    /// Management API base URL, without a trailing `/`.
    let url: String
    /// Only queues whose name starts with one of these (empty: every queue).
    let prefixes: [String]
    let vhost: String?
    let timeout: Double
    private let credentials: (user: String, password: String)
    private let exchange = HTTPExchange(maxBodyBytes: 64 << 20)

    /// - Parameters:
    ///   - url: e.g. `http://127.0.0.1:15672`.
    ///   - credentialsFile: a file holding `user:password` on its first line (never on a command line).
    ///   - vhost: only this virtual host, or nil for all.
    ///   - prefixes: queue name prefixes to report, e.g. `["extractors.", "error."]`; empty: all.
    ///   - timeout: seconds per request.
    /// - Throws: ``AgentError`` `.queueProbe` naming the file when it cannot be read or holds no `user:password`.
    init(url: String, credentialsFile: String, vhost: String? = nil, prefixes: [String] = [], timeout: Double = 10) throws {
        var u = url
        while u.hasSuffix("/") { u.removeLast() }
        self.url = u
        self.vhost = vhost
        self.prefixes = prefixes
        self.timeout = timeout
        credentials = try Self.readCredentials(credentialsFile)
    }

    /// `user:password` from the first line of `path`.
    static func readCredentials(_ path: String) throws -> (user: String, password: String) {
        let data: [UInt8]
        do { data = try FileContents.read(path, limit: 64 << 10) } catch {
            throw AgentError(.queueProbe, "CLOWDER_METRICS_RABBITMQ_CREDENTIALS_FILE=\(path): cannot read this file (\(error))", underlying: error)
        }
        let line = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) ?? ""
        guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
            throw AgentError(.queueProbe, "CLOWDER_METRICS_RABBITMQ_CREDENTIALS_FILE=\(path): the first line must be user:password")
        }
        return (String(line[..<colon]), String(line[line.index(after: colon)...]))
    }

    /// The request URL: `/api/queues`, or `/api/queues/{vhost}` with the vhost percent-encoded
    /// (`/` is `%2F`). `columns` keeps the answer small on a broker with many queues.
    var requestURL: String {
        var path = url + "/api/queues"
        if let vhost { path += "/" + Self.percentEncode(vhost) }
        return path + "?columns=name,vhost,messages,messages_ready,messages_unacknowledged,consumers,message_stats"
    }

    static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            if c.isASCII, c.isLetter || c.isNumber || "-._~".contains(c) { out.append(c) }
            else { out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2) }
        }
        return out
    }

    /// One round: the queues now. Blocks for at most the timeout.
    func run(tags: [String: String], timeNanoseconds: Int64) -> Result<[Point], AgentError> {
        let r = exchange.perform("GET", requestURL, headers: [("Accept", "application/json")], basicAuth: credentials,
                                 timeout: timeout)
        if let f = r.failure { return .failure(AgentError(.queueProbe, "\(requestURL): \(f.outcome): \(f.message)")) }
        guard r.status == 200 else {
            let hint = r.status == 401 ? " (wrong user or password in the credentials file)"
                : r.status == 404 ? " (is rabbitmq_management enabled? `rabbitmq-plugins enable rabbitmq_management`)" : ""
            return .failure(AgentError(.queueProbe, "\(requestURL): status \(r.status)\(hint)"))
        }
        let json: JSONValue
        do { json = try JSONValue(parsing: r.body) } catch {
            return .failure(AgentError(.queueProbe, "\(requestURL): the answer is not JSON: \(error)", underlying: error))
        }
        guard let queues = json.arrayValue else {
            return .failure(AgentError(.queueProbe, "\(requestURL): expected a JSON array of queues"))
        }
        var points: [Point] = []
        for q in queues {
            guard let name = q["name"]?.stringValue else { continue }
            if !prefixes.isEmpty, !prefixes.contains(where: { name.hasPrefix($0) }) { continue }
            points.append(Self.point(q, name: name, tags: tags, timeNanoseconds: timeNanoseconds))
        }
        return .success(points)
    }

    static func point(_ q: JSONValue, name: String, tags: [String: String], timeNanoseconds: Int64) -> Point {
        var t = tags
        t["queue"] = name
        if let v = q["vhost"]?.stringValue { t["vhost"] = v }
        if name.hasPrefix("extractors.") {
            t["kind"] = "extractor"
            t["extractor"] = String(name.dropFirst("extractors.".count))
        } else if name.hasPrefix("error.") {
            t["kind"] = "error"
            t["extractor"] = String(name.dropFirst("error.".count))
        } else {
            t["kind"] = "other"
        }
        var f: [String: JSONValue] = [:]
        for key in ["messages", "messages_ready", "messages_unacknowledged", "consumers"] {
            if let v = q[key]?.intValue { f[key] = .int(v) }
        }
        if let stats = q["message_stats"] {
            if let v = stats["publish"]?.intValue { f["messages_publish"] = .int(v) }
            if let v = stats["deliver_get"]?.intValue { f["messages_deliver_get"] = .int(v) }
            f["messages_publish_rate"] = .double(stats["publish_details"]?["rate"]?.doubleValue ?? 0)
            f["messages_deliver_rate"] = .double(stats["deliver_get_details"]?["rate"]?.doubleValue ?? 0)
        } else {
            f["messages_publish_rate"] = .double(0)
            f["messages_deliver_rate"] = .double(0)
        }
        let ready = f["messages_ready"]?.intValue ?? 0
        let consumers = f["consumers"]?.intValue ?? 0
        f["idle"] = .int(consumers == 0 && ready > 0 ? 1 : 0)
        return Point(measurement: "rabbitmq_queue", tags: t, fields: f, timeNanoseconds: timeNanoseconds)
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
