#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import MetricsModel
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The agent: tails the access logs, aggregates, probes, spools and forwards —
/// the `clowder-agent run` command as a swift-service-lifecycle `Service`.
///
/// Threads: one collector thread (log tail → pipeline → batches → spool, see
/// ``Collector``), one thread per probe target (``ProbeScheduler``), one
/// forwarder thread (``Forwarder``). On graceful shutdown (SIGTERM, SIGINT)
/// the probes stop, the collector closes every open window into a last batch
/// and spools it, then the forwarder tries to send what is spooled for
/// `CLOWDER_METRICS_SHUTDOWN_GRACE` seconds, and `run()` returns.
///
/// ```swift
/// let (config, _) = try await AgentConfiguration.load(envFile: "/etc/clowder-metrics/agent.env")
/// let agent = try AgentRuntime(configuration: config, logger: logger)
/// let group = ServiceGroup(services: [agent], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
public final class AgentRuntime: Service, Sendable {
    public let configuration: AgentConfiguration
    let logger: Logger
    let collector: Collector
    let delivery: Delivery?
    let probeQueue: ProbeQueue
    /// The queue and journey probes (their settings are not ``ProbeSettings``).
    let extraJobs: [any ProbeJob]

    /// Opens the spool, restores the saved state (log offsets, open windows,
    /// pending batch) and checks the access logs can be read.
    /// - Throws: ``RuntimeError`` (unreadable log, bad log format, spool) or `DeliveryError`.
    public init(configuration: AgentConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        probeQueue = ProbeQueue()
        let spool: Spool
        // The spool's folder is made when missing (systemd's StateDirectory= makes it for the unit).
        let folder = FileSystem.directory(of: configuration.spoolPath)
        if !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw RuntimeError(
                    .spool, "cannot make the spool's folder \(folder) (CLOWDER_METRICS_SPOOL_PATH=\(configuration.spoolPath)): \(error)")
            }
        }
        do {
            if configuration.ingestURL != nil {
                let d = try Delivery(configuration: configuration.deliveryConfiguration, agent: configuration.identity, logger: logger)
                delivery = d
                spool = d.spool
            } else {
                delivery = nil
                spool = try Spool(path: configuration.spoolPath, maxBytes: configuration.spoolMaxBytes)
            }
        } catch {
            throw RuntimeError(.spool, "cannot open the spool \(configuration.spoolPath) (CLOWDER_METRICS_SPOOL_PATH)", underlying: error)
        }
        extraJobs = try configuration.extraProbeJobs(logger: logger)
        let output = configuration.ingestURL == nil ? try JSONLinesOutput(path: configuration.outputFile) : nil
        collector = try Collector(
            configuration: configuration, delivery: delivery, spool: spool, output: output, probes: probeQueue, logger: logger)
    }

    /// Runs until graceful shutdown or cancellation, then flushes and drains.
    public func run() async throws {
        delivery?.start()
        let queue = probeQueue
        let extraJobs = self.extraJobs
        let probeTask: Task<Void, Never>? =
            configuration.probes
            ? Task {
                let scheduler = ProbeScheduler(
                    settings: configuration.probeSettingsWithExtraJobs, identity: configuration.identity, logger: logger,
                    extraJobs: extraJobs)
                await scheduler.run(emit: { points, events in queue.append(points, events) })
            } : nil
        let collector = self.collector
        // SIGHUP re-reads the NGINX configuration (CLOWDER_METRICS_NGINX_CONFIG), like `nginx -s reload`;
        // without it SIGHUP is trapped all the same (logged), so `systemctl reload` never ends the agent.
        let reloadLogger = self.logger
        let discovers = configuration.discoversLogs
        let reloadTask = Task {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                if discovers {
                    collector.requestReload()
                } else {
                    reloadLogger.notice("SIGHUP: nothing to reload (the access logs come from CLOWDER_METRICS_ACCESS_LOG)")
                }
            }
        }
        defer { reloadTask.cancel() }
        logger.info(
            "clowder-agent \(AgentVersion.current) started",
            metadata: [
                "agent": "\(configuration.agentID)", "region": "\(configuration.region)",
                "logs": "\(configuration.discoversLogs ? "from NGINX_CONFIG=\(configuration.nginxConfig ?? "")" : configuration.accessLogs.joined(separator: ","))",
                "output": "\(configuration.ingestURL ?? configuration.outputFile)",
            ])
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await BlockingThread.run { collector.run() }
            } onCancel: {
                collector.requestStop()
            }
        } onGracefulShutdown: {
            probeTask?.cancel()
            collector.requestStop()
        }
        probeTask?.cancel()
        await probeTask?.value
        if let delivery, collector.failure == nil {
            let last = collector.final ?? ([], [], [:])
            let grace = Duration.milliseconds(Int64(configuration.shutdownGraceSeconds * 1000))
            do {
                let left = try await delivery.shutdown(points: last.points, events: last.events, state: last.state, grace: grace)
                if left > 0 {
                    logger.notice("\(left) batches stay in the spool for the next start", metadata: ["spool": "\(configuration.spoolPath)"])
                }
            } catch {
                logger.critical("cannot spool the last windows: \(error)")
                throw RuntimeError(.spool, "cannot spool the last windows", underlying: error)
            }
            await delivery.forwarder.stop()
        }
        if let error = collector.failure {
            throw error
        }
        logger.info("clowder-agent stopped")
    }
}
