import MetricsModel

/// The verdict on one target for one period: what each region saw, and the
/// quorum's answer (see ``VerdictPolicy``).
///
/// As a point (``point``), measurement `service_verdict` at the period's start:
/// - tags `service_name`, `verdict` (`up`, `degraded`, `down`, `unknown`);
/// - int fields `regions_up`, `regions_down`, `regions_unknown` (= silent + network down),
///   `regions_silent`, `regions_network_down`, `quorum`, `down` (1 when the verdict is
///   `down`), `up` (1 when `up`, 0 otherwise: `mean("up")` is the share of periods up);
/// - string fields `up_regions`, `down_regions`, `silent_regions`,
///   `network_down_regions` (sorted, comma-separated; empty when none).
public struct ServiceVerdict: Sendable, Hashable {
    /// The quorum's answer.
    public enum Verdict: String, Sendable, Hashable, CaseIterable {
        case up, degraded, down, unknown
    }

    /// One region's state in the period.
    public enum RegionState: String, Sendable, Hashable {
        case up, down
        /// Its agent's own network was down in its latest round.
        case agentNetworkDown = "agent_network_down"
        /// No round within ``VerdictPolicy/silentAfter``.
        case agentSilent = "agent_silent"
    }

    /// `service_name`.
    public var target: String
    /// Start of the period, epoch milliseconds.
    public var periodStartMilliseconds: Int64
    /// Each region's state.
    public var regions: [String: RegionState]
    /// The quorum used.
    public var quorum: Int
    /// The answer.
    public var verdict: Verdict

    /// Regions in `state`, sorted.
    public func regions(_ state: RegionState) -> [String] { regions.filter { $0.value == state }.map(\.key).sorted() }

    /// Applies the policy's rule to region states.
    public static func decide(_ regions: [String: RegionState], quorum: Int) -> Verdict {
        let down = regions.values.filter { $0 == .down }.count
        let reporting = down + regions.values.filter { $0 == .up }.count
        if reporting == 0 { return .unknown }
        if down >= quorum || down == reporting { return .down }
        return down > 0 ? .degraded : .up
    }

    /// The `service_verdict` point described above.
    public var point: Point {
        let up = regions(.up), down = regions(.down), silent = regions(.agentSilent), net = regions(.agentNetworkDown)
        return Point(
            measurement: "service_verdict",
            tags: ["service_name": target, "verdict": verdict.rawValue],
            fields: [
                "regions_up": .int(Int64(up.count)), "regions_down": .int(Int64(down.count)),
                "regions_unknown": .int(Int64(silent.count + net.count)),
                "regions_silent": .int(Int64(silent.count)), "regions_network_down": .int(Int64(net.count)),
                "quorum": .int(Int64(quorum)), "down": .int(verdict == .down ? 1 : 0), "up": .int(verdict == .up ? 1 : 0),
                "up_regions": .string(up.joined(separator: ",")), "down_regions": .string(down.joined(separator: ",")),
                "silent_regions": .string(silent.joined(separator: ",")),
                "network_down_regions": .string(net.joined(separator: ",")),
            ],
            timeNanoseconds: periodStartMilliseconds * 1_000_000)
    }

    /// `service_verdict:<period start ms>:<service_name>`: the same on every replica,
    /// so stores keep one copy however many replicas publish it.
    public var messageID: String { "service_verdict:\(periodStartMilliseconds):\(target)" }
}
