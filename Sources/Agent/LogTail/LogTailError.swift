#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// An error from ``LogTail``: the path it concerns and, for a failed system
/// call, the `errno` and its text (``Errno/text``).
///
/// Thrown by ``LogTail/init(paths:options:checkpoints:)`` when a configured
/// path cannot be followed (the CLI turns it into a non-zero exit at start),
/// and by ``FileCheckpoint/decode(_:)`` for damaged checkpoint data. A file
/// that disappears or fails to open *after* the start is not an error: it is
/// counted in ``LogTailStats/openErrors`` and retried at the next poll.
public struct LogTailError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Code: String, Sendable, Equatable {
        /// `stat(2)`, `open(2)` or `glob(3)` failed for a configured path.
        case cannotOpen
        /// The path names something other than a regular file (a directory, a socket, …).
        case notARegularFile
        /// `read(2)` failed on an open file.
        case readFailed
        /// Checkpoint bytes that ``FileCheckpoint/decode(_:)`` cannot read.
        case badCheckpointData
    }

    /// What went wrong.
    public var code: Code
    /// The configured path or glob pattern (empty for checkpoint data).
    public var path: String
    /// The `errno` of the failed system call, when there was one.
    public var errno: Int32?
    /// Extra detail (the system's text for `errno`, or what is wrong with the data).
    public var detail: String

    /// Creates an error; `detail` defaults to the system's text for `errno` when `errno` is given.
    public init(code: Code, path: String, errno: Int32? = nil, detail: String? = nil) {
        self.code = code
        self.path = path
        self.errno = errno
        if let detail {
            self.detail = detail
        } else if let errno {
            self.detail = Errno.text(errno)
        } else {
            self.detail = ""
        }
    }

    /// For example `cannot open /var/log/nginx/access.log: No such file or directory (errno 2)`.
    public var description: String {
        let what: String
        switch code {
        case .cannotOpen: what = "cannot open"
        case .notARegularFile: what = "not a regular file:"
        case .readFailed: what = "cannot read"
        case .badCheckpointData: what = "bad checkpoint data"
        }
        var s = path.isEmpty ? what : "\(what) \(path)"
        if !detail.isEmpty { s += ": \(detail)" }
        if let errno { s += " (errno \(errno))" }
        return s
    }
}
