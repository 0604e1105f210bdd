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
import SystemSupport

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

    /// The logs tailed, each with its own format (one for `CLOWDER_METRICS_ACCESS_LOG`, one per
    /// access log found with `CLOWDER_METRICS_NGINX_CONFIG`).
    var sources: [LogSource] = []
    /// Files whose change re-reads the NGINX configuration, and their last fingerprint.
    var watched: [String] = []
    var watchedFingerprint = FileFingerprint([])
    var nextWatchCheck = ContinuousClock.now
    let reloadRequested = Atomic<Bool>(false)
    /// State saved for sources not opened yet (a discovered log whose tail could not start).
    var savedState: [StateKey: [UInt8]] = [:]
    var nextStatsNanoseconds: Int64
    var dirty = false
    /// Health file (``HealthFile``): when the agent started and last read a line (epoch s), when to write next.
    let startedSeconds = Double(Collector.wallNanoseconds()) / 1e9
    var lastLineSeconds: Double = 0
    var nextHealth = ContinuousClock.now
    var healthWarned = false

    /// What is left for ``Delivery/shutdown(points:events:state:grace:)`` after the loop (ingest mode).
    var final: (points: [Point], events: [ClowderEvent], state: [StateKey: [UInt8]])?

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
        let state: [StateKey: [UInt8]]
        do { state = try delivery?.loadState() ?? spool.loadState() } catch {
            throw RuntimeError(.spool, "cannot read the saved state in \(configuration.spoolPath)", underlying: error)
        }
        let window = Int64(configuration.windowSeconds) * 1_000_000_000
        nextStatsNanoseconds = (Self.wallNanoseconds() / window + 1) * window
        // Only the log sources' entries: each is taken out when its source opens.
        savedState = state.filter { $0.key.isLogSource }
        if configuration.tailsLogs {
            let found = try configuration.logSources()
            logFindings(found)
            var firstStart = false
            for spec in found.specs {
                if savedState[LogSource.tailKey(spec.key)] == nil { firstStart = true }
                do {
                    sources.append(try LogSource(spec: spec, configuration: configuration, state: &savedState))
                } catch let error as RuntimeError where configuration.discoversLogs {
                    // One discovered log that cannot be tailed does not stop the others; a reload retries it.
                    logger.error("\(error)")
                }
            }
            watched = found.watched
            watchedFingerprint = FileFingerprint(watched)
            // A first start happens once per source: the positions chosen now (the end of each file, or
            // its start with READ_FROM=start; none when no file exists yet) are committed before any line
            // is read, so a crash from here on resumes from them instead of skipping to the end again.
            if firstStart { try commitState() }
        }
    }

    /// Commits the log positions and the open windows (and the batcher's open batch) alone, without
    /// a batch: at a first start and whenever a tail begins to follow a file, before any of its
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
            throw RuntimeError(.spool, "cannot write the log positions to the spool \(configuration.spoolPath)", underlying: error)
        }
    }

    /// Logs what the NGINX configuration names and what the agent does with each directive.
    func logFindings(_ found: DiscoveredLogs) {
        for f in found.findings {
            if f.tailed && f.kind == .file {
                logger.info("access log found in the NGINX configuration", metadata: ["directive": "\(f)"])
            } else {
                logger.warning("access_log directive", metadata: ["directive": "\(f)"])
            }
        }
        if configuration.discoversLogs {
            logger.info("tailing the access logs NGINX writes",
                        metadata: ["logs": "\(found.specs.map { "\($0.key) (\($0.format.name ?? $0.format.string))" }.joined(separator: ", "))"])
        }
    }

    /// Asks the loop to read the NGINX configuration again (SIGHUP).
    func requestReload() { reloadRequested.store(true, ordering: .releasing) }

    /// With discovered logs: re-reads the NGINX configuration when asked or when a watched file
    /// changed; keeps the sources whose path and format stay, closes the windows of those gone
    /// (their points are returned), opens the new ones. A configuration that cannot be read keeps
    /// the current sources.
    /// - Throws: ``RuntimeError`` `.spool` when the new sources' first positions cannot be committed.
    func reloadIfNeeded(points: inout [Point], events: inout [ClowderEvent]) throws {
        guard configuration.discoversLogs else { return }
        var reload = reloadRequested.exchange(false, ordering: .acquiringAndReleasing)
        let now = ContinuousClock.now
        if now >= nextWatchCheck {
            nextWatchCheck = now + .seconds(2)
            let fp = FileFingerprint(watched)
            if fp != watchedFingerprint {
                watchedFingerprint = fp
                reload = true
            }
        }
        guard reload else { return }
        let found: DiscoveredLogs
        do { found = try configuration.discoverLogs() } catch {
            logger.error("reloading the NGINX configuration failed; the agent keeps tailing what it tailed", metadata: ["error": "\(error)"])
            return
        }
        logFindings(found)
        watched = found.watched
        watchedFingerprint = FileFingerprint(watched)
        var next: [LogSource] = []
        var opened = false
        for spec in found.specs {
            if let s = sources.first(where: { $0.spec == spec }) { next.append(s); continue }
            opened = true
            do {
                next.append(try LogSource(spec: spec, configuration: configuration, state: &savedState))
                logger.info("now tailing \(spec.key) with log_format \(spec.format.name ?? spec.format.string)")
            } catch {
                logger.error("\(error)")
            }
        }
        for s in sources where !next.contains(where: { $0 === s }) {
            _ = try readLines(s)
            let closed = s.pipeline.closeAll()
            points += closed.points
            events += closed.events
            logger.info("no longer tailing \(s.spec.key) (not in the NGINX configuration any more, or its format changed)")
        }
        sources = next
        dirty = true
        if opened { try commitState() }
    }

    /// Asks the loop to close every window, spool and return.
    func requestStop() { stopRequested.store(true, ordering: .releasing) }

    /// The loop; returns after ``requestStop()`` (or a fatal output error).
    func run() {
        do {
            while !stopRequested.load(ordering: .acquiring) {
                let lines = try step()
                if lines == 0 {
                    // Each source's tail waits on its own inotify descriptor: share the 250 ms between them.
                    if sources.isEmpty { usleep(250_000) }
                    let share = Duration.milliseconds(max(10, 250 / max(1, sources.count)))
                    for s in sources { s.tail.waitForData(timeout: share) }
                }
            }
            try finish()
            writeHealth(up: false)
        } catch let error as RuntimeError {
            logger.critical("\(error)")
            failureBox.withLock { $0 = error }
        } catch {
            logger.critical("\(error)")
            failureBox.withLock { $0 = RuntimeError(.spool, underlying: error) }
        }
    }

    /// One pass: read what is new, hand over closed windows and probe results,
    /// commit when a batch closed. Returns the lines read.
    func step() throws -> Int {
        var lines = 0
        var points: [Point] = []
        var events: [ClowderEvent] = []
        try reloadIfNeeded(points: &points, events: &events)
        for s in sources {
            lines += try readLines(s)
            logNewMalformedSamples(s)
            let closed = s.pipeline.takeClosed()
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
        h.linesRead = sources.reduce(0) { $0 + Int64($1.tail.stats.lines) }
        h.malformedLines = sources.reduce(0) { $0 + $1.pipeline.malformedCount }
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
    func logNewMalformedSamples(_ source: LogSource) {
        let samples = source.pipeline.malformedSamples
        guard samples.count > source.loggedMalformedSamples else { return }
        for sample in samples[source.loggedMalformedSamples...] {
            logger.warning(
                "a line does not match the log format; it is counted in malformed_lines",
                metadata: ["log_format": "\(source.spec.format.name ?? source.spec.format.string)",
                           "access_log": "\(source.spec.paths.joined(separator: ","))", "line": "\(sample.text)"])
        }
        source.loggedMalformedSamples = samples.count
        if samples.count >= 5 {
            logger.warning("further malformed lines are counted in malformed_lines (the agent point), not logged")
        }
    }

    /// - Throws: ``RuntimeError`` `.spool` when the position of a file the tail begins to follow
    ///   cannot be committed; a log that cannot be read is logged, not thrown.
    func readLines(_ source: LogSource) throws -> Int {
        let pipeline = source.pipeline
        do {
            return try source.tail.poll(onNewFiles: { try self.commitState() }) { line in _ = pipeline.add(line: line) }
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
        for s in sources {
            _ = try readLines(s)
            let closed = s.pipeline.closeAll()
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
        if !sources.isEmpty {
            stats.linesRead.store(sources.reduce(0) { $0 + Int64($1.tail.stats.lines) }, ordering: .relaxed)
            stats.malformedLines.store(sources.reduce(0) { $0 + Int64($1.pipeline.malformedCount) }, ordering: .relaxed)
        }
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
                throw RuntimeError(.spool, "cannot write to the spool \(configuration.spoolPath)", underlying: error)
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
                throw RuntimeError(.spool, "cannot write the state to \(configuration.spoolPath)", underlying: error)
            }
            dirty = false
        }
    }

    /// The log offsets and the open windows, saved with every commit.
    func callerState() -> [StateKey: [UInt8]] {
        // State of sources that could not be opened yet is kept for when they can.
        var state = savedState
        for s in sources {
            state[LogSource.tailKey(s.spec.key)] = s.tail.checkpointData()
            state[LogSource.pipelineKey(s.spec.key)] = s.pipeline.snapshot()
        }
        return state
    }

    static func wallNanoseconds() -> Int64 {
        SystemClock.wallNanoseconds()
    }
}
