#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Clocks for the probes: a monotonic clock for every duration and deadline
/// (`CLOCK_MONOTONIC`, POSIX `clock_gettime`), the wall clock only for the
/// time stamp of a point or event.
enum ProbeClock {
    /// Nanoseconds on `CLOCK_MONOTONIC`: never steps with NTP or date changes.
    static func monotonicNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Epoch nanoseconds on `CLOCK_REALTIME`, for `Point.timeNanoseconds`.
    static func wallNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Seconds as nanoseconds, rounded.
    static func nanoseconds(_ seconds: Double) -> Int64 {
        Int64((seconds * 1e9).rounded())
    }
}
