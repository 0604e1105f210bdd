import MetricsModel

/// Checks that a request writes only as the agents, hosts and regions its key
/// is bound to (``IngestKey/agents``, ``IngestKey/hosts``, ``IngestKey/regions``;
/// unbound = any): the batch's `agent.id`, `agent.host` and `agent.region`, the
/// `agent`, `host` and `region` tags of every point and the same members of
/// every event. Without this any agent key could write as any other agent.
enum KeyBinding {
    /// - Throws: ``ModelError`` `.signature` (answered 403) naming the member, never its value.
    static func check(_ batch: Batch, key: IngestKey) throws(ModelError) {
        try allowed(batch.agent.id, key.agents, "batch.agent.id", "agent id")
        if !batch.agent.host.isEmpty { try allowed(batch.agent.host, key.hosts, "batch.agent.host", "host") }
        if !batch.agent.region.isEmpty { try allowed(batch.agent.region, key.regions, "batch.agent.region", "region") }
        // A key bound to hosts or regions must say which it writes as.
        if key.hosts != nil, batch.agent.host.isEmpty { throw denied("batch.agent.host is required for this key") }
        if key.regions != nil, batch.agent.region.isEmpty { throw denied("batch.agent.region is required for this key") }
        for (i, p) in batch.points.enumerated() {
            if let a = p.tags["agent"] { try allowed(a, key.agents, "points[\(i)].tags.agent", "agent id") }
            if let h = p.tags["host"] { try allowed(h, key.hosts, "points[\(i)].tags.host", "host") }
            if let r = p.tags["region"] { try allowed(r, key.regions, "points[\(i)].tags.region", "region") }
        }
        try check(events: batch.events, key: key, path: "events")
    }

    /// - Throws: ``ModelError`` `.signature` (answered 403).
    static func check(events: [ClowderEvent], key: IngestKey, path: String) throws(ModelError) {
        guard key.agents != nil || key.hosts != nil || key.regions != nil else { return }
        for (i, e) in events.enumerated() {
            for (member, bound, what) in [("agent", key.agents, "agent id"), ("host", key.hosts, "host"), ("region", key.regions, "region")] {
                guard let v = e.members[member], v != .null else { continue }
                guard case .string(let s) = v else { throw denied("\(path)[\(i)].\(member) is not a string") }
                try allowed(s, bound, "\(path)[\(i)].\(member)", what)
            }
        }
    }

    static func allowed(_ value: String, _ bound: Set<String>?, _ at: String, _ what: String) throws(ModelError) {
        guard let bound else { return }
        guard bound.contains(value) else { throw denied("\(at) is not an \(what) this key may write as") }
    }

    static func denied(_ m: String) -> ModelError { ModelError(.signature, m) }
}
