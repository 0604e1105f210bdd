import Logging
import MetricsModel

/// The queue probe as a scheduled job: per round the `rabbitmq_queue` points, and one
/// `rabbitmq_api` point (`up` 0/1, `response_time` s, `queues` reported) so a failing management
/// API shows on the dashboards rather than as a silent gap. A failure is logged when it starts
/// and when it ends, not every round.
final class RabbitMQQueueJob: ProbeJob, @unchecked Sendable {
    let target: String
    private let probe: RabbitMQQueueProbe
    private let identity: AgentIdentity
    private let logger: Logger
    private var failing: String?

    init(probe: RabbitMQQueueProbe, identity: AgentIdentity, logger: Logger) {
        self.probe = probe
        target = "rabbitmq " + probe.url
        self.identity = identity
        self.logger = logger
    }

    func round(stop: ProbeStopSignal) -> ([Point], [ClowderEvent]) {
        let wall = ProbeClock.wallNanoseconds()
        let tags = ["agent": identity.id, "host": identity.host, "region": identity.region]
        let started = ProbeClock.monotonicNanoseconds()
        let result = probe.run(tags: tags, timeNanoseconds: wall)
        if stop.isStopped { return ([], []) }
        let seconds = Double(ProbeClock.monotonicNanoseconds() - started) / 1e9
        var api = Point(measurement: "rabbitmq_api", tags: tags.merging(["server": probe.url]) { a, _ in a },
                        fields: ["response_time": .double(seconds)], timeNanoseconds: wall)
        switch result {
        case .success(let points):
            if failing != nil { logger.notice("\(target): answering again") }
            failing = nil
            api.fields["up"] = .int(1)
            api.fields["queues"] = .int(Int64(points.count))
            return (points + [api], [])
        case .failure(let error):
            if failing != error.message { logger.warning("\(target): \(error.message)") }
            failing = error.message
            api.fields["up"] = .int(0)
            return ([api], [])
        }
    }
}
