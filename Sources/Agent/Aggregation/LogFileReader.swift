#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file's lines with large `read(2)` calls into one reusable buffer; no `String` per line.
enum LogFileReader {
    /// Calls `body` with each line (without `\n`; a final line without `\n` included).
    /// - Throws: ``AggregationError`` `.file` with the path and `strerror` when the file cannot be opened or read.
    static func forEachLine(path: String, chunk: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AggregationError(.file, "cannot open \(path): \(String(cString: strerror(errno)))", key: path)
        }
        defer { close(fd) }
        var capacity = chunk
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var filled = 0
        while true {
            if filled == capacity {
                // A line longer than the buffer: grow it.
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
                bigger.copyMemory(from: buffer, byteCount: filled)
                buffer.deallocate()
                buffer = bigger
                capacity *= 2
            }
            let n = read(fd, buffer + filled, capacity - filled)
            if n < 0 {
                if errno == EINTR { continue }
                throw AggregationError(.file, "cannot read \(path): \(String(cString: strerror(errno)))", key: path)
            }
            if n == 0 {
                if filled > 0 { body(UnsafeRawBufferPointer(start: buffer, count: filled)) }
                return
            }
            let end = filled + n
            var start = 0
            while start < end, let nl = memchr(buffer + start, 0x0A, end - start) {
                let lineEnd = buffer.distance(to: nl)
                body(UnsafeRawBufferPointer(start: buffer + start, count: lineEnd - start))
                start = lineEnd + 1
            }
            filled = end - start
            if filled > 0, start > 0 { memmove(buffer, buffer + start, filled) }
        }
    }
}
