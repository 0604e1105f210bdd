import MetricsModel
import Parsers

/// What one ping round measured: the `ping` measurement.
///
/// Field names and types are Telegraf's `inputs.ping` ones, so existing
/// dashboards work (https://docs.influxdata.com/telegraf/v1/input-plugins/ping/):
/// `packets_transmitted` (int), `packets_received` (int),
/// `percent_packet_loss` (float, 0–100), `minimum_response_ms`,
/// `average_response_ms`, `maximum_response_ms`, `standard_deviation_ms`
/// (floats, milliseconds; absent when no reply came back, as in Telegraf) and
/// `result_code` (int).
///
/// `result_code` is Telegraf's: 0 success (the round ran; loss may be 100 %),
/// 1 no such host, 2 ping error. Ours adds **3 permission**: the agent may not
/// open an ICMP socket (no `CAP_NET_RAW`, group outside
/// `net.ipv4.ping_group_range`). The same outcome is also a string tag
/// `result` (`success`, `no_such_host`, `ping_error`, `permission`). A
/// permission failure says nothing about the target: the point then has
/// `result_code` only, so loss panels never show it as down.
///
/// Tags: `url` (the target as configured, Telegraf's tag), `result`, and the
/// agent's `agent`, `host`, `region`.
public struct PingResult: Sendable, Hashable {
    /// How the round ended.
    public enum Outcome: String, Sendable, Hashable {
        /// Echoes were sent; any number of replies (0 too) came back.
        case success
        /// The name did not resolve (`getaddrinfo`).
        case noSuchHost = "no_such_host"
        /// A socket or send error other than permission.
        case pingError = "ping_error"
        /// No privilege to open an ICMP socket.
        case permission

        /// Telegraf's `result_code` (3 = permission is ours).
        public var resultCode: Int64 {
            switch self {
            case .success: 0
            case .noSuchHost: 1
            case .pingError: 2
            case .permission: 3
            }
        }
    }

    /// The target as configured (name or address).
    public var target: String
    /// The numeric address probed, when it resolved.
    public var address: String?
    /// How the round ended.
    public var outcome: Outcome
    /// `raw` or `datagram`: the kind of ICMP socket used, when one opened.
    public var socketKind: String?
    /// Echo requests sent.
    public var transmitted: Int
    /// Round-trip time of each echo answered, seconds, in sequence order.
    public var roundTripTimes: [Double]
    /// A one-line explanation for a failure (and how to fix a permission problem).
    public var message: String?

    /// Creates a result (used by the probe and by tests).
    public init(target: String, address: String? = nil, outcome: Outcome, socketKind: String? = nil,
                transmitted: Int = 0, roundTripTimes: [Double] = [], message: String? = nil) {
        self.target = target
        self.address = address
        self.outcome = outcome
        self.socketKind = socketKind
        self.transmitted = transmitted
        self.roundTripTimes = roundTripTimes
        self.message = message
    }

    /// Echo replies received.
    public var received: Int { roundTripTimes.count }
    /// Lost echoes as a percentage of those sent (100 when none was sent).
    public var percentPacketLoss: Double {
        transmitted == 0 ? 100 : Double(transmitted - received) * 100 / Double(transmitted)
    }
    /// Shortest round trip, milliseconds.
    public var minimumResponseMilliseconds: Double? { roundTripTimes.min().map { $0 * 1000 } }
    /// Mean round trip, milliseconds.
    public var averageResponseMilliseconds: Double? {
        roundTripTimes.isEmpty ? nil : roundTripTimes.reduce(0, +) / Double(received) * 1000
    }
    /// Longest round trip, milliseconds.
    public var maximumResponseMilliseconds: Double? { roundTripTimes.max().map { $0 * 1000 } }
    /// Population standard deviation of the round trips, milliseconds (ping's `mdev`).
    public var standardDeviationMilliseconds: Double? {
        guard let avg = averageResponseMilliseconds else { return nil }
        let v = roundTripTimes.reduce(0) { $0 + ($1 * 1000 - avg) * ($1 * 1000 - avg) } / Double(received)
        return v.squareRoot()
    }
    /// Whether the target answered at least one echo.
    public var isUp: Bool { outcome == .success && received > 0 }

    /// The `ping` point described above.
    public func point(identity: AgentIdentity, timeNanoseconds: Int64) -> Point {
        var fields: [String: JSONValue] = ["result_code": .int(outcome.resultCode)]
        if outcome == .success {
            fields["packets_transmitted"] = .int(Int64(transmitted))
            fields["packets_received"] = .int(Int64(received))
            fields["percent_packet_loss"] = .double(percentPacketLoss)
            if let v = minimumResponseMilliseconds { fields["minimum_response_ms"] = .double(v) }
            if let v = averageResponseMilliseconds { fields["average_response_ms"] = .double(v) }
            if let v = maximumResponseMilliseconds { fields["maximum_response_ms"] = .double(v) }
            if let v = standardDeviationMilliseconds { fields["standard_deviation_ms"] = .double(v) }
        }
        var tags = ProbeTags.agent(identity)
        tags["url"] = KeyRedaction.redact(target)
        tags["result"] = outcome.rawValue
        return Point(measurement: "ping", tags: tags, fields: fields, timeNanoseconds: timeNanoseconds)
    }
}
