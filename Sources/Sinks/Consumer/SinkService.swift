import Logging
import ServiceLifecycle

/// The `clowder-sink` process as a swift-service-lifecycle `Service`: runs
/// every configured sink concurrently, each with its own queue and
/// connections; returns when all stopped (graceful shutdown finishes each
/// sink's batch in flight).
///
/// ```swift
/// let service = try SinkService(settings: settings, logger: logger)
/// let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
public struct SinkService: Service {
    /// The sinks.
    public let runners: [SinkRunner]

    /// - Throws: ``SinkError`` (config) when a sink cannot be set up.
    public init(settings: SinkSettings, logger: Logger) throws {
        runners = try settings.sinks.map { try SinkRunner(settings: settings, definition: $0, logger: logger) }
    }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for r in runners { group.addTask { try await r.run() } }
        }
    }
}
