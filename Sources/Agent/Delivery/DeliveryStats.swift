import MetricsModel
import Synchronization

/// The agent's own counters, sent as one point of measurement `agent` per
/// window (like Telegraf's `internal` plugin). Counters are totals since the
/// process started (use a non-negative derivative to chart rates);
/// `spool_bytes` and `spool_batches` are gauges.
///
/// The spool and forwarder update their counters; the lead's run loop feeds
/// ``linesRead`` and ``malformedLines`` and calls ``point(agent:timeNanoseconds:)``
/// once per window.
///
/// Fields: `lines_read malformed_lines batches_spooled batches_sent batches_retried
/// batches_dead_lettered batches_dropped spool_bytes spool_batches` (integers).
public final class DeliveryStats: Sendable {
    /// Log lines read (fed by the run loop).
    public let linesRead = Atomic<Int64>(0)
    /// Malformed log lines (fed by the run loop).
    public let malformedLines = Atomic<Int64>(0)
    /// Batches written to the spool.
    public let batchesSpooled = Atomic<Int64>(0)
    /// Batches the ingest accepted (2xx, duplicates included).
    public let batchesSent = Atomic<Int64>(0)
    /// Send attempts that failed and will be retried (5xx, 408, 429, network errors).
    public let batchesRetried = Atomic<Int64>(0)
    /// Batches moved to the dead-letter table (4xx other than 408 and 429).
    public let batchesDeadLettered = Atomic<Int64>(0)
    /// Batches dropped, oldest first, because the spool reached its bound.
    public let batchesDropped = Atomic<Int64>(0)
    /// Spool size on disk (database and WAL files), bytes; a gauge.
    public let spoolBytes = Atomic<Int64>(0)
    /// Batches waiting in the spool; a gauge.
    public let spoolBatches = Atomic<Int64>(0)
    /// When the ingest last accepted a batch, epoch milliseconds (0: not since the start).
    /// Reported in the health file (``HealthFile``), not on the `agent` point.
    public let lastSentMilliseconds = Atomic<Int64>(0)

    public init() {}

    /// Adds to a counter: `stats.count(stats.linesRead, 120)`.
    public func count(_ counter: borrowing Atomic<Int64>, _ n: Int64 = 1) {
        counter.wrappingAdd(n, ordering: .relaxed)
    }

    /// The `agent` point for the current values.
    /// - Parameters:
    ///   - agent: tags `agent` (id), `host` and `region` come from it; `version` too.
    ///   - timeNanoseconds: the point's time, epoch nanoseconds (usually the window's end).
    public func point(agent: AgentIdentity, timeNanoseconds: Int64) -> Point {
        func v(_ a: borrowing Atomic<Int64>) -> JSONValue { .int(a.load(ordering: .relaxed)) }
        return Point(
            measurement: "agent",
            tags: ["agent": agent.id, "host": agent.host, "region": agent.region, "version": agent.version],
            fields: [
                "lines_read": v(linesRead), "malformed_lines": v(malformedLines),
                "batches_spooled": v(batchesSpooled), "batches_sent": v(batchesSent),
                "batches_retried": v(batchesRetried), "batches_dead_lettered": v(batchesDeadLettered),
                "batches_dropped": v(batchesDropped), "spool_bytes": v(spoolBytes), "spool_batches": v(spoolBatches),
            ],
            timeNanoseconds: timeNanoseconds)
    }
}
