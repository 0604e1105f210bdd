import MetricsModel

/// Where and how to write to InfluxDB.
///
/// Version 1.x: `POST <url>/write?db=<database>&rp=<retention policy>&precision=ns`,
/// user and password sent with HTTP Basic authentication
/// (https://docs.influxdata.com/influxdb/v1/tools/api/#write-http-endpoint).
/// Version 2.x: `POST <url>/api/v2/write?org=<org>&bucket=<bucket>&precision=ns`
/// with `Authorization: Token <token>`
/// (https://docs.influxdata.com/influxdb/v2/api/#operation/PostWrite).
public struct InfluxConfiguration: Sendable, Hashable {
    /// The API version.
    public enum Version: String, Sendable { case v1, v2 }

    /// Base URL, e.g. `http://127.0.0.1:8086`.
    public var url: String
    /// `v1` (`/write`) or `v2` (`/api/v2/write`).
    public var version: Version
    /// 1.x database (`db`).
    public var database: String
    /// 1.x retention policy (`rp`); empty for the database's default.
    public var retentionPolicy: String
    /// 1.x user name; empty for none.
    public var username: String
    /// 1.x password.
    public var password: String
    /// 2.x organisation (`org`).
    public var org: String
    /// 2.x bucket.
    public var bucket: String
    /// 2.x API token.
    public var token: String
    /// 1.x only: send `CREATE DATABASE` on start (idempotent in InfluxDB).
    public var createDatabase: Bool
    /// Request timeout, seconds.
    public var timeout: Double

    public init(
        url: String, version: Version = .v1, database: String = "clowder", retentionPolicy: String = "",
        username: String = "", password: String = "", org: String = "", bucket: String = "", token: String = "",
        createDatabase: Bool = true, timeout: Double = 30
    ) {
        self.url = url
        self.version = version
        self.database = database
        self.retentionPolicy = retentionPolicy
        self.username = username
        self.password = password
        self.org = org
        self.bucket = bucket
        self.token = token
        self.createDatabase = createDatabase
        self.timeout = timeout
    }
}

/// Writes points and Clowder events to InfluxDB in line protocol
/// (see ``LineProtocolWriter`` for the escaping rules).
///
/// - A point keeps its measurement, tags, fields and time (epoch ns).
/// - A Clowder event becomes measurement `events`, with the tags
///   `category type user_id author_id extractor_name source` (the layout of
///   Clowder's own InfluxDB consumer) and every other member as a field, plus
///   the field `message_id`. The time is `created` (epoch ms) in nanoseconds
///   **plus an offset of 0…999 999 ns derived from the message id** (FNV-1a):
///   two distinct events with the same tags in the same millisecond would
///   otherwise be one point in InfluxDB (same series and time: the second
///   overwrites the first), while a redelivered message gets the same offset
///   and still overwrites itself. Queries by millisecond are unaffected.
///
/// Answers: 2xx is success. 400 (bad line, field type conflict), 413 and 422
/// are permanent: the consumer narrows the batch down to the lines at fault
/// and dead-letters them. 401, 403 and 404 (database not found) concern the
/// configuration, not the data: they are retryable, so that a wrong password
/// does not dead-letter every message. 408, 429, 5xx and network errors are
/// retryable.
public struct InfluxDestination: Destination {
    public var kind: String { "influx" }
    /// The configuration.
    public let configuration: InfluxConfiguration
    let client: HTTPClient
    let writeURL: String

