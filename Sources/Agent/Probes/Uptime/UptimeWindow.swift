/// The share of rounds a target was up during the last `window` seconds.
///
/// Keeps one (monotonic time, up) entry per round and forgets entries older
/// than the window, so memory is bounded by window ÷ interval.
///
/// ```swift
/// var w = UptimeWindow(window: 3600)
/// w.record(up: true, atMonotonicNanoseconds: now)
/// w.ratio   // 1.0
/// ```
public struct UptimeWindow: Sendable, Hashable {
    /// Length of the window, seconds.
    public let window: Double
    private var rounds: [(time: Int64, up: Bool)] = []
    private var head = 0
    private var upCount = 0

    /// - Parameter window: seconds of history the ratio covers (default 3600).
    public init(window: Double = 3600) { self.window = window }

    /// Records one round at a monotonic time (nanoseconds) and forgets rounds
    /// that fell out of the window.
    public mutating func record(up: Bool, atMonotonicNanoseconds now: Int64) {
        rounds.append((now, up))
        if up { upCount += 1 }
        let oldest = now - ProbeClock.nanoseconds(window)
        while head < rounds.count && rounds[head].time <= oldest {
            if rounds[head].up { upCount -= 1 }
            head += 1
        }
        if head > 64 && head * 2 > rounds.count {
            rounds.removeFirst(head)
            head = 0
        }
    }

    /// Rounds in the window.
    public var count: Int { rounds.count - head }
    /// Up rounds ÷ rounds in the window, 0…1 (1 before the first round).
    public var ratio: Double { count == 0 ? 1 : Double(upCount) / Double(count) }

    public static func == (a: UptimeWindow, b: UptimeWindow) -> Bool {
        a.window == b.window && a.count == b.count && a.upCount == b.upCount
    }

    public func hash(into h: inout Hasher) {
        h.combine(window)
        h.combine(count)
        h.combine(upCount)
    }
}
