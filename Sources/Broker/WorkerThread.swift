import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dedicated OS thread for blocking librabbitmq calls (kept off Swift's
/// cooperative pool), with a self-pipe other threads use to wake it while it
/// sleeps in `poll(2)` on the AMQP socket.
final class WorkerThread: @unchecked Sendable {
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let started = Mutex(false)

    init() {
        var fds: [Int32] = [-1, -1]
        let rc = pipe(&fds)
        precondition(rc == 0, "pipe failed: \(errno)")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Whether ``startOnce(_:)`` has started the thread.
    var hasStarted: Bool { started.withLock { $0 } }

    /// Starts `body` on a new thread the first time it is called; later calls do nothing.
    func startOnce(_ body: @escaping @Sendable () -> Void) {
        let first = started.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard first else { return }
        final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { arg in
            let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(t)
    }

    /// Wakes the thread if it is in ``wait(socket:timeout:)``.
    func wake() {
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)
    }

    /// Sleeps until `socket` (if ≥ 0) is readable, ``wake()`` was called, or
    /// `timeout` seconds passed. Returns true when the socket is readable (or in error).
    @discardableResult
    func wait(socket: Int32, timeout: Double) -> Bool {
        var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0), pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
        let n = socket >= 0 ? 2 : 1
        let rc = poll(&fds, nfds_t(n), Int32(max(0, timeout * 1000)))
        if rc <= 0 { return false }
        if fds[0].revents != 0 {
            var drain = [UInt8](repeating: 0, count: 64)
            while read(wakeRead, &drain, 64) > 0 {}
        }
        return n == 2 && fds[1].revents != 0
    }
}

/// Exponential backoff with full jitter (AWS architecture blog, "Exponential
/// Backoff and Jitter"): attempt n waits a random time in [0, min(cap, base·2ⁿ)], at least `floor`.
struct Backoff {
    var base: Double = 0.1
    var cap: Double = 5
    var floor: Double = 0.05
    var attempt = 0

    mutating func next() -> Double {
        let ceiling = min(cap, base * Double(1 << min(attempt, 16)))
        attempt += 1
        return max(floor, Double.random(in: 0...ceiling))
    }

    mutating func reset() { attempt = 0 }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