    /// - Throws: ``SinkError`` (config) when the URL is not http(s).
    public init(_ configuration: InfluxConfiguration) throws {
        self.configuration = configuration
        var base = configuration.url
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw SinkError.config(key: "CLOWDER_SINK_INFLUX_URL", value: configuration.url, expected: "an http(s) URL")
        }
        switch configuration.version {
        case .v1:
            var q = "db=\(Self.percentEncoded(configuration.database))&precision=ns"
            if !configuration.retentionPolicy.isEmpty { q += "&rp=\(Self.percentEncoded(configuration.retentionPolicy))" }
            writeURL = "\(base)/write?\(q)"
        case .v2:
            writeURL = "\(base)/api/v2/write?org=\(Self.percentEncoded(configuration.org))&bucket=\(Self.percentEncoded(configuration.bucket))&precision=ns"
        }
        client = HTTPClient(label: "influx", timeout: configuration.timeout)
    }

    var baseURL: String {
        var base = configuration.url
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    var authHeaders: [String] {
        configuration.version == .v2 ? ["Authorization: Token \(configuration.token)"] : []
    }

    var basicAuth: String? {
        configuration.version == .v1 && !configuration.username.isEmpty
            ? "\(configuration.username):\(configuration.password)" : nil
    }

    /// 1.x: creates the database when ``InfluxConfiguration/createDatabase`` is set.
    /// - Throws: ``SinkError`` (retryable when InfluxDB cannot be reached).
    public func start() async throws {
        guard configuration.version == .v1, configuration.createDatabase else { return }
        let q = "CREATE DATABASE \"\(configuration.database.replacing("\"", with: "\\\""))\""
        let body = Array("q=\(Self.percentEncoded(q))".utf8)
        let r = try await client.post(
            url: "\(baseURL)/query", headers: ["Content-Type: application/x-www-form-urlencoded"], body: body,
            basicAuth: basicAuth)
        guard (200..<300).contains(r.status) else {
            throw SinkError.retryable("InfluxDB answered \(r.status) to CREATE DATABASE: \(r.text())")
        }
    }

    /// Writes the batch in one request, and resolves InfluxDB's partial writes.
    ///
    /// InfluxDB 1.x stores every point of a request it can and answers 400
    /// `{"error": "partial write: <reason> dropped=<n>"}` for the rest (checked
    /// against 1.6.7: the good points of the request are stored). Reasons that
    /// name the points at fault are resolved here, without retrying the batch's
    /// good points one by one:
    /// - `field type conflict: input field "<f>" on measurement "<m>" is type <t>, already exists as type <u>`:
    ///   every point of measurement `m` whose field `f` has type `t` is refused;
    /// - `unable to parse '<line>': <why>` (one per bad line): those lines are refused.
    ///
    /// The request is then sent again without the refused points (a point
    /// written twice is the same point: same series, time and fields), until
    /// InfluxDB answers 2xx — the reason names only one conflict even when
    /// `dropped` counts several, and a conflict can hide a parse error — so the
    /// messages reported stored are exactly those of a request answered 2xx.
    /// Messages with no field InfluxDB can store (only `null`, NaN or ±inf) are
    /// refused without a request.
    /// - Throws: ``SinkError``: `partial` (the refused messages and their reasons; the rest is stored),
    ///   `permanent` for a 400/413/422 whose points cannot be told apart (the consumer bisects),
    ///   `retryable` as described on the type.
    public func write(_ messages: [SinkMessage]) async throws {
        let lines = Self.lines(messages)
        var refused = lines.refused
        var pending = lines.lines
        var rounds = 0
        while !pending.isEmpty {
            var body: [UInt8] = []
            body.reserveCapacity(pending.reduce(0) { $0 + $1.text.count })
            for l in pending { body.append(contentsOf: l.text) }
            let r = try await client.post(
                url: writeURL, headers: ["Content-Type: text/plain; charset=utf-8"] + authHeaders, body: body,
                basicAuth: basicAuth)
            switch r.status {
            case 200..<300:
                pending = []
            case 400, 422:
                let error = Self.errorText(r)
                rounds += 1
                let atFault = rounds <= 32 ? Self.pointsAtFault(error, in: pending) : [:]
                guard !atFault.isEmpty else {
                    // Points that cannot be told apart: the consumer bisects the batch (what was refused
                    // so far is refused again there, and the good points are written again, idempotently).
                    throw SinkError.permanent("InfluxDB answered \(r.status): \(r.text())")
                }
                for (i, reason) in atFault { refused[i] = "InfluxDB answered \(r.status): \(reason)" }
                pending.removeAll { atFault[$0.index] != nil }
            case 413:
                throw SinkError.permanent("InfluxDB answered 413 (request body larger than its max-body-size): \(r.text())")
            default:
                throw SinkError.retryable("InfluxDB answered \(r.status): \(r.text())")
            }
        }
        if !refused.isEmpty {
            throw SinkError.partial(refused, "InfluxDB refused \(refused.count) of \(messages.count) points")
        }
    }

    /// One message's line: its index in the batch, its text, and what a conflict report names.
    struct Line {
        var index: Int
        var text: ArraySlice<UInt8>
        var measurement: String
        /// Field key as written → InfluxDB's type name (`integer`, `float`, `string`, `boolean`).
        var fieldTypes: [String: String]
    }

    /// The `error` member of an InfluxDB error body (or the body itself).
    static func errorText(_ r: HTTPResponse) -> String {
        if let v = try? JSONValue(parsing: r.body), let e = v["error"]?.stringValue { return e }
        return r.text(limit: 64 * 1024)
    }

    /// The lines a partial-write reason names, with the reason for each (empty when it names none).
    static func pointsAtFault(_ error: String, in lines: [Line]) -> [Int: String] {
        guard error.contains("partial write") else { return [:] }
        var atFault: [Int: String] = [:]
        // One `unable to parse '<line>': <why>` per bad line.
        if error.contains("unable to parse '") {
            for l in lines {
                var text = l.text
                if text.last == 0x0A { text = text.dropLast() }
                let needle = "unable to parse '" + String(decoding: text, as: UTF8.self) + "'"
                if let r = error.firstRange(of: needle) {
                    let rest = error[r.upperBound...]
                    let why = rest.prefix { $0 != "\n" }
                    atFault[l.index] = String((needle + why).prefix(500))
                }
            }
        }
        // `field type conflict: input field "f" on measurement "m" is type t, already exists as type u`
        if let r = error.firstRange(of: "input field \""),
            let fieldEnd = error[r.upperBound...].firstRange(of: "\" on measurement \""),
            let measurementEnd = error[fieldEnd.upperBound...].firstRange(of: "\" is type "),
            let typeEnd = error[measurementEnd.upperBound...].firstIndex(where: { $0 == "," || $0 == " " })
        {
            let field = String(error[r.upperBound..<fieldEnd.lowerBound])
            let measurement = String(error[fieldEnd.upperBound..<measurementEnd.lowerBound])
            let type = String(error[measurementEnd.upperBound..<typeEnd])
            let sentence = error[r.lowerBound...].prefix { $0 != "\n" }
            let reason = "field type conflict: " + String(sentence.split(separator: " dropped=").first ?? sentence)
            for l in lines where l.measurement == measurement && l.fieldTypes[field] == type {
                atFault[l.index] = reason
            }
        }
        return atFault
    }

    /// The line-protocol body for a batch (every writable message).
    static func lineProtocol(_ messages: [SinkMessage]) -> [UInt8] {
        var out: [UInt8] = []
        for l in lines(messages).lines { out.append(contentsOf: l.text) }
        return out
    }

    /// Each message's line, and the messages that give none with the reason.
    static func lines(_ messages: [SinkMessage]) -> (lines: [Line], refused: [Int: String]) {
        var w = LineProtocolWriter(capacity: messages.count * 200)
        var marks: [(index: Int, start: Int, end: Int, measurement: String, fieldTypes: [String: String])] = []
        var refused: [Int: String] = [:]
        for (i, m) in messages.enumerated() {
            let start = w.bytes.count
            let measurement: String
            let fields: [(String, JSONValue)]
            let written: Bool
            switch m.decoded {
            case .point(let p):
                measurement = p.measurement
                fields = p.fields.map { ($0.key, $0.value) }
                written = w.append(
                    measurement: p.measurement, tags: p.tags.map { ($0.key, $0.value) }, fields: fields,
                    timeNanoseconds: p.timeNanoseconds)
            case .event(let e):
                guard let line = eventLine(e, messageID: m.messageID) else {
                    refused[i] = "event created \(e.members["created"]?.jsonString ?? "-") is outside the times InfluxDB holds"
                    continue
                }
                let (tags, f, time) = line
                measurement = "events"
                fields = f
                written = w.append(measurement: "events", tags: tags, fields: f, timeNanoseconds: time)
            }
            guard written else {
                refused[i] = "no field InfluxDB can store (every field is null, NaN or infinite)"
                continue
            }
            var types: [String: String] = [:]
            for (k, v) in fields {
                let key = k == "time" ? "time_" : k
                switch v {
                case .int: types[key] = "integer"
                case .double: types[key] = "float"
                case .bool: types[key] = "boolean"
                case .string, .array, .object: types[key] = "string"
                case .null: break
                }
            }
            marks.append((i, start, w.bytes.count, measurement, types))
        }
        let bytes = w.bytes
        let lines = marks.map { Line(index: $0.index, text: bytes[$0.start..<$0.end], measurement: $0.measurement, fieldTypes: $0.fieldTypes) }
        return (lines, refused)
    }

    /// The tags of the `events` measurement (Clowder's InfluxDB layout).
    public static let eventTagKeys: Set<String> = ["category", "type", "user_id", "author_id", "extractor_name", "source"]

    /// Splits an event into tags, fields and a time in ns (see the type's overview);
    /// nil when `created` is missing or its time in ns leaves ``MetricsMessage/timeNanosecondsRange``.
    static func eventLine(_ e: ClowderEvent, messageID: String) -> ([(String, String)], [(String, JSONValue)], Int64)? {
        var tags: [(String, String)] = []
        var fields: [(String, JSONValue)] = [("message_id", .string(messageID))]
        for (k, v) in e.members where k != "created" && k != "message_id" {
            if eventTagKeys.contains(k) {
                switch v {
                case .null: continue
                case .string(let s): tags.append((k, s))
                default: tags.append((k, v.jsonString))
                }
            } else {
                fields.append((k, v))
            }
        }
        guard let created = e.created, let ns = MetricsMessage.nanoseconds(milliseconds: created) else { return nil }
        let (time, overflow) = ns.addingReportingOverflow(Int64(fnv1a(messageID) % 1_000_000))
        guard !overflow, MetricsMessage.timeNanosecondsRange.contains(time) else { return nil }
        return (tags, fields, time)
    }

    /// FNV-1a, 64 bits (http://www.isthe.com/chongo/tech/comp/fnv/).
    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }

    /// Percent-encodes a query value (RFC 3986 unreserved characters kept).
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(b >> 4)])
                out.unicodeScalars.append(hex[Int(b & 15)])
            }
        }
        return out
    }
}
