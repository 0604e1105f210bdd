import Logging
import Parsers
import MetricsModel
import Synchronization

/// Runs every configured probe on its own schedule until cancelled.
///
/// Each target gets a thread of its own (probes block: libcurl's easy
/// interface, `poll` on ICMP sockets), so a slow or hanging target never delays
/// another and never occupies Swift's cooperative pool. Rounds are scheduled
/// against absolute deadlines on the monotonic clock, `start + offset + k ×
/// interval`, not by sleeping an interval after each round, so the schedule
/// does not drift over hours; a round that overruns its interval skips the
/// deadlines it missed. The first deadline of each target is a random offset
/// within its interval (``ProbeSettings/randomStartOffset``).
///
/// Every point carries the agent's `agent`, `host` and `region` tags.
///
/// A failed HTTP or ping round is checked against the witnesses
/// (``ProbeSettings/witnesses``, one ``WitnessChecker`` shared by all targets):
/// when none answers, the round is `agent_network_down` (see
/// ``AgentNetworkDown``) and does not count against the target's `uptime`.
///
/// ```swift
/// let scheduler = ProbeScheduler(settings: settings, identity: identity)
/// let task = Task { await scheduler.run { points, events in batcher.add(points, events) } }
/// // …
/// task.cancel()   // run returns once every probe thread has stopped
/// ```
public final class ProbeScheduler: Sendable {
    /// The configuration.
    public let settings: ProbeSettings
    /// The agent's identity (tags).
    public let identity: AgentIdentity
    private let logger: Logger
    /// Jobs made outside ``ProbeSettings`` (the RabbitMQ queue and journey probes), run like the others.
    let extraJobs: [any ProbeJob]

    /// - Parameters:
    ///   - settings: targets and options.
    ///   - identity: the agent; its `id`, `host` and `region` become tags.
    ///   - logger: where probe state changes (down, permission denied) are logged, once per change.
    public init(settings: ProbeSettings, identity: AgentIdentity,
                logger: Logger = Logger(label: "clowder.agent.probes")) {
        self.settings = settings
        self.identity = identity
        self.logger = logger
        extraJobs = []
    }

    /// A scheduler that also runs `extraJobs` (each at `settings.interval(for: job.target)`).
    init(settings: ProbeSettings, identity: AgentIdentity, logger: Logger, extraJobs: [any ProbeJob]) {
        self.settings = settings
        self.identity = identity
        self.logger = logger
        self.extraJobs = extraJobs
    }

    /// Probes every target until the calling task is cancelled.
    ///
    /// - Parameter emit: called after each round with that round's points and
    ///   events, from the target's own thread (so concurrently for different
    ///   targets); it should hand them on quickly.
    /// Returns after cancellation, once every probe thread has finished (an
    /// HTTP request in flight is aborted within about a second); `emit` is not
    /// called after that.
    public func run(emit: @escaping @Sendable ([Point], [ClowderEvent]) -> Void) async {
        var jobs: [any ProbeJob] = []
        let witness = WitnessChecker(witnesses: settings.witnesses, timeout: settings.witnessTimeout)
        for url in settings.httpTargets {
            jobs.append(HTTPProbeJob(url: url, settings: settings, identity: identity, witness: witness, logger: logger))
        }
        for host in settings.pingTargets {
            jobs.append(PingProbeJob(host: host, settings: settings, identity: identity, witness: witness, logger: logger))
        }
        if let url = settings.stubStatusURL {
            jobs.append(StubStatusProbeJob(url: url, settings: settings, identity: identity, logger: logger))
        }
        jobs += extraJobs
        let stop = ProbeStopSignal()
        let state = RunState(live: jobs.count)
        let start = ProbeClock.monotonicNanoseconds()
        for job in jobs {
            let intervalNs = ProbeClock.nanoseconds(settings.interval(for: job.target))
            let offset = settings.randomStartOffset ? Int64.random(in: 0..<max(1, intervalNs)) : 0
            let started = startProbeThread {
                Self.loop(job: job, first: start + offset, intervalNs: intervalNs, stop: stop, emit: emit)
                state.threadExited()
            }
            if !started {
                logger.error("probe \(KeyRedaction.redact(job.target)): could not start a thread; this target is not probed")
                state.threadExited()
            }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in state.wait(c) }
        } onCancel: {
            stop.stop()
            state.cancelled()
        }
    }

    private static func loop(job: any ProbeJob, first: Int64, intervalNs: Int64, stop: ProbeStopSignal,
                             emit: @Sendable ([Point], [ClowderEvent]) -> Void) {
        var deadline = first
        while stop.sleep(until: deadline) {
            let (points, events) = job.round(stop: stop)
            if stop.isStopped { break }  // a round cut short is not reported
            if !points.isEmpty || !events.isEmpty { emit(points, events) }
            deadline += intervalNs
            let now = ProbeClock.monotonicNanoseconds()
            if deadline <= now {
                // Overran: skip to the next deadline still ahead, on the same grid.
                deadline += ((now - deadline) / intervalNs + 1) * intervalNs
            }
        }
    }
}

/// Tracks the probe threads still running and resumes ``ProbeScheduler/run(emit:)``
/// once cancellation was asked for and every thread has finished.
private final class RunState: Sendable {
    private struct S {
        var live: Int
        var cancelled = false
        var continuation: CheckedContinuation<Void, Never>?
        var resumed = false
    }
    private let state: Mutex<S>

    init(live: Int) { state = Mutex(S(live: live)) }

    func threadExited() { update { $0.live -= 1 } }
    func cancelled() { update { $0.cancelled = true } }
    func wait(_ c: CheckedContinuation<Void, Never>) { update { $0.continuation = c } }

    private func update(_ change: (inout S) -> Void) {
        let ready: CheckedContinuation<Void, Never>? = state.withLock { s in
            change(&s)
            guard s.cancelled, s.live <= 0, !s.resumed, let c = s.continuation else { return nil }
            s.resumed = true
            return c
        }
        ready?.resume()
    }
}
