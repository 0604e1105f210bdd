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

    /// Reads a published message back: a point when `category` is `metric`,
    /// otherwise a Clowder event.
    /// - Throws: ``ModelError`` or ``JSONParseError``.
    public static func decode(_ bytes: some Collection<UInt8>) throws -> Decoded {
        let v = try JSONValue(parsing: bytes)
        if v["category"]?.stringValue == "metric" {
            guard let m = v["type"]?.stringValue else { throw ModelError(.invalid, "metric message without type") }
            let t = v["time_ns"]?.intValue ?? (v["created"]?.intValue).map { $0 * 1_000_000 }
            guard let t else { throw ModelError(.invalid, "metric message without time_ns or created") }
            var tags: [String: String] = [:]
            for (k, tv) in v["tags"]?.objectValue ?? [:] { tags[k] = tv.stringValue ?? tv.jsonString }
            if let agent = v["agent"]?.stringValue, tags["agent"] == nil { tags["agent"] = agent }
            guard let fields = v["fields"]?.objectValue, !fields.isEmpty else {
                throw ModelError(.invalid, "metric message without fields")
            }
            return .point(Point(measurement: m, tags: tags, fields: fields, timeNanoseconds: t))
        }
        return .event(try ClowderEvent(json: v))
    }

    /// A decoded message.
    public enum Decoded: Sendable, Hashable {
        case point(Point)
        case event(ClowderEvent)
    }
}
