#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import MetricsModel
import Parsers
import Synchronization

/// The agent's one blocking loop: log tail → access-log pipeline → batches →
/// spool, plus the probes' output, on its own thread.
///
/// Exactly once: the LogTail checkpoints (offset of the last line handed to the
/// pipeline), the pipeline's snapshot (its open windows) and the batcher's
/// pending points are stored in the SAME SQLite transaction as the batches
/// they produced (``Spool/commit(batches:state:)``), and the position each
/// file is first read from is committed before its first line is read (at a
/// first start, and when a file appears later). A restart restores all
/// three and reads on from the checkpoints, so a `kill -9` at any instant
/// neither loses nor repeats a line. Without an ingest URL the closed windows
/// are written as JSON lines first and the state committed right after (a
/// crash between the two can repeat those lines' windows once; the spool has
/// no such gap).
final class Collector: @unchecked Sendable {
    static let stateLogTail = "logtail"
    static let statePipeline = "pipeline"

    let configuration: AgentConfiguration
    let logger: Logger
    /// Batches, spool and forwarder (with an ingest URL).
    let delivery: Delivery?
    /// State only, when the output is JSON lines.
    let spool: Spool
    let output: JSONLinesOutput?
    let probes: ProbeQueue
    let stopRequested = Atomic<Bool>(false)
    private let failureBox = Mutex<RuntimeError?>(nil)

    var tail: LogTail?
    var pipeline: AccessLogPipeline?
    var nextStatsNanoseconds: Int64
    var dirty = false
    /// Malformed-line samples of the pipeline already logged (it keeps the first 5).
    var loggedMalformedSamples = 0
    /// Health file (``HealthFile``): when the agent started and last read a line (epoch s), when to write next.
    let startedSeconds = Double(Collector.wallNanoseconds()) / 1e9
    var lastLineSeconds: Double = 0
    var nextHealth = ContinuousClock.now
    var healthWarned = false

    /// What is left for ``Delivery/shutdown(points:events:state:grace:)`` after the loop (ingest mode).
    var final: (points: [Point], events: [ClowderEvent], state: [String: [UInt8]])?

    /// The error that stopped the loop, if any.
    var failure: RuntimeError? { failureBox.withLock { $0 } }

    /// Restores the saved state and opens the logs.
    /// - Throws: ``RuntimeError`` for a bad log format or an unreadable log.
    init(
        configuration: AgentConfiguration, delivery: Delivery?, spool: Spool, output: JSONLinesOutput?, probes: ProbeQueue,
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.delivery = delivery
        self.spool = spool
        self.output = output
        self.probes = probes
        self.logger = logger
        let state: [String: [UInt8]]
        do { state = try delivery?.loadState() ?? spool.loadState() } catch {
            throw RuntimeError(.spool, "cannot read the saved state in \(configuration.spoolPath): \(error)")
        }
        let window = Int64(configuration.windowSeconds) * 1_000_000_000
        nextStatsNanoseconds = (Self.wallNanoseconds() / window + 1) * window
        if configuration.tailsLogs {
            let format = try configuration.resolvedLogFormat()
            let pipelineConfiguration = AccessLogPipelineConfiguration(
                logFormat: format, prefix: configuration.contextPrefix, windowSeconds: configuration.windowSeconds,
                latenessSeconds: configuration.allowedLatenessSeconds, tags: configuration.baseTags,
                emitEvents: configuration.emitEvents, vhostLimit: try configuration.resolvedVhostLimit(),
                remoteUserKey: try configuration.remoteUserKey(), topResources: configuration.topResources)
            do {
                if let saved = state[Self.statePipeline] {
                    pipeline = try AccessLogPipeline(configuration: pipelineConfiguration, snapshot: saved)
                } else {
                    pipeline = try AccessLogPipeline(configuration: pipelineConfiguration)
                }
            } catch {
                throw RuntimeError(.logFormat, "cannot use the saved aggregation state or the log format: \(error)")
            }
            do {
                if let saved = state[Self.stateLogTail] {
                    tail = try LogTail(paths: configuration.accessLogs, options: configuration.logTailOptions, checkpointData: saved)
                } else {
                    tail = try LogTail(paths: configuration.accessLogs, options: configuration.logTailOptions)
                }
            } catch {
                throw RuntimeError(.accessLog, "cannot tail CLOWDER_METRICS_ACCESS_LOG: \(error)")
            }
            // A first start happens once: the positions chosen now (the end of each file, or its start
            // with READ_FROM=start; none when no file exists yet) are committed before any line is read,
            // so a crash from here on resumes from them instead of skipping to the end again.
            if state[Self.stateLogTail] == nil { try commitState() }
        }
    }

