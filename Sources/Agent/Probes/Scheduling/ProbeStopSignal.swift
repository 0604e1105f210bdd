#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A one-way "stop now" flag shared by the probe threads, with the read end of
/// a pipe they can `poll` beside their own socket: ``stop()`` writes a byte
/// that is never read, so the pipe stays readable and wakes every sleeping or
/// waiting thread at once.
final class ProbeStopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    /// Readable once ``stop()`` was called; `-1` if `pipe` failed (threads then
    /// fall back to waking at least every 200 ms to check the flag).
    let fd: Int32
    private let writeEnd: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for f in fds {
                _ = fcntl(f, F_SETFD, FD_CLOEXEC)
                _ = fcntl(f, F_SETFL, fcntl(f, F_GETFL) | O_NONBLOCK)
            }
        }
        fd = fds[0]
        writeEnd = fds[1]
    }

    deinit {
        if fd >= 0 { close(fd) }
        if writeEnd >= 0 { close(writeEnd) }
    }

    /// Whether ``stop()`` was called.
    var isStopped: Bool { flag.load(ordering: .acquiring) }

    /// Sets the flag and wakes every thread polling ``fd``.
    func stop() {
        if flag.exchange(true, ordering: .acquiringAndReleasing) { return }
        if writeEnd >= 0 {
            var one: UInt8 = 1
            _ = write(writeEnd, &one, 1)
        }
    }

    /// Sleeps until the monotonic `deadline` (nanoseconds) or until stopped.
    /// - Returns: `false` when stopped.
    func sleep(until deadline: Int64) -> Bool {
        while !isStopped {
            let left = deadline - ProbeClock.monotonicNanoseconds()
            if left <= 0 { return true }
            // poll(2) takes milliseconds: round up so we never wake early, then
            // re-check; the deadline is absolute, so no error accumulates.
            let cap: Int64 = fd >= 0 ? Int64(Int32.max) : 200
            let ms = Int32(min((left + 999_999) / 1_000_000, cap))
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, fd >= 0 ? 1 : 0, ms)
        }
        return false
    }
}
