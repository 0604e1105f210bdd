#if canImport(Glibc)
import Glibc
#endif

/// Sleeps until a watched directory or file changes, with `inotify(7)`.
///
/// Watched: each directory that holds a followed path (creations, renames,
/// deletions and writes of the files in it) and each open file itself (its
/// writes, so a file renamed into another directory still wakes us). Reads by
/// LogTail itself raise no event (`IN_ACCESS` and `IN_OPEN` are not asked
/// for), so an idle tail sleeps for the whole timeout. Without inotify (its
/// limits reached) the wait is a plain sleep of the timeout.
final class FileChangeWaiter {
    private let fd: Int32
    private var directories: [String: Int32] = [:]
    private var buffer = [UInt8](repeating: 0, count: 4096)

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
        let mask = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE
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
            var ts = timespec(tv_sec: Int(timeout.components.seconds),
                              tv_nsec: Int(timeout.components.attoseconds / 1_000_000_000))
            var left = timespec()
            while nanosleep(&ts, &left) != 0 && errno == EINTR { ts = left }
            return
        }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = Glibc.poll(&p, 1, ms)
        drain()
    }

    private func drain() {
        buffer.withUnsafeMutableBytes { raw in
            while Glibc.read(fd, raw.baseAddress, raw.count) > 0 {}
        }
    }
}
