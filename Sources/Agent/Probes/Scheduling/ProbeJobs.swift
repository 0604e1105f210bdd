import Logging
import MetricsModel
import Parsers

/// One target's round: what a probe thread runs at each deadline.
///
/// Jobs are `@unchecked Sendable` because each is handed to exactly one
/// thread, which alone uses it from then on.
protocol ProbeJob: AnyObject, Sendable {
    /// The target as configured (for the interval and the log).
    var target: String { get }
    /// Runs one round. Returns the points and events to emit.
    func round(stop: ProbeStopSignal) -> ([Point], [ClowderEvent])
}

/// An HTTP target: an `http_response` point and a `service_status` event per round.
final class HTTPProbeJob: ProbeJob, @unchecked Sendable {
    let target: String
    private let probe: HTTPProbe
    private let identity: AgentIdentity
    private let serviceName: String
    private let logger: Logger
    private var uptime: UptimeWindow
    private var lastOutcome: HTTPResult.Outcome?
    private let witness: WitnessChecker
    private var networkDown = false

    init(url: String, settings: ProbeSettings, identity: AgentIdentity, witness: WitnessChecker,
         logger: Logger = Logger(label: "clowder.agent.probes")) {
        target = url
        self.witness = witness
        probe = HTTPProbe(url: url, options: settings.httpOptions)
        self.identity = identity
        serviceName = settings.serviceNames[url] ?? url
        self.logger = logger
        uptime = UptimeWindow(window: settings.uptimeWindow)
    }

    func round(stop: ProbeStopSignal) -> ([Point], [ClowderEvent]) {
        let wall = ProbeClock.wallNanoseconds()
        let r = probe.run(stop: stop)
        if stop.isStopped { return ([], []) }  // cut short by cancellation: not a measurement
        let witnesses = r.isUp ? nil : witness.report()
        if stop.isStopped { return ([], []) }
        let ownNetworkDown = witnesses.map { !$0.reachable } ?? false
        logNetwork(ownNetworkDown, witnesses)
        if !ownNetworkDown { uptime.record(up: r.isUp, atMonotonicNanoseconds: ProbeClock.monotonicNanoseconds()) }
        if r.outcome != lastOutcome && !ownNetworkDown {
            if r.isUp {
                if lastOutcome != nil { logger.notice("http \(KeyRedaction.redact(target)): up again") }
            } else {
                logger.warning("http \(KeyRedaction.redact(target)): \(r.outcome.rawValue): \(KeyRedaction.redact(r.message ?? ""))")
            }
            lastOutcome = r.outcome
        }
        var point = r.point(identity: identity, timeNanoseconds: wall)
        point.fields["uptime"] = .double(uptime.ratio)
        let event = ServiceStatusEvent.make(
            serviceName: serviceName, url: target, up: r.isUp, responseTimes: r.isUp ? [r.phases.total] : [],
            lossPercent: r.isUp ? 0 : 100, uptimeRatio: uptime.ratio, identity: identity,
            createdMilliseconds: wall / 1_000_000)
        if ownNetworkDown, let witnesses {
            AgentNetworkDown.mark(&point)
            return ([point], [AgentNetworkDown.mark(event, witnesses: witnesses)])
        }
        return ([point], [event])
    }

    private func logNetwork(_ down: Bool, _ report: WitnessChecker.Report?) {
        if down != networkDown {
            if down {
                logger.warning("http \(target): failed and no witness answered: agent_network_down (\(report?.summary ?? ""))")
            } else {
                logger.notice("http \(target): the agent's network answers again")
            }
            networkDown = down
        }
    }
}

/// A ping target: a `ping` point per round, and a `service_status` event unless
/// the agent lacks the permission to ping (that says nothing about the target).
final class PingProbeJob: ProbeJob, @unchecked Sendable {
    let target: String
    private let probe: PingProbe
    private let identity: AgentIdentity
    private let serviceName: String
    private let logger: Logger
    private var uptime: UptimeWindow
    private var lastOutcome: PingResult.Outcome?
    private let witness: WitnessChecker

    init(host: String, settings: ProbeSettings, identity: AgentIdentity, witness: WitnessChecker,
         logger: Logger = Logger(label: "clowder.agent.probes")) {
        target = host
        self.witness = witness
        probe = PingProbe(target: host, options: settings.pingOptions)
        self.identity = identity
        serviceName = settings.serviceNames[host] ?? host
        self.logger = logger
        uptime = UptimeWindow(window: settings.uptimeWindow)
    }

    func round(stop: ProbeStopSignal) -> ([Point], [ClowderEvent]) {
        let wall = ProbeClock.wallNanoseconds()
        let r = probe.run(stop: stop)
        if stop.isStopped { return ([], []) }
        if r.outcome != lastOutcome {
            // One line per change, not per round: a permission problem is logged once.
            switch r.outcome {
            case .success: if lastOutcome != nil { logger.notice("ping \(target): pinging again") }
            case .permission: logger.error("\(r.message ?? "ping \(target): permission denied")")
            case .noSuchHost, .pingError: logger.warning("\(r.message ?? "ping \(target): \(r.outcome.rawValue)")")
            }
            lastOutcome = r.outcome
        }
        var point = r.point(identity: identity, timeNanoseconds: wall)
        guard r.outcome != .permission else { return ([point], []) }
        let witnesses = r.isUp ? nil : witness.report()
        if stop.isStopped { return ([], []) }
        let ownNetworkDown = witnesses.map { !$0.reachable } ?? false
        if !ownNetworkDown { uptime.record(up: r.isUp, atMonotonicNanoseconds: ProbeClock.monotonicNanoseconds()) }
        let event = ServiceStatusEvent.make(
            serviceName: serviceName, url: target, up: r.isUp, responseTimes: r.roundTripTimes,
            lossPercent: r.percentPacketLoss, uptimeRatio: uptime.ratio, identity: identity,
            createdMilliseconds: wall / 1_000_000)
        if ownNetworkDown, let witnesses {
            AgentNetworkDown.mark(&point)
            return ([point], [AgentNetworkDown.mark(event, witnesses: witnesses)])
        }
        return ([point], [event])
    }
}

/// The NGINX stub_status page: an `nginx` point per round when it can be read.
final class StubStatusProbeJob: ProbeJob, @unchecked Sendable {
    let target: String
    private let probe: StubStatusProbe
    private let identity: AgentIdentity
    private let logger: Logger
    private var failing = false

    init(url: String, settings: ProbeSettings, identity: AgentIdentity, logger: Logger) {
        target = url
        probe = StubStatusProbe(url: url, timeout: settings.httpTimeout)
        self.identity = identity
        self.logger = logger
    }

    func round(stop: ProbeStopSignal) -> ([Point], [ClowderEvent]) {
        let wall = ProbeClock.wallNanoseconds()
        let result = probe.run(stop: stop)
        if stop.isStopped { return ([], []) }
        switch result {
        case .success(let s):
            if failing { logger.notice("stub_status \(KeyRedaction.redact(target)): readable again") }
            failing = false
            return ([s.point(server: probe.server, port: probe.port, identity: identity, timeNanoseconds: wall)], [])
        case .failure(let f):
            if !failing { logger.warning("\(f.message)") }
            failing = true
            return ([], [])
        }
    }
}
