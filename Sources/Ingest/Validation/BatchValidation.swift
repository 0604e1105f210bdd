import MetricsModel

/// Total, bounded reading of request bodies: every member the OpenAPI
/// schemas declare is checked for type, every string, array and time against
/// ``IngestLimits``, every number for being finite, and the points of the
/// measurements ``FieldSchema`` declares against their field types — before
/// `MetricsModel`'s readers build the values. Nothing here can trap: integer
/// times stay `Int64` literals (a double such as `1e300` is refused, never
/// converted), ranges are computed with checked arithmetic.
///
/// Reserved names (the trial in `Benchmarks/attack` showed each one crossing a
/// defence): an event of category `metric` is refused, because every reader of
/// the exchange (``MetricsMessage/decode(_:)``) takes it for a point, whose tags
/// and fields would bypass the point checks, ``FieldSchema`` and the key's
/// bindings; a point of measurement `service_verdict` is refused, because only
/// `clowder-sink verdicts` may publish verdicts (the status page and Grafana
/// show them); a measurement starting with `#` is refused, because InfluxDB line
/// protocol reads such a line as a comment and drops it without an error. No
/// string, member name or tag may hold U+0000: PostgreSQL's `text` and `jsonb`
/// cannot store it (SQLSTATE 22P05), so the point would reach every store but one.
///
/// Errors are ``ModelError`` `.invalid` whose message names the member by its
/// path (`points[3].fields.requests`); names the client chose are cut to 64
/// printable bytes, and no value is ever repeated back.
enum BatchValidation {
    /// The event category of the flat point messages (``MetricsMessage``): never a client's event.
    static let pointCategory = "metric"
    /// Measurements only the centre's own processes publish.
    static let reservedMeasurements: Set<String> = ["service_verdict"]

    /// Reads a batch.
    /// - Parameters:
    ///   - now: Unix seconds, for the time bounds.
    /// - Throws: ``ModelError`` naming the member.
    static func batch(_ json: JSONValue, limits: IngestLimits, now: Int64) throws(ModelError) -> Batch {
        guard case .object(let o) = json else { throw ModelError(.invalid, "the batch must be a JSON object") }
        guard case .string(let id)? = o["id"], !id.isEmpty else { throw ModelError(.invalid, "batch.id must be a non-empty string") }
        if id.utf8.count > 200 { throw ModelError(.invalid, "batch.id is longer than 200 bytes") }
        guard case .int(let created)? = o["created"] else { throw ModelError(.invalid, "batch.created must be an integer (epoch ms)") }
        let msRange = limits.millisecondRange(now: now)
        guard msRange.contains(created) else { throw ModelError(.invalid, "batch.created is outside \(window(limits)) of now") }
        guard case .object(let agent)? = o["agent"] else { throw ModelError(.invalid, "batch.agent must be an object") }
        guard case .string(let agentID)? = agent["id"], !agentID.isEmpty else {
            throw ModelError(.invalid, "batch.agent.id must be a non-empty string")
        }
        try name(agentID, "batch.agent.id", limits)
        for k in ["host", "region", "version"] {
            guard let v = agent[k] else { continue }
            guard case .string(let s) = v else { throw ModelError(.invalid, "batch.agent.\(k) must be a string") }
            try name(s, "batch.agent.\(k)", limits)
        }
        let points = try array(o["points"], "batch.points", max: limits.maxPoints)
        let events = try array(o["events"], "batch.events", max: limits.maxEvents)
        let nsRange = limits.nanosecondRange(now: now)
        var outPoints: [Point] = []
        outPoints.reserveCapacity(points.count)
        for (i, p) in points.enumerated() { outPoints.append(try point(p, "points[\(i)]", limits, nsRange)) }
        var outEvents: [ClowderEvent] = []
        outEvents.reserveCapacity(events.count)
        for (i, e) in events.enumerated() { outEvents.append(try event(e, "events[\(i)]", limits, msRange)) }
        let identity = AgentIdentity(
            id: agentID, host: agent["host"]?.stringValue ?? "", region: agent["region"]?.stringValue ?? "",
            version: agent["version"]?.stringValue ?? "")
        return Batch(id: id, created: created, agent: identity, points: outPoints, events: outEvents)
    }

