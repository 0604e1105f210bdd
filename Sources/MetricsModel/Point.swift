/// One measurement at one instant, in InfluxDB line-protocol terms: a
/// measurement name, tags (indexed strings), fields (values) and a time.
///
/// JSON shape (inside a ``Batch``):
/// `{"measurement": "nginx_access", "time_ns": 1732900000000000000,
///   "tags": {"host": "clowder.example.org"}, "fields": {"requests": 12, "request_time_p50": 0.031}}`
///
/// Units follow the field's name and Telegraf's conventions: seconds as
/// doubles unless the name ends in `_ms`, bytes as integers.
public struct Point: Sendable, Hashable {
    /// Measurement name, e.g. `nginx_access`, `http_response`, `ping`, `nginx`, `agent`.
    public var measurement: String
    /// Tags (InfluxDB: indexed, string-valued), e.g. `host`, `region`, `agent`, `server`.
    public var tags: [String: String]
    /// Fields: integers, doubles, strings or booleans.
    public var fields: [String: JSONValue]
    /// Time in epoch nanoseconds (UTC).
    public var timeNanoseconds: Int64

    public init(measurement: String, tags: [String: String] = [:], fields: [String: JSONValue], timeNanoseconds: Int64) {
        self.measurement = measurement
        self.tags = tags
        self.fields = fields
        self.timeNanoseconds = timeNanoseconds
    }

    /// The point as the JSON object described above.
    public var json: JSONValue {
        .object([
            "measurement": .string(measurement),
            "time_ns": .int(timeNanoseconds),
            "tags": .object(tags.mapValues { .string($0) }),
            "fields": .object(fields),
        ])
    }

    /// Reads a point from its JSON object.
    /// - Throws: ``ModelError`` naming the missing or mistyped member.
    public init(json: JSONValue) throws {
        guard case .object(let o) = json else { throw ModelError(.invalid, "point is not an object") }
        guard let m = o["measurement"]?.stringValue, !m.isEmpty else {
            throw ModelError(.invalid, "point.measurement must be a non-empty string")
        }
        guard let t = o["time_ns"]?.intValue else { throw ModelError(.invalid, "point.time_ns must be an integer (epoch ns)") }
        var tags: [String: String] = [:]
        if let tv = o["tags"], tv != .null {
            guard let to = tv.objectValue else { throw ModelError(.invalid, "point.tags must be an object of strings") }
            for (k, v) in to {
                guard let s = v.stringValue else { throw ModelError(.invalid, "point.tags.\(k) must be a string") }
                tags[k] = s
            }
        }
        guard let fo = o["fields"]?.objectValue, !fo.isEmpty else {
            throw ModelError(.invalid, "point.fields must be a non-empty object")
        }
        for (k, v) in fo {
            switch v {
            case .int, .double, .string, .bool: break
            default: throw ModelError(.invalid, "point.fields.\(k) must be a number, string or boolean")
            }
        }
        self.init(measurement: m, tags: tags, fields: fo, timeNanoseconds: t)
    }
}
