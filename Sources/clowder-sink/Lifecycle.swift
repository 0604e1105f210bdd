import Logging
import ServiceLifecycle

/// What `run` and `verdicts` share: logging to standard error at the configured level, and one
/// service run until SIGTERM or SIGINT (swift-service-lifecycle's `ServiceGroup`).
enum Lifecycle {
    /// Sends every logger to standard error at `level` (once per process).
    static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }

    /// A group running `service` that shuts down gracefully on SIGTERM and SIGINT, and when the
    /// service returns.
    static func group(_ service: some Service, logger: Logger) -> ServiceGroup {
        ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    }
}
