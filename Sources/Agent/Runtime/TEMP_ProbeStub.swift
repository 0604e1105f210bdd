// TEMPORARY placeholder so the runtime builds before Sources/Agent/Probes lands on main.
// The probes engineer: DELETE THIS FILE when you rebase (your ProbeSettings/ProbeScheduler replace it).
import MetricsModel
import Logging
public struct ProbeSettings: Sendable {
    public init(httpTargets: [String] = [], pingTargets: [String] = [], stubStatusURL: String? = nil,
        interval: Double = 60, pingCount: Int = 5, pingInterval: Double = 1.0,
        httpTimeout: Double = 10, expectStatus: Int? = nil, expectBody: String? = nil, followRedirects: Bool = true) {}
}
public final class ProbeScheduler: Sendable {
    public init(settings: ProbeSettings, identity: AgentIdentity, logger: Logger) {}
    public func run(emit: @escaping @Sendable ([Point], [ClowderEvent]) -> Void) async {}
}