    /// Commits the log positions and the open windows (and the batcher's open batch) alone, without
    /// a batch: at a first start and whenever the tail begins to follow a file, before any of its
    /// lines is read (see ``LogTail/poll(onNewFiles:_:)``).
    /// - Throws: ``RuntimeError`` `.spool`.
    func commitState() throws {
        do {
            if let delivery {
                try delivery.submit(points: [], events: [], state: callerState())
            } else {
                _ = try spool.commit(batches: [], state: callerState())
            }
        } catch {
            throw RuntimeError(.spool, "cannot write the log positions to the spool \(configuration.spoolPath): \(error)")
        }
    }

    /// Asks the loop to close every window, spool and return.
    func requestStop() { stopRequested.store(true, ordering: .releasing) }

    /// The loop; returns after ``requestStop()`` (or a fatal output error).
    func run() {
        do {
            while !stopRequested.load(ordering: .acquiring) {
                let lines = try step()
                if lines == 0 {
                    if let tail { tail.waitForData(timeout: .milliseconds(250)) } else { usleep(250_000) }
                }
            }
            try finish()
            writeHealth(up: false)
        } catch let error as RuntimeError {
            logger.critical("\(error)")
            failureBox.withLock { $0 = error }
        } catch {
            logger.critical("\(error)")
            failureBox.withLock { $0 = RuntimeError(.spool, "\(error)") }
        }
    }

    /// One pass: read what is new, hand over closed windows and probe results,
    /// commit when a batch closed. Returns the lines read.
    func step() throws -> Int {
        var lines = 0
        var points: [Point] = []
        var events: [ClowderEvent] = []
        if let tail, pipeline != nil {
            lines = try readLines(tail)
            logNewMalformedSamples()
            let closed = pipeline!.takeClosed()
            points += closed.points
            events += closed.events
        }
        let probed = probes.drain()
        points += probed.0
        events += probed.1
        let now = Self.wallNanoseconds()
        if now >= nextStatsNanoseconds {
            points.append(statsPoint(at: nextStatsNanoseconds))
            let window = Int64(configuration.windowSeconds) * 1_000_000_000
            nextStatsNanoseconds = (now / window + 1) * window
        }
        if lines > 0 {
            dirty = true
            lastLineSeconds = Double(now) / 1e9
        }
        try deliver(points: points, events: events, flush: false)
        if ContinuousClock.now >= nextHealth {
            writeHealth(up: true)
            nextHealth = ContinuousClock.now + HealthFile.interval
        }
        return lines
    }

    /// Rewrites the health file (``HealthFile``); a failure is logged once and is not fatal.
    func writeHealth(up: Bool) {
        let stats = delivery?.stats ?? spool.stats
        func v(_ a: borrowing Atomic<Int64>) -> Int64 { a.load(ordering: .relaxed) }
        var h = HealthFile.Values(agent: configuration.agentID, region: configuration.region)
        h.up = up
        h.written = Double(Self.wallNanoseconds()) / 1e9
        h.started = startedSeconds
        h.lastLineRead = lastLineSeconds
        h.lastSendSuccess = Double(v(stats.lastSentMilliseconds)) / 1000
        h.spoolBytes = v(stats.spoolBytes)
        h.spoolMaxBytes = spool.maxBytes
        h.spoolBatches = v(stats.spoolBatches)
        h.linesRead = Int64(tail?.stats.lines ?? 0)
        h.malformedLines = pipeline?.malformedCount ?? 0
        h.batchesSpooled = v(stats.batchesSpooled)
        h.batchesSent = v(stats.batchesSent)
        h.batchesRetried = v(stats.batchesRetried)
        h.batchesDeadLettered = v(stats.batchesDeadLettered)
        h.batchesDropped = v(stats.batchesDropped)
        do {
            try HealthFile.write(h, to: configuration.healthFile)
            healthWarned = false
        } catch {
            if !healthWarned { logger.warning("\(error); `clowder-agent health` will report the agent as down") }
            healthWarned = true
        }
    }

