import Logging
import MetricsModel

/// The journey probe as a scheduled job: one `clowder_journey` point per round; a failing step is
/// logged when the failure starts or changes, a test file that could not be deleted every round
/// (as an error) until it is.
final class JourneyJob: ProbeJob, @unchecked Sendable {
    let target: String
    private let probe: JourneyProbe
    private let identity: AgentIdentity
    private let logger: Logger
    private var lastFailure: String?

    init(probe: JourneyProbe, identity: AgentIdentity, logger: Logger) {
        self.probe = probe
        target = "journey " + probe.settings.baseURL
        self.identity = identity
        self.logger = logger
    }

    func round(stop: ProbeStopSignal) -> ([Point], [ClowderEvent]) {
        let wall = ProbeClock.wallNanoseconds()
        let point = probe.run(tags: ["agent": identity.id, "host": identity.host, "region": identity.region],
                              timeNanoseconds: wall)
        var failure: String?
        for m in probe.messages {
            if m.error {
                logger.error("\(m.text)")
            } else if m.text.contains("step ") {
                failure = m.text
            } else {
                logger.notice("\(m.text)")
            }
        }
        if let failure, failure != lastFailure { logger.warning("\(failure)") }
        if failure == nil, lastFailure != nil { logger.notice("\(target): every step passes again") }
        lastFailure = failure
        if stop.isStopped { return ([], []) }
        return ([point], [])
    }
}