    /// Reads one event or a non-empty array of events.
    /// - Throws: ``ModelError`` naming the member.
    static func events(_ json: JSONValue, limits: IngestLimits, now: Int64) throws(ModelError) -> [ClowderEvent] {
        let msRange = limits.millisecondRange(now: now)
        switch json {
        case .array(let a):
            guard !a.isEmpty else { throw ModelError(.invalid, "the array of events is empty") }
            guard a.count <= limits.maxEvents else { throw ModelError(.invalid, "more than \(limits.maxEvents) events") }
            var out: [ClowderEvent] = []
            out.reserveCapacity(a.count)
            for (i, e) in a.enumerated() { out.append(try event(e, "[\(i)]", limits, msRange)) }
            return out
        case .object:
            return [try event(json, "event", limits, msRange)]
        default:
            throw ModelError(.invalid, "the body must be an event object or an array of events")
        }
    }

    // MARK: - Parts

    static func window(_ l: IngestLimits) -> String { "-\(l.maxAgeSeconds) s...+\(l.maxFutureSeconds) s" }

    static func array(_ v: JSONValue?, _ path: String, max: Int) throws(ModelError) -> [JSONValue] {
        guard let v, v != .null else { return [] }
        guard case .array(let a) = v else { throw ModelError(.invalid, "\(path) must be an array") }
        guard a.count <= max else { throw ModelError(.invalid, "\(path) has more than \(max) elements") }
        return a
    }

    static func point(_ v: JSONValue, _ path: String, _ l: IngestLimits, _ nsRange: ClosedRange<Int64>) throws(ModelError) -> Point {
        guard case .object(let o) = v else { throw ModelError(.invalid, "\(path) is not an object") }
        guard case .string(let m)? = o["measurement"], !m.isEmpty else {
            throw ModelError(.invalid, "\(path).measurement must be a non-empty string")
        }
        try name(m, "\(path).measurement", l)
        if reservedMeasurements.contains(m) {
            throw ModelError(.invalid, "\(path).measurement \(m) is reserved for clowder-sink verdicts")
        }
        if m.utf8.first == UInt8(ascii: "#") {
            throw ModelError(.invalid, "\(path).measurement must not start with # (a comment in InfluxDB line protocol)")
        }
        guard case .int(let t)? = o["time_ns"] else { throw ModelError(.invalid, "\(path).time_ns must be an integer (epoch ns)") }
        guard nsRange.contains(t) else { throw ModelError(.invalid, "\(path).time_ns is outside \(window(l)) of now") }
        var tags: [String: String] = [:]
        if let tv = o["tags"], tv != .null {
            guard case .object(let to) = tv else { throw ModelError(.invalid, "\(path).tags must be an object of strings") }
            guard to.count <= l.maxTags else { throw ModelError(.invalid, "\(path).tags has more than \(l.maxTags) members") }
            for (k, v) in to {
                try memberName(k, "\(path).tags", l)
                guard case .string(let s) = v else { throw ModelError(.invalid, "\(path).tags.\(shown(k)) must be a string") }
                try name(s, "\(path).tags.\(shown(k))", l)
                tags[k] = s
            }
        }
        guard case .object(let fo)? = o["fields"], !fo.isEmpty else {
            throw ModelError(.invalid, "\(path).fields must be a non-empty object")
        }
        guard fo.count <= l.maxFields else { throw ModelError(.invalid, "\(path).fields has more than \(l.maxFields) members") }
        let schema = FieldSchema.measurements[m]
        for (k, v) in fo {
            try memberName(k, "\(path).fields", l)
            let at = "\(path).fields.\(shown(k))"
            switch v {
            case .int, .bool: break
            case .double(let d): guard d.isFinite else { throw ModelError(.invalid, "\(at) is not a finite number") }
            case .string(let s): try text(s, at, l)
            default: throw ModelError(.invalid, "\(at) must be a number, string or boolean")
            }
            // A field the schema does not declare keeps its own type (an agent newer than the ingest).
            if let declared = schema?[k] {
                guard declared.matches(v) else { throw ModelError(.invalid, "\(at) must be \(article(declared)) in measurement \(m)") }
            }
        }
        return Point(measurement: m, tags: tags, fields: fo, timeNanoseconds: t)
    }

    /// Members whose values become tags or indexed columns: names, not free text.
    static let nameMembers: Set<String> = [
        "category", "type", "resource_id", "resource_type", "user_id", "author_id", "source", "service_name", "extractor_name",
        "agent", "host", "region", "key_id",
    ]

