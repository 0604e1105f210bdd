/// How points are published to the `clowder.metrics` exchange, beside
/// Clowder's own flat events.
///
/// A point becomes
/// `{"category": "metric", "type": <measurement>, "created": <epoch ms>, "time_ns": <epoch ns>,
///   "tags": {…}, "fields": {…}, "agent": "<agent id>", "key_id": "<key id>"}`;
/// an event is published with its members unchanged plus `key_id`.
/// `key_id` is the ingest key that authenticated the request (the ingest's
/// stamp, replacing any `key_id` the client sent); readers ignore it.
public enum MetricsMessage {
    /// The times every store can hold, epoch nanoseconds: InfluxDB's range
    /// (`-9223372036854775806 … 9223372036854775806`, its `models.MinNanoTime`/`MaxNanoTime`,
    /// answered as "time outside range" otherwise), about 1677-09-21 … 2262-04-11 UTC.
    /// PostgreSQL's `timestamptz` and SQLite hold a wider range.
    public static let timeNanosecondsRange: ClosedRange<Int64> = (Int64.min + 2)...(Int64.max - 1)

    /// The `created` values (epoch milliseconds) whose nanosecond time, plus the sink's
    /// sub-millisecond offset (< 1 ms), stays inside ``timeNanosecondsRange``.
    public static let createdMillisecondsRange: ClosedRange<Int64> =
        (timeNanosecondsRange.lowerBound / 1_000_000 + 1)...(timeNanosecondsRange.upperBound / 1_000_000 - 1)

    /// The flat message for a point; `keyID` nil leaves `key_id` out.
    public static func json(for point: Point, agentID: String, keyID: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = [
            "category": "metric", "type": .string(point.measurement),
            "created": .int(point.timeNanoseconds / 1_000_000), "time_ns": .int(point.timeNanoseconds),
            "tags": .object(point.tags.mapValues { .string($0) }), "fields": .object(point.fields),
            "agent": .string(agentID),
        ]
        if let keyID { o["key_id"] = .string(keyID) }
        return .object(o)
    }

    /// Epoch milliseconds as epoch nanoseconds, or nil when the result leaves
    /// ``timeNanosecondsRange`` (checked arithmetic: a value from outside never traps).
    public static func nanoseconds(milliseconds ms: Int64) -> Int64? {
        let (ns, overflow) = ms.multipliedReportingOverflow(by: 1_000_000)
        guard !overflow, timeNanosecondsRange.contains(ns) else { return nil }
        return ns
    }

    /// Reads a published message back: a point when `category` is `metric`,
    /// otherwise a Clowder event.
    ///
    /// Total: any byte sequence gives a value or an error, never a trap. Times
    /// outside what the stores hold are refused here, so that no destination
    /// sees them: a point's `time_ns` (or `created` × 10⁶) must be in
    /// ``timeNanosecondsRange``, an event's `created` in ``createdMillisecondsRange``.
    /// - Throws: ``ModelError`` (`invalid`, naming the member) or ``JSONParseError``.
    ///
    /// A message of several points (`category` `metric_points`, see ``decodeAll(_:messageID:)``) is refused
    /// here, so that a reader that knows only single messages never takes one for an event.
    public static func decode(_ bytes: some Collection<UInt8>) throws -> Decoded {
        let v = try JSONValue(parsing: bytes)
        guard case .object = v else { throw ModelError(.invalid, "message is not a JSON object") }
        if v["category"]?.stringValue == pointsCategory {
            throw ModelError(.invalid, "a message of several points (category \(pointsCategory)): read it with decodeAll")
        }
        return try decode(value: v)
    }

    /// ``decode(_:)`` of a parsed object.
    static func decode(value v: JSONValue) throws -> Decoded {
        if v["category"]?.stringValue == "metric" {
            return .point(try point(v, agent: nil, path: "metric message "))
        }
        let event = try ClowderEvent(json: v)
        guard let created = event.created, createdMillisecondsRange.contains(created) else {
            throw ModelError(
                .invalid,
                "event created \(v["created"]?.jsonString ?? "-") is not an integer in \(createdMillisecondsRange) (epoch ms)")
        }
        return .event(event)
    }

    /// A point from a single metric message or an element of a points message; `agent` (the
    /// envelope's) when the object has none. `path` prefixes every error message.
    static func point(_ v: JSONValue, agent: String?, path: String) throws -> Point {
        do {
            guard case .object = v else { throw ModelError(.invalid, "is not a JSON object") }
            guard let m = v["type"]?.stringValue, !m.isEmpty else {
                throw ModelError(.invalid, "without type (the measurement)")
            }
            let t: Int64
            if let ns = v["time_ns"] {
                guard let value = ns.intValue, timeNanosecondsRange.contains(value) else {
                    throw ModelError(.invalid, "time_ns \(ns.jsonString) is not an integer in \(timeNanosecondsRange) (epoch ns)")
                }
                t = value
            } else if let created = v["created"] {
                guard let ms = created.intValue, let ns = nanoseconds(milliseconds: ms) else {
                    throw ModelError(
                        .invalid, "created \(created.jsonString) is not an integer in \(createdMillisecondsRange) (epoch ms)")
                }
                t = ns
            } else {
                throw ModelError(.invalid, "without time_ns or created")
            }
            var tags: [String: String] = [:]
            if let tv = v["tags"], tv != .null {
                guard let to = tv.objectValue else { throw ModelError(.invalid, "tags is not an object") }
                for (k, tv) in to { tags[k] = tv.stringValue ?? tv.jsonString }
            }
            if let agent = v["agent"]?.stringValue ?? agent, tags["agent"] == nil { tags["agent"] = agent }
            guard let fields = v["fields"]?.objectValue, !fields.isEmpty else {
                throw ModelError(.invalid, "without fields")
            }
            return Point(measurement: m, tags: tags, fields: fields, timeNanoseconds: t)
        } catch let e as ModelError {
            throw ModelError(e.code, path + e.message)
        }
    }

    /// A decoded message.
    public enum Decoded: Sendable, Hashable {
        case point(Point)
        case event(ClowderEvent)
    }
}
