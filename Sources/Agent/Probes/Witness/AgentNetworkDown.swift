import MetricsModel

/// How a round is written when its target failed and no witness answered:
/// the agent's own network is down, which says nothing about the target.
///
/// - The point (`http_response` or `ping`): tag `result` becomes
///   `agent_network_down`, the probe's own outcome moves to tag `failure`
///   (e.g. `timeout`, `connection_failed`), field `agent_network_down` is 1
///   (int), and the `up` field is left out, so `mean("up")` (uptime panels)
///   does not count the round against the target. `uptime` is the share of up
///   rounds among the rounds that did count.
/// - The `service_status` event: `type` `agent_network_down`, field
///   `agent_network_down` true, no `healthy` (we do not know), and a
///   `witnesses` string saying what each witness answered.
public enum AgentNetworkDown {
    /// The `result` tag value and the event `type`.
    public static let result = "agent_network_down"

    /// Rewrites a failed round's point as described above.
    static func mark(_ point: inout Point) {
        if let r = point.tags["result"] { point.tags["failure"] = r }
        point.tags["result"] = result
        point.fields["up"] = nil
        point.fields["agent_network_down"] = .int(1)
    }

    /// Rewrites a failed round's `service_status` event as described above.
    static func mark(_ event: ClowderEvent, witnesses: WitnessChecker.Report) -> ClowderEvent {
        var m = event.members
        m["type"] = .string(result)
        m["healthy"] = nil
        m["agent_network_down"] = .bool(true)
        m["witnesses"] = .string(witnesses.summary)
        return ClowderEvent(m)
    }
}
