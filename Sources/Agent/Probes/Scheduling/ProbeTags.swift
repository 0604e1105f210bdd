import MetricsModel

/// The tags every agent point carries (DESIGN.md, "Shared conventions").
enum ProbeTags {
    /// `agent` (agent id), `host` (machine host name), `region`; empty values are left out.
    static func agent(_ identity: AgentIdentity) -> [String: String] {
        var t: [String: String] = [:]
        if !identity.id.isEmpty { t["agent"] = identity.id }
        if !identity.host.isEmpty { t["host"] = identity.host }
        if !identity.region.isEmpty { t["region"] = identity.region }
        return t
    }
}
