#if canImport(Glibc)
import Glibc
#endif

/// Sleeps until a watched directory or file changes, with `inotify(7)`.
///
/// Watched: each directory that holds a followed path (entries created,
/// renamed or deleted) and each open file itself (its writes, also after it
/// was renamed into another directory or deleted). Reads by
/// LogTail itself raise no event (`IN_ACCESS` and `IN_OPEN` are not asked
/// for), so an idle tail sleeps for the whole timeout. Without inotify (its
/// limits reached) the wait is a plain sleep of the timeout.
///
/// The events also tell LogTail when a directory's entries changed (a file
/// created, renamed or deleted: ``entriesChanged``), so it expands the globs
/// again only then (and at least once a second), not at every poll.
final class FileChangeWaiter {
    private let fd: Int32
    private var directories: [String: Int32] = [:]
    private var buffer = [UInt8](repeating: 0, count: 8192)
    /// Set when an event said entries were created, renamed or deleted (or
    /// events were lost); LogTail clears it after expanding the paths again.
    var entriesChanged = false

    init() {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Whether inotify is in use (else waits are plain sleeps).
    var usesInotify: Bool { fd >= 0 }

    /// Watches a directory once (again later if it could not be watched yet).
    func watchDirectory(_ path: String) {
        guard fd >= 0, directories[path] == nil else { return }
        // Writes come from the watches on the open files themselves (`watchFile`).
        let mask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
        let wd = inotify_add_watch(fd, path, UInt32(mask))
        if wd >= 0 { directories[path] = wd }
    }

    /// Watches an open file for writes; returns the watch descriptor (or -1).
    func watchFile(_ path: String) -> Int32 {
        guard fd >= 0 else { return -1 }
        return inotify_add_watch(fd, path, UInt32(IN_MODIFY))
    }

    /// Stops watching a file (when LogTail closes it).
    func unwatch(_ wd: Int32) {
        guard fd >= 0, wd >= 0, !directories.values.contains(wd) else { return }
        inotify_rm_watch(fd, wd)
    }

    /// Returns when an event arrived or `timeout` passed; drains the events.
    func wait(timeout: Duration) {
        let ms = max(0, Int32(clamping: timeout.components.seconds * 1000
            + timeout.components.attoseconds / 1_000_000_000_000_000))
        if fd < 0 {
            Self.sleep(timeout)
            return
        }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = Glibc.poll(&p, 1, ms)
        drain()
    }

    /// `nanosleep(2)` for `duration` (not woken by file changes).
    static func sleep(_ duration: Duration) {
        guard duration > .zero else { return }
        var ts = timespec(tv_sec: Int(duration.components.seconds),
                          tv_nsec: Int(duration.components.attoseconds / 1_000_000_000))
        var left = timespec()
        while nanosleep(&ts, &left) != 0 && errno == EINTR { ts = left }
    }

    /// Reads the queued events without waiting, noting entry changes.
    func drain() {
        guard fd >= 0 else { return }
        let entryEvents = UInt32(IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF
            | IN_MOVE_SELF | IN_Q_OVERFLOW | IN_IGNORED)
        buffer.withUnsafeMutableBytes { raw in
            while true {
                let n = Glibc.read(fd, raw.baseAddress, raw.count)
                if n <= 0 { break }
                // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
                var at = 0
                while at + 16 <= n {
                    let mask = raw.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self))
                    if mask & entryEvents != 0 { entriesChanged = true }
                    at += 16 + length
                }
            }
        }
    }
}
