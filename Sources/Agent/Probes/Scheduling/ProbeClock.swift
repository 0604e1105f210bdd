import SystemSupport

/// Clocks for the probes: a monotonic clock for every duration and deadline
/// (`CLOCK_MONOTONIC`, POSIX `clock_gettime`), the wall clock only for the
/// time stamp of a point or event (SystemSupport's ``SystemClock``).
enum ProbeClock {
    /// Nanoseconds on `CLOCK_MONOTONIC`: never steps with NTP or date changes.
    static func monotonicNanoseconds() -> Int64 { SystemClock.monotonicNanoseconds() }

    /// Epoch nanoseconds on `CLOCK_REALTIME`, for `Point.timeNanoseconds`.
    static func wallNanoseconds() -> Int64 { SystemClock.wallNanoseconds() }

    /// Seconds as nanoseconds, rounded.
    static func nanoseconds(_ seconds: Double) -> Int64 {
        Int64((seconds * 1e9).rounded())
    }
}
