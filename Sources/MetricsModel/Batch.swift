/// Who sent a batch: the agent's identity, carried in every batch.
///
/// JSON: `{"id": "web-1", "host": "web-1.example.org", "region": "eu-west", "version": "0.1.0"}`.
public struct AgentIdentity: Sendable, Hashable {
    /// Agent id (`CLOWDER_METRICS_AGENT_ID`, default the host name).
    public var id: String
    /// Host name.
    public var host: String
    /// Region tag (`CLOWDER_METRICS_REGION`).
    public var region: String
    /// Agent version.
    public var version: String

    public init(id: String, host: String, region: String, version: String) {
        self.id = id
        self.host = host
        self.region = region
        self.version = version
    }

    public var json: JSONValue {
        ["id": .string(id), "host": .string(host), "region": .string(region), "version": .string(version)]
    }

    /// - Throws: ``ModelError`` when `id` is missing.
    public init(json: JSONValue) throws {
        guard let id = json["id"]?.stringValue, !id.isEmpty else {
            throw ModelError(.invalid, "agent.id must be a non-empty string")
        }
        self.init(
            id: id, host: json["host"]?.stringValue ?? "", region: json["region"]?.stringValue ?? "",
            version: json["version"]?.stringValue ?? "")
    }
}

/// What an agent sends in one request: points and events with the agent's
/// identity and a batch id (a UUID, also sent as `Idempotency-Key`).
///
/// JSON: `{"id": "<uuid>", "created": <epoch ms>, "agent": {…}, "points": [Point…], "events": [ClowderEvent…]}`.
public struct Batch: Sendable, Hashable {
    /// Batch id: a UUID string; the ingest de-duplicates on it.
    public var id: String
    /// When the batch was closed, epoch milliseconds.
    public var created: Int64
    /// The sender.
    public var agent: AgentIdentity
    /// Measurements.
    public var points: [Point]
    /// Clowder-style events.
    public var events: [ClowderEvent]

    public init(id: String, created: Int64, agent: AgentIdentity, points: [Point], events: [ClowderEvent]) {
        self.id = id
        self.created = created
        self.agent = agent
        self.points = points
        self.events = events
    }

    public var json: JSONValue {
        [
            "id": .string(id), "created": .int(created), "agent": agent.json,
            "points": .array(points.map(\.json)), "events": .array(events.map(\.json)),
        ]
    }

    /// The compact JSON body.
    public var jsonBytes: [UInt8] { json.jsonBytes }

    /// Reads a batch.
    /// - Throws: ``ModelError`` (the path of the bad member), ``JSONParseError``.
    public init(json: JSONValue) throws {
        guard let id = json["id"]?.stringValue, !id.isEmpty else { throw ModelError(.invalid, "batch.id must be a non-empty string") }
        guard let created = json["created"]?.intValue else { throw ModelError(.invalid, "batch.created must be an integer (epoch ms)") }
        guard let agent = json["agent"] else { throw ModelError(.invalid, "batch.agent is required") }
        let points = try (json["points"]?.arrayValue ?? []).enumerated().map { i, p in
            do { return try Point(json: p) } catch let e as ModelError { throw ModelError(e.code, "points[\(i)]: \(e.message)") }
        }
        let events = try (json["events"]?.arrayValue ?? []).enumerated().map { i, e in
            do { return try ClowderEvent(json: e) } catch let e as ModelError { throw ModelError(e.code, "events[\(i)]: \(e.message)") }
        }
        self.init(id: id, created: created, agent: try AgentIdentity(json: agent), points: points, events: events)
    }

    /// Parses a batch from its JSON bytes.
    public init(jsonBytes: some Collection<UInt8>) throws {
        try self.init(json: JSONValue(parsing: jsonBytes))
    }
}
