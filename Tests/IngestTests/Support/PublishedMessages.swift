import Broker
import MetricsModel

/// Reads what the ingest published, for tests, as (message id, flat JSON message) per point or event:
/// a single message as it is; a `metric_points` message (several points of one batch) as the flat
/// point messages it stands for — each element plus `category` `metric`, `created` (time_ns / 10⁶), the
/// envelope's `agent` and `key_id` — with the id `<id>:<first + j>`. Written from the documented wire
/// format, independently of the sinks' reader.
enum PublishedMessages {
    /// - Throws: when the message has no id, its body is not JSON, or a points message's
    ///   `message_id` is not `<id>:<first>-<last>` for its elements.
    static func expand(_ d: BrokerDelivery) throws -> [(String, JSONValue)] {
        try expand(id: d.messageID, body: d.body)
    }

    static func expand(id: String?, body: [UInt8]) throws -> [(String, JSONValue)] {
        guard let id else { throw ExpandError("a message without message_id") }
        let v = try JSONValue(parsing: body)
        guard v["category"] == "metric_points" else { return [(id, v)] }
        guard let prefix = v["id"]?.stringValue, let first = v["first"]?.intValue, let elements = v["points"]?.arrayValue,
            !elements.isEmpty
        else { throw ExpandError("metric_points message \(id) without id, first or points") }
        let last = first + Int64(elements.count) - 1
        guard id == "\(prefix):\(first)-\(last)" else { throw ExpandError("message_id \(id) is not \(prefix):\(first)-\(last)") }
        return try elements.enumerated().map { j, e in
            guard var o = e.objectValue, let t = o["time_ns"]?.intValue else { throw ExpandError("\(id): points[\(j)] is not a point") }
            o["category"] = "metric"
            o["created"] = .int(t / 1_000_000)
            if let agent = v["agent"] { o["agent"] = agent }
            if let key = v["key_id"] { o["key_id"] = key }
            return ("\(prefix):\(first + Int64(j))", .object(o))
        }
    }

    /// Every point and event of `deliveries`, by id, with how many times each was seen.
    static func items(_ deliveries: [BrokerDelivery]) throws -> (bodies: [String: JSONValue], counts: [String: Int]) {
        var bodies: [String: JSONValue] = [:]
        var counts: [String: Int] = [:]
        for d in deliveries {
            for (id, body) in try expand(d) {
                bodies[id] = body
                counts[id, default: 0] += 1
            }
        }
        return (bodies, counts)
    }

    struct ExpandError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}
