/// Several points of one batch in one message: how the ingest publishes points by default
/// (`CLOWDER_INGEST_POINTS_PER_MESSAGE`, 100), so that RabbitMQ stores and confirms one persistent
/// message per hundred points instead of one per point.
///
/// ```json
/// {"agent": "web-1", "category": "metric_points", "first": 200, "id": "<key id>:<batch id>",
///  "key_id": "<key id>", "points": [{"fields": {…}, "tags": {…}, "time_ns": <epoch ns>, "type": "nginx_access"}, …]}
/// ```
///
/// - `points[j]` is the flat point message of ``MetricsMessage`` without `category`, `created`,
///   `agent` and `key_id` (the envelope's `agent` is its `agent` tag unless it has one);
/// - `points[j]` keeps its own id `<id>:<first + j>`, the `message_id` it would have had as a
///   message of its own (`<key id>:<batch id>:<index in the batch>`), so that stores stay
///   idempotent however a batch is cut into messages (and whichever replica cut it);
/// - the AMQP `message_id` of the message is `<id>:<first>-<last>` (indexes included).
///
/// Events stay one per message, unchanged (Clowder's own consumers read them).
extension MetricsMessage {
    /// The `category` of a message of several points.
    public static let pointsCategory = "metric_points"

    /// One point as an element of `points`: `{"fields", "tags", "time_ns", "type"}`, compact, keys sorted.
    public static func elementBytes(for point: Point) -> [UInt8] {
        JSONValue.object([
            "type": .string(point.measurement), "time_ns": .int(point.timeNanoseconds),
            "tags": .object(point.tags.mapValues { .string($0) }), "fields": .object(point.fields),
        ]).jsonBytes
    }

