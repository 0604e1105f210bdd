import MetricsModel

/// One region's latest probe round of one target, taken from the agent's
/// Clowder-style `service_status` event (see the agent's `ServiceStatusEvent`).
///
/// The event's `service_name` names the target (it defaults to the URL or host
/// probed, so two regions probing the same URL meet under one name), `region`
/// the region, `type` the outcome: `up`, `down`, or `agent_network_down` (the
/// round failed while none of the agent's witnesses answered either).
public struct RegionRound: Sendable, Hashable {
    /// What the round found.
    public enum Outcome: String, Sendable, Hashable {
        /// The target answered as expected.
        case up
        /// The target failed while the agent's own network worked.
        case down
        /// The target failed and the agent's witnesses failed too: says nothing about the target.
        case agentNetworkDown = "agent_network_down"
    }

    /// `service_name`.
    public var target: String
    /// `region`.
    public var region: String
    /// `agent` (the agent id), empty when absent.
    public var agent: String
    /// `type`.
    public var outcome: Outcome
    /// `created`, epoch milliseconds (the agent's clock when the round started).
    public var createdMilliseconds: Int64
    /// `response_time_avg`, seconds, when the target answered.
    public var responseTime: Double?

    /// - Parameters: see the properties.
    public init(target: String, region: String, agent: String = "", outcome: Outcome, createdMilliseconds: Int64,
                responseTime: Double? = nil) {
        self.target = target
        self.region = region
        self.agent = agent
        self.outcome = outcome
        self.createdMilliseconds = createdMilliseconds
        self.responseTime = responseTime
    }

    /// Reads a `service_status` event; nil for any other message, or one without
    /// `service_name`, `region`, a known `type` or `created`.
    public init?(event: ClowderEvent) {
        let m = event.members
        guard event.category == "service_status",
            let target = m["service_name"]?.stringValue, !target.isEmpty,
            let region = m["region"]?.stringValue, !region.isEmpty,
            let type = event.type, let outcome = Outcome(rawValue: type),
            let created = event.created
        else { return nil }
        self.init(target: target, region: region, agent: m["agent"]?.stringValue ?? "", outcome: outcome,
                  createdMilliseconds: created, responseTime: m["response_time_avg"]?.doubleValue)
    }
}
