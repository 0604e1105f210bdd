import Logging

/// `CLOWDER_METRICS_RABBITMQ_*`: the extractor queue probe (RabbitMQ's management API).
public struct QueueSettings: Sendable, Hashable {
    /// `CLOWDER_METRICS_RABBITMQ_URL`: management API base URL, e.g. `http://127.0.0.1:15672`.
    public var url: String
    /// `CLOWDER_METRICS_RABBITMQ_CREDENTIALS_FILE`: a file holding `user:password`.
    public var credentialsFile: String
    /// `CLOWDER_METRICS_RABBITMQ_VHOST`: only this virtual host (nil: every one).
    public var vhost: String?
    /// `CLOWDER_METRICS_RABBITMQ_QUEUES`: queue name prefixes reported (empty: every queue).
    public var prefixes: [String]
    /// `CLOWDER_METRICS_RABBITMQ_INTERVAL`, seconds between rounds.
    public var intervalSeconds: Double
}

extension Values {
    /// The queue probe's settings, or nil when `CLOWDER_METRICS_RABBITMQ_URL` is empty.
    /// - Throws: ``ConfigError`` for a bad URL, a missing or unreadable credentials file, or an interval out of range.
    func queueSettings() throws -> QueueSettings? {
        guard let url = try url("RABBITMQ_URL", schemes: ["http", "https"]) else { return nil }
        guard let file = raw("RABBITMQ_CREDENTIALS_FILE") else {
            throw ConfigError(.missingKey, key: ConfigKeys.prefix + "RABBITMQ_CREDENTIALS_FILE",
                              source: source(ConfigKeys.prefix + "RABBITMQ_URL"),
                              expected: "RABBITMQ_URL is set, so the agent needs RABBITMQ_CREDENTIALS_FILE: a file holding user:password")
        }
        do { _ = try RabbitMQQueueProbe.readCredentials(file) } catch let e as AgentError {
            throw fail("RABBITMQ_CREDENTIALS_FILE", file, e.message)
        }
        return QueueSettings(url: url, credentialsFile: file, vhost: raw("RABBITMQ_VHOST"), prefixes: list("RABBITMQ_QUEUES"),
                             intervalSeconds: try seconds("RABBITMQ_INTERVAL", 1...86_400))
    }
}

extension AgentConfiguration {
    /// The probe jobs whose settings are not ``ProbeSettings``: the RabbitMQ queue and journey probes.
    /// - Throws: ``RuntimeError`` when a credentials file cannot be read any more.
    func extraProbeJobs(logger: Logger) throws -> [any ProbeJob] {
        var jobs: [any ProbeJob] = []
        if let q = queues {
            do {
                let probe = try RabbitMQQueueProbe(url: q.url, credentialsFile: q.credentialsFile, vhost: q.vhost,
                                                   prefixes: q.prefixes, timeout: httpTimeoutSeconds)
                jobs.append(RabbitMQQueueJob(probe: probe, identity: identity, logger: logger))
            } catch {
                throw RuntimeError(.probe, underlying: error)
            }
        }
        if let j = journey {
            do {
                jobs.append(JourneyJob(probe: try JourneyProbe(settings: j), identity: identity, logger: logger))
            } catch {
                throw RuntimeError(.probe, underlying: error)
            }
        }
        return jobs
    }

    /// ``probeSettings`` with the extra jobs' intervals (keyed by their targets).
    var probeSettingsWithExtraJobs: ProbeSettings {
        var s = probeSettings
        if let q = queues { s.targetIntervals["rabbitmq " + q.url.trimmingSuffix("/")] = q.intervalSeconds }
        if let j = journey { s.targetIntervals["journey " + j.baseURL] = j.intervalSeconds }
        return s
    }
}

extension String {
    fileprivate func trimmingSuffix(_ c: Character) -> String {
        var s = self
        while s.last == c { s.removeLast() }
        return s
    }
}