    /// The bytes of a points message around `elements` (each from ``elementBytes(for:)``), keys sorted.
    /// - Parameters:
    ///   - id: `<key id>:<batch id>`; point j's id is `<id>:<first + j>`.
    ///   - first: the index in the batch of the first element.
    ///   - agentID: the sending agent's id.
    ///   - keyID: the ingest key that authenticated the batch; nil leaves `key_id` out.
    public static func pointsMessageBytes(id: String, first: Int, agentID: String, keyID: String?, elements: [[UInt8]]) -> [UInt8] {
        var w = JSONWriter()
        w.bytes.reserveCapacity(pointsEnvelopeBytes(id: id, agentID: agentID, keyID: keyID) + elements.reduce(0) { $0 + $1.count + 1 })
        w.bytes.append(contentsOf: #"{"agent":"#.utf8)
        w.writeString(agentID)
        w.bytes.append(contentsOf: #","category":"metric_points","first":"#.utf8)
        w.bytes.append(contentsOf: String(first).utf8)
        w.bytes.append(contentsOf: #","id":"#.utf8)
        w.writeString(id)
        if let keyID {
            w.bytes.append(contentsOf: #","key_id":"#.utf8)
            w.writeString(keyID)
        }
        w.bytes.append(contentsOf: #","points":["#.utf8)
        for (j, e) in elements.enumerated() {
            if j > 0 { w.bytes.append(UInt8(ascii: ",")) }
            w.bytes.append(contentsOf: e)
        }
        w.bytes.append(contentsOf: "]}".utf8)
        return w.bytes
    }

    /// An upper bound of the bytes of a points message beside its elements and their commas
    /// (names, `first` up to 20 digits, escaped strings at most 6 bytes per byte).
    public static func pointsEnvelopeBytes(id: String, agentID: String, keyID: String?) -> Int {
        80 + 6 * (id.utf8.count + agentID.utf8.count + (keyID?.utf8.count ?? 0))
    }

    /// The AMQP `message_id` of a points message: `<id>:<first>-<last>`.
    public static func pointsMessageID(id: String, first: Int, count: Int) -> String {
        "\(id):\(first)-\(first + max(count, 1) - 1)"
    }

    /// How many points a message holds, from its `message_id` alone (`…:<first>-<last>` gives
    /// `last − first + 1`, anything else 1): an estimate for sizing batches without decoding.
    public static func pointCount(messageID: String?) -> Int {
        guard let id = messageID, let colon = id.utf8.lastIndex(of: UInt8(ascii: ":")) else { return 1 }
        let range = id[id.index(after: colon)...]
        guard let dash = range.firstIndex(of: "-"), let a = Int(range[..<dash]), let b = Int(range[range.index(after: dash)...]),
            a >= 0, b >= a, b - a < 1_000_000
        else { return 1 }
        return b - a + 1
    }

    /// One item of a message read by ``decodeAll(_:messageID:)``: its id and what it holds.
    public struct Item: Sendable {
        /// The item's own id: for a point of a points message `<id>:<first + j>` (or, when the
        /// message has no `id`, `<message_id>:<j>`); for a single message its `message_id`. Nil when neither is known.
        public var messageID: String?
        /// The point or event, or why this item cannot be read (the other items of the message can).
        public var decoded: Result<Decoded, ModelError>
        /// Its place `j` in `points` of a points message; nil for a single message.
        public var position: Int?

        public init(messageID: String?, decoded: Result<Decoded, ModelError>, position: Int? = nil) {
            self.messageID = messageID
            self.decoded = decoded
            self.position = position
        }
    }

    /// Reads any published message: a points message gives one item per element, a single
    /// point or event message (``decode(_:)``) one item.
    ///
    /// Total: any byte sequence gives items or an error, never a trap. A points message whose
    /// envelope is wrong (not JSON, `points` not a non-empty array, `first` not an integer ≥ 0,
    /// `id` not a string) throws; a wrong element is a failed item naming `points[j]`, the others stand.
    /// - Parameter messageID: the AMQP `message_id`, if any.
    /// - Throws: ``ModelError`` (`invalid`) or ``JSONParseError`` when nothing of the message can be read.
    public static func decodeAll(_ bytes: some Collection<UInt8>, messageID: String?) throws -> [Item] {
        let v = try JSONValue(parsing: bytes)
        guard case .object = v else { throw ModelError(.invalid, "message is not a JSON object") }
        guard v["category"]?.stringValue == pointsCategory else {
            return [Item(messageID: messageID, decoded: .success(try decode(value: v)))]
        }
        guard let elements = v["points"]?.arrayValue, !elements.isEmpty else {
            throw ModelError(.invalid, "\(pointsCategory) message without points (a non-empty array)")
        }
        var first = 0
        if let f = v["first"] {
            guard let i = f.intValue, i >= 0, i <= Int64(Int.max - elements.count) else {
                throw ModelError(.invalid, "\(pointsCategory) message first \(f.jsonString) is not an integer ≥ 0")
            }
            first = Int(i)
        }
        var id: String?
        if let i = v["id"] {
            guard let s = i.stringValue, !s.isEmpty else {
                throw ModelError(.invalid, "\(pointsCategory) message id \(i.jsonString) is not a non-empty string")
            }
            id = s
        }
        let agent: String?
        if let a = v["agent"] {
            guard let s = a.stringValue else { throw ModelError(.invalid, "\(pointsCategory) message agent is not a string") }
            agent = s
        } else {
            agent = nil
        }
        return elements.enumerated().map { j, e in
            let itemID = id.map { "\($0):\(first + j)" } ?? messageID.map { "\($0):\(j)" }
            do {
                return Item(messageID: itemID, decoded: .success(.point(try point(e, agent: agent, path: "points[\(j)] "))), position: j)
            } catch let error as ModelError {
                return Item(messageID: itemID, decoded: .failure(error), position: j)
            } catch {
                return Item(messageID: itemID, decoded: .failure(ModelError(.invalid, "points[\(j)] \(error)")), position: j)
            }
        }
    }
}
