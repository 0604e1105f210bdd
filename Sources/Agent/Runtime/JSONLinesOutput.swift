#if canImport(Glibc)
import Glibc
#endif
import MetricsModel
import SystemSupport

/// Where closed windows go when no ingest URL is configured: one JSON object
/// per line (`CLOWDER_METRICS_OUTPUT_FILE`, `-` for standard output).
///
/// A point is written as `{"measurement":…,"time_ns":…,"tags":{…},"fields":{…}}`
/// (``Point/json``), an event as its flat Clowder object. The file is opened for
/// appending and each write is flushed, so `tail -f` sees whole lines.
final class JSONLinesOutput: @unchecked Sendable {
    private let fd: Int32
    private let ownsDescriptor: Bool
    let path: String

    /// Opens `path` for appending (creating it, mode 0640), or standard output for `-`.
    /// - Throws: ``RuntimeError`` naming the path and the system's reason.
    init(path: String) throws {
        self.path = path
        if path == "-" {
            fd = STDOUT_FILENO
            ownsDescriptor = false
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard fd >= 0 else {
                throw RuntimeError(.output, "cannot open output file \(path): \(Errno.text(errno))")
            }
            ownsDescriptor = true
        }
    }

    deinit { if ownsDescriptor { close(fd) } }

    /// Writes the points and events, one line each.
    /// - Throws: ``RuntimeError`` when the write fails (disk full, closed pipe).
    func write(points: [Point], events: [ClowderEvent]) throws {
        var bytes: [UInt8] = []
        for p in points {
            bytes.append(contentsOf: p.json.jsonBytes)
            bytes.append(0x0A)
        }
        for e in events {
            bytes.append(contentsOf: e.json.jsonBytes)
            bytes.append(0x0A)
        }
        var offset = 0
        while offset < bytes.count {
            do {
                offset += try syscall("write") { bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) } }
            } catch {
                throw RuntimeError(.output, "cannot write to \(path): \(error.text)")
            }
        }
    }
}
