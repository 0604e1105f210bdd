import MetricsModel

/// The checks the OpenAPI schemas state that `MetricsModel`'s readers leave
/// lenient, so a body the spec calls invalid is refused with 400 (and one it
/// calls valid is accepted): `points`/`events` must be arrays when present,
/// `agent.host/region/version` and an event's `type`, `resource_id` and
/// `user_id` strings when present, `batch.id` at most 200 bytes.
enum BatchValidation {
    /// Reads a batch.
    /// - Throws: ``ModelError`` naming the member.
    static func batch(_ json: JSONValue) throws(ModelError) -> Batch {
        guard case .object(let o) = json else { throw ModelError(.invalid, "the batch must be a JSON object") }
        if let id = o["id"]?.stringValue, id.utf8.count > 200 { throw ModelError(.invalid, "batch.id is longer than 200 bytes") }
        if case .object(let agent)? = o["agent"] {
            for k in ["host", "region", "version"] where agent[k] != nil && agent[k]?.stringValue == nil {
                throw ModelError(.invalid, "batch.agent.\(k) must be a string")
            }
        } else if o["agent"] != nil {
            throw ModelError(.invalid, "batch.agent must be an object")
        }
        for k in ["points", "events"] where o[k] != nil && o[k]?.arrayValue == nil {
            throw ModelError(.invalid, "batch.\(k) must be an array")
        }
        for (i, e) in (o["events"]?.arrayValue ?? []).enumerated() {
            do { try eventMembers(e) } catch { throw ModelError(error.code, "events[\(i)]: \(error.message)") }
        }
        for (i, p) in (o["points"]?.arrayValue ?? []).enumerated() {
            if case .object(let po) = p, let f = po["fields"]?.objectValue {
                for (k, v) in f { if case .double(let d) = v, !d.isFinite { throw ModelError(.invalid, "points[\(i)]: point.fields.\(k) is not finite") } }
            }
        }
        do {
            return try Batch(json: json)
        } catch let e as ModelError {
            throw e
        } catch {
            throw ModelError(.invalid, "\(error)")
        }
    }

    /// Reads one event or a non-empty array of events.
    /// - Throws: ``ModelError`` naming the member.
    static func events(_ json: JSONValue) throws(ModelError) -> [ClowderEvent] {
        switch json {
        case .array(let a):
            guard !a.isEmpty else { throw ModelError(.invalid, "the array of events is empty") }
            var out: [ClowderEvent] = []
            for (i, e) in a.enumerated() {
                do {
                    out.append(try event(e))
                } catch {
                    throw ModelError(error.code, "[\(i)]: \(error.message)")
                }
            }
            return out
        case .object:
            return [try event(json)]
        default:
            throw ModelError(.invalid, "the body must be an event object or an array of events")
        }
    }

    static func event(_ e: JSONValue) throws(ModelError) -> ClowderEvent {
        try eventMembers(e)
        do {
            return try ClowderEvent(json: e)
        } catch let m as ModelError {
            throw m
        } catch {
            throw ModelError(.invalid, "\(error)")
        }
    }

    static func eventMembers(_ e: JSONValue) throws(ModelError) {
        guard case .object(let o) = e else { throw ModelError(.invalid, "event is not an object") }
        for k in ["type", "resource_id", "user_id"] where o[k] != nil && o[k]?.stringValue == nil {
            throw ModelError(.invalid, "event.\(k) must be a string")
        }
    }
}
