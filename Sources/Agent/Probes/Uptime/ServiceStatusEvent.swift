import MetricsModel
import Parsers

/// Clowder-style `service_status` events: the flat JSON Clowder's own health
/// monitors publish to `clowder.metrics`, read by Clowder's InfluxDB consumer
/// (tags `category`, `type`, `healthy`; fields `service_name`,
/// `response_time_avg/min/max`, `response_time_loss`, `uptime`).
///
/// One event per probe round:
/// - `category`: `"service_status"`; `type`: `"up"` or `"down"`; `healthy`: bool.
/// - `service_name`: the configured name, else the target (URL or host).
/// - `response_time_avg`, `response_time_min`, `response_time_max`: seconds
///   (this project's unit for durations); for HTTP all three are the request's
///   `response_time`, for ping the echo round trips. Absent when nothing answered.
/// - `response_time_loss`: percent (0–100) of attempts unanswered in the round
///   (HTTP: 0 or 100; ping: `percent_packet_loss`).
/// - `uptime`: percent (0–100) of rounds up over the uptime window.
/// - `created`: epoch milliseconds; `source`: `"clowder-agent"`; plus the
///   agent's `agent`, `host` and `region` and the target as `url`. The target and the service
///   name (the target by default) pass through ``KeyRedaction/redact(_:)``.
public enum ServiceStatusEvent {
    /// Builds the event.
    /// - Parameters:
    ///   - serviceName: `service_name`.
    ///   - url: the target probed.
    ///   - up: the round's verdict.
    ///   - responseTimes: seconds, one per answered attempt.
    ///   - lossPercent: unanswered attempts, percent.
    ///   - uptimeRatio: 0…1 over the window (written as percent).
    ///   - identity: the agent.
    ///   - createdMilliseconds: epoch ms.
    public static func make(serviceName: String, url: String, up: Bool, responseTimes: [Double],
                            lossPercent: Double, uptimeRatio: Double, identity: AgentIdentity,
                            createdMilliseconds: Int64) -> ClowderEvent {
        var m: [String: JSONValue] = [
            "category": "service_status",
            "type": .string(up ? "up" : "down"),
            "healthy": .bool(up),
            "service_name": .string(KeyRedaction.redact(serviceName)),
            "url": .string(KeyRedaction.redact(url)),
            "response_time_loss": .double(lossPercent),
            "uptime": .double(uptimeRatio * 100),
            "created": .int(createdMilliseconds),
            "source": "clowder-agent",
        ]
        if !responseTimes.isEmpty {
            m["response_time_avg"] = .double(responseTimes.reduce(0, +) / Double(responseTimes.count))
            m["response_time_min"] = .double(responseTimes.min()!)
            m["response_time_max"] = .double(responseTimes.max()!)
        }
        for (k, v) in ProbeTags.agent(identity) { m[k] = .string(v) }
        return ClowderEvent(m)
    }
}
