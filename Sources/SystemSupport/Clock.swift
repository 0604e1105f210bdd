#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The two clocks of the program family, read with `clock_gettime(2)` (POSIX): the monotonic
/// clock for intervals, deadlines and timings (`CLOCK_MONOTONIC`, never steps), the wall clock
/// only for the timestamps written into points and events (`CLOCK_REALTIME`).
package enum SystemClock {
    /// `CLOCK_MONOTONIC`, nanoseconds since an arbitrary start (boot).
    package static func monotonicNanoseconds() -> Int64 { nanoseconds(CLOCK_MONOTONIC) }

    /// `CLOCK_REALTIME`, nanoseconds since the Unix epoch.
    package static func wallNanoseconds() -> Int64 { nanoseconds(CLOCK_REALTIME) }

    /// `CLOCK_MONOTONIC`, seconds.
    package static func monotonicSeconds() -> Double { seconds(CLOCK_MONOTONIC) }

    /// `CLOCK_REALTIME`, seconds since the Unix epoch (fractions kept).
    package static func wallSeconds() -> Double { seconds(CLOCK_REALTIME) }

    private static func nanoseconds(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    private static func seconds(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
