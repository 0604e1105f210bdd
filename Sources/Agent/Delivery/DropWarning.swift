/// When to warn that the spool dropped batches: at the first drop, then at most once per
/// ``interval`` with the number dropped since the last warning (issue 12, "say what is lost").
///
/// The drops themselves are counted in ``DeliveryStats/batchesDropped`` (the `batches_dropped`
/// field of the `agent` point); this only keeps the log readable while a full spool drops a
/// batch at every commit. Times are epoch milliseconds, given by the caller, so a test can
/// drive the clock.
///
/// ```swift
/// var warning = DropWarning()
/// if let n = warning.note(dropped: ids.count, now: nowMs) { logger.warning("dropped \(n) batches") }
/// if let n = warning.note(dropped: 0, now: nowMs) { … }   // about once a second: reports drops held back
/// ```
public struct DropWarning: Sendable {
    /// Shortest time between two warnings, milliseconds (one minute).
    public var intervalMilliseconds: Int64
    /// Batches dropped since the last warning, not reported yet.
    public private(set) var unreported: Int64 = 0
    /// Batches dropped in all, since the process started.
    public private(set) var total: Int64 = 0
    private var lastWarning: Int64?

    /// - Parameter intervalMilliseconds: shortest time between two warnings (default 60,000 ms).
    public init(intervalMilliseconds: Int64 = 60_000) {
        self.intervalMilliseconds = intervalMilliseconds
    }

    /// Notes `dropped` batches (0 to only check the clock).
    /// - Returns: how many batches to report now (the first drop at once, later ones once the
    ///   interval has passed since the last warning), or nil to stay silent.
    public mutating func note(dropped: Int, now: Int64) -> Int64? {
        if dropped > 0 {
            unreported &+= Int64(dropped)
            total &+= Int64(dropped)
        }
        guard unreported > 0 else { return nil }
        if let last = lastWarning, now &- last < intervalMilliseconds { return nil }
        lastWarning = now
        defer { unreported = 0 }
        return unreported
    }
}