    /// Logs the first malformed lines of this run (up to the pipeline's 5 samples), so an operator
    /// sees which lines do not match the format; all of them are counted in `malformed_lines`.
    func logNewMalformedSamples() {
        guard let samples = pipeline?.malformedSamples, samples.count > loggedMalformedSamples else { return }
        for sample in samples[loggedMalformedSamples...] {
            logger.warning(
                "a line does not match the log format; it is counted in malformed_lines",
                metadata: ["log_format": "\(configuration.logFormat)", "line": "\(sample.text)"])
        }
        loggedMalformedSamples = samples.count
        if samples.count >= 5 {
            logger.warning("further malformed lines are counted in malformed_lines (the agent point), not logged")
        }
    }

    func readLines(_ tail: LogTail) throws -> Int {
        let pipeline = self.pipeline!
        do {
            return try tail.poll(onNewFiles: { try self.commitState() }) { line in _ = pipeline.add(line: line) }
        } catch let error as RuntimeError {
            throw error
        } catch {
            // A log that disappears or cannot be read for a while is not fatal.
            logger.warning("reading the access logs: \(error)")
            return 0
        }
    }

    /// Closes every window, spools it and the state.
    func finish() throws {
        var points: [Point] = []
        var events: [ClowderEvent] = []
        if let tail, pipeline != nil {
            _ = try readLines(tail)
            let closed = pipeline!.closeAll()
            points += closed.points
            events += closed.events
        }
        let probed = probes.drain()
        points += probed.0
        events += probed.1
        points.append(statsPoint(at: Self.wallNanoseconds()))
        if delivery != nil {
            final = (points, events, callerState())
        } else {
            dirty = true
            try deliver(points: points, events: events, flush: true)
        }
    }

    func statsPoint(at time: Int64) -> Point {
        let stats = delivery?.stats ?? spool.stats
        if let tail { stats.linesRead.store(Int64(tail.stats.lines), ordering: .relaxed) }
        if let pipeline { stats.malformedLines.store(Int64(pipeline.malformedCount), ordering: .relaxed) }
        return stats.point(agent: configuration.identity, timeNanoseconds: time)
    }

    /// Sends points and events on: into batches in the spool (with the
    /// caller state in the same transaction), or as JSON lines.
    func deliver(points: [Point], events: [ClowderEvent], flush: Bool) throws {
        if let delivery {
            do {
                if !points.isEmpty || !events.isEmpty {
                    try delivery.submit(points: points, events: events, state: callerState())
                    dirty = false
                } else {
                    try delivery.tick()
                }
            } catch {
                throw RuntimeError(.spool, "cannot write to the spool \(configuration.spoolPath): \(error)")
            }
            return
        }
        guard let output else { return }
        if !points.isEmpty || !events.isEmpty {
            try output.write(points: points, events: events)
            dirty = true
        }
        if dirty && (!points.isEmpty || !events.isEmpty || flush) {
            do {
                _ = try spool.commit(batches: [], state: callerState())
            } catch {
                throw RuntimeError(.spool, "cannot write the state to \(configuration.spoolPath): \(error)")
            }
            dirty = false
        }
    }

    /// The log offsets and the open windows, saved with every commit.
    func callerState() -> [String: [UInt8]] {
        var state: [String: [UInt8]] = [:]
        if let tail { state[Self.stateLogTail] = tail.checkpointData() }
        if let pipeline { state[Self.statePipeline] = pipeline.snapshot() }
        return state
    }

    static func wallNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

extension AgentConfiguration {
    /// The recommended format (`deploy/nginx/clowder_metrics.conf`): combined plus
    /// `$request_time $upstream_response_time $connection $connection_requests`.
    public static let clowderMetricsLogFormat = LogFormat.clowderMetricsString

    /// The log format from `CLOWDER_METRICS_LOG_FORMAT`: `combined`, `clowder_metrics`,
    /// a name defined in `CLOWDER_METRICS_NGINX_CONFIG`, or a format string.
    /// - Throws: ``RuntimeError`` `.logFormat` naming the key and what is wrong.
    public func resolvedLogFormat() throws -> LogFormat {
        var formats: [String: LogFormat] = [:]
        do {
            if let path = nginxConfig {
                let data: Data
                do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                    throw RuntimeError(.logFormat, "CLOWDER_METRICS_NGINX_CONFIG=\"\(path)\": cannot read this file (\(error))")
                }
                let config = try NginxConfig(text: String(decoding: data, as: UTF8.self), file: path)
                formats.merge(config.logFormats) { _, new in new }
            }
            return try LogFormat.resolve(logFormat, formats: formats)
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError(.logFormat, "CLOWDER_METRICS_LOG_FORMAT=\"\(logFormat)\": \(error)")
        }
    }
}