    static func event(_ v: JSONValue, _ path: String, _ l: IngestLimits, _ msRange: ClosedRange<Int64>) throws(ModelError) -> ClowderEvent {
        guard case .object(let o) = v else { throw ModelError(.invalid, "\(path) is not an object") }
        guard o.count <= l.maxMembers else { throw ModelError(.invalid, "\(path) has more than \(l.maxMembers) members") }
        guard case .string(let c)? = o["category"], !c.isEmpty else {
            throw ModelError(.invalid, "\(path).category must be a non-empty string")
        }
        if c == pointCategory {
            throw ModelError(.invalid, "\(path).category metric is reserved for points (send them in points of POST /v1/batches)")
        }
        guard case .int(let created)? = o["created"] else {
            throw ModelError(.invalid, "\(path).created must be an integer (epoch milliseconds)")
        }
        guard msRange.contains(created) else { throw ModelError(.invalid, "\(path).created is outside \(window(l)) of now") }
        for (k, v) in o {
            try memberName(k, path, l)
            let at = "\(path).\(shown(k))"
            if v == .null { continue }
            if let declared = FieldSchema.eventMembers[k], !declared.matches(v) {
                throw ModelError(.invalid, "\(at) must be \(article(declared))")
            }
            if nameMembers.contains(k), case .string(let s) = v { try name(s, at, l) }
            try bounded(v, at, l, depth: 0)
        }
        return ClowderEvent(o)
    }

    /// Every string within bounds and every number finite, at any depth.
    static func bounded(_ v: JSONValue, _ at: String, _ l: IngestLimits, depth: Int) throws(ModelError) {
        switch v {
        case .double(let d): guard d.isFinite else { throw ModelError(.invalid, "\(at) is not a finite number") }
        case .string(let s): try text(s, at, l)
        case .array(let a):
            for (i, e) in a.enumerated() { try bounded(e, "\(at)[\(i)]", l, depth: depth + 1) }
        case .object(let o):
            for (k, e) in o {
                try memberName(k, at, l)
                try bounded(e, "\(at).\(shown(k))", l, depth: depth + 1)
            }
        case .null, .bool, .int: break
        }
    }

    static func name(_ s: String, _ at: String, _ l: IngestLimits) throws(ModelError) {
        guard s.utf8.count <= l.maxNameBytes else { throw ModelError(.invalid, "\(at) is longer than \(l.maxNameBytes) bytes") }
        guard !s.utf8.contains(0) else { throw ModelError(.invalid, "\(at) holds U+0000 (PostgreSQL cannot store it)") }
    }

    /// A free-text string: bounded, without U+0000.
    static func text(_ s: String, _ at: String, _ l: IngestLimits) throws(ModelError) {
        guard s.utf8.count <= l.maxStringBytes else { throw ModelError(.invalid, "\(at) is longer than \(l.maxStringBytes) bytes") }
        guard !s.utf8.contains(0) else { throw ModelError(.invalid, "\(at) holds U+0000 (PostgreSQL cannot store it)") }
    }

    static func memberName(_ k: String, _ at: String, _ l: IngestLimits) throws(ModelError) {
        guard !k.isEmpty else { throw ModelError(.invalid, "\(at) has a member with an empty name") }
        guard k.utf8.count <= l.maxNameBytes else { throw ModelError(.invalid, "\(at) has a member name longer than \(l.maxNameBytes) bytes") }
        guard !k.utf8.contains(0) else { throw ModelError(.invalid, "\(at) has a member name holding U+0000 (PostgreSQL cannot store it)") }
    }

    static func article(_ t: FieldSchema.FieldType) -> String {
        switch t {
        case .integer: "an integer (no fraction or exponent)"
        case .double: "a floating-point number (written with a fraction or exponent)"
        case .string: "a string"
        case .boolean: "a boolean"
        }
    }

    /// A client-chosen name as shown in an error: at most 64 bytes, printable ASCII, others as `?`.
    static func shown(_ s: String) -> String {
        var out = ""
        for b in s.utf8.prefix(64) { out.unicodeScalars.append((0x21...0x7E).contains(b) ? Unicode.Scalar(b) : "?") }
        return s.utf8.count > 64 ? out + "…" : out
    }
}
