import Logging
import MetricsModel
import Synchronization

/// The delivery stage in one object, for the run loop: a ``Batcher`` whose
/// open batch is saved in the spool, the ``Spool`` and the ``Forwarder``.
///
/// Every ``submit(points:events:state:now:)`` is one spool transaction that
/// holds the batches it closed, the batcher's open batch (under the key
/// ``batcherStateKey``) and the caller's state blobs (LogTail checkpoints, the
/// aggregator's snapshot). So after `kill -9` at any instant, the checkpoint,
/// the aggregator, the open batch and the spooled batches agree: no line is
/// lost and none is counted twice.
///
/// ```swift
/// let delivery = try Delivery(configuration: config, agent: identity, logger: logger)
/// let saved = try delivery.loadState()                  // checkpoints, snapshot (your keys)
/// delivery.start()
/// // each turn of the loop (e.g. every second, or after each read):
/// let closed = pipeline.takeClosed()
/// try delivery.submit(points: closed.points, events: closed.events,
///                     state: [.logTail(source: ""): checkpoints, .pipeline(source: ""): pipeline.snapshot()])
/// // at SIGTERM:
/// let last = pipeline.closeAll()
/// let left = try await delivery.shutdown(points: last.points, events: last.events, state: [...])
/// ```
public final class Delivery: Sendable {
    /// The state key under which the batcher's open batch is stored.
    public static let batcherStateKey = StateKey.batcher

    /// The settings in use.
    public let configuration: DeliveryConfiguration
    /// The spool.
    public let spool: Spool
    /// The forwarder.
    public let forwarder: Forwarder
    /// The agent's own counters (``DeliveryStats/point(agent:timeNanoseconds:)`` gives the `agent` point).
    public var stats: DeliveryStats { spool.stats }

    private let batcher: Mutex<Batcher>
    private let dropWarning = Mutex(DropWarning())
    private let logger: Logger

    /// Opens the spool, restores the open batch saved in it, reads the API key.
    /// - Parameters:
    ///   - configuration: delivery settings.
    ///   - agent: the identity written into every batch.
    ///   - stats: counters to update (a new set by default).
    ///   - logger: where the forwarder logs.
    /// - Throws: ``DeliveryError`` (`.spool`, `.configuration`).
    public init(
        configuration: DeliveryConfiguration, agent: AgentIdentity, stats: DeliveryStats = DeliveryStats(),
        logger: Logger = Logger(label: "clowder.delivery")
    ) throws(DeliveryError) {
        self.configuration = configuration
        self.logger = logger
        let spool = try Spool(path: configuration.spoolPath, maxBytes: configuration.spoolMaxBytes, stats: stats)
        self.spool = spool
        self.forwarder = try Forwarder(configuration: configuration, spool: spool, logger: logger)
        let pending = try spool.loadState()[Self.batcherStateKey]
        self.batcher = Mutex(
            Batcher(
                agent: agent, maxItems: configuration.batchMaxPoints, maxBytes: configuration.batchMaxBytes,
                maxAge: configuration.batchMaxAge, pending: pending))
    }

    /// The state blobs last committed, without the batcher's own key.
    /// - Throws: ``DeliveryError`` `.spool`.
    public func loadState() throws(DeliveryError) -> [StateKey: [UInt8]] {
        var s = try spool.loadState()
        s[Self.batcherStateKey] = nil
        return s
    }

    /// Starts the forwarder's thread.
    public func start() { forwarder.start() }

    /// Adds points and events to the open batch and commits, in one
    /// transaction, the batches this closed (by count, size or age), the open
    /// batch and `state`.
    /// - Parameters:
    ///   - points: new points (closed windows, probe results, the `agent` point).
    ///   - events: new Clowder-style events.
    ///   - state: the caller's blobs by key, written in the same transaction.
    ///   - now: epoch milliseconds (default: the clock).
    /// - Returns: batches closed and spooled.
    /// - Throws: ``DeliveryError``; then nothing is written and the items stay in the open batch.
    @discardableResult
    public func submit(
        points: [Point] = [], events: [ClowderEvent] = [], state: [StateKey: [UInt8]] = [:],
        now: Int64 = Batcher.nowMilliseconds()
    ) throws(DeliveryError) -> Int {
        try batcher.withLock { (b: inout Batcher) throws(DeliveryError) -> Int in
            var next = b
            var closed = next.poll(now: now)
            closed += next.add(points, now: now)
            for e in events { closed += next.add(e, now: now) }
            var all = state
            all[Self.batcherStateKey] = next.pendingState
            let dropped = try spool.commit(batches: closed, state: all)
            b = next  // only once committed
            warnIfDropped(dropped.count, now: now)
            return closed.count
        }
    }

    /// Closes the open batch if it is older than the age limit, committing it
    /// (with the now empty open batch). Call it about once a second.
    /// - Returns: batches closed and spooled (0 or 1).
    /// - Throws: ``DeliveryError``.
    @discardableResult
    public func tick(now: Int64 = Batcher.nowMilliseconds()) throws(DeliveryError) -> Int {
        try batcher.withLock { (b: inout Batcher) throws(DeliveryError) -> Int in
            var next = b
            let closed = next.poll(now: now)
            guard !closed.isEmpty else {
                warnIfDropped(0, now: now)  // drops held back by the one-a-minute limit
                return 0
            }
            let dropped = try spool.commit(batches: closed, state: [Self.batcherStateKey: next.pendingState])
            b = next
            warnIfDropped(dropped.count, now: now)
            return closed.count
        }
    }

    /// At shutdown: adds the last points and events, closes the open batch,
    /// commits them with `state`, then sends what is spooled within `grace`.
    /// - Returns: batches left in the spool (sent at the next start).
    /// - Throws: ``DeliveryError`` when the final commit fails.
    public func shutdown(
        points: [Point] = [], events: [ClowderEvent] = [], state: [StateKey: [UInt8]] = [:], grace: Duration? = nil
    ) async throws(DeliveryError) -> Int {
        let now = Batcher.nowMilliseconds()
        try batcher.withLock { (b: inout Batcher) throws(DeliveryError) in
            var next = b
            var closed = next.add(points, now: now)
            for e in events { closed += next.add(e, now: now) }
            closed += next.flush(now: now)
            var all = state
            all[Self.batcherStateKey] = next.pendingState
            let dropped = try spool.commit(batches: closed, state: all)
            b = next
            warnIfDropped(dropped.count, now: now)
        }
        let g = grace ?? .milliseconds(Int64(configuration.shutdownGrace * 1000))
        return await forwarder.drain(grace: g)
    }

    /// Logs a warning when the spool dropped batches to stay within its bound: at the first drop,
    /// then at most once a minute with the number dropped since (``DropWarning``). Every drop is
    /// also counted in `batches_dropped` on the `agent` point.
    func warnIfDropped(_ dropped: Int, now: Int64) {
        let report = dropWarning.withLock { w -> (Int64, Int64)? in
            guard let n = w.note(dropped: dropped, now: now) else { return nil }
            return (n, w.total)
        }
        guard let (n, total) = report else { return }
        logger.warning(
            "the spool is full: dropped the \(n) oldest batch\(n == 1 ? "" : "es") to stay within CLOWDER_METRICS_SPOOL_MAX_BYTES; what they held is lost (the ingest is unreachable or slower than the agent; raise the bound or check the ingest)",
            metadata: [
                "spool": "\(spool.path)", "spool_max_bytes": "\(spool.maxBytes)", "batches_dropped": "\(n)",
                "batches_dropped_total": "\(total)",
            ])
    }
}
