import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemSupport

/// Reads a file's lines with large `read(2)` calls into one reusable buffer; no `String` per line.
/// A gzip-compressed file (a rotated `access.log.2.gz`, known by its magic bytes 1f 8b) is read
/// through zlib's `gzread`.
enum LogFileReader {
    /// Calls `body` with each line (without `\n`; a final line without `\n` included).
    /// - Throws: ``AggregationError`` `.file` with the path and the system's text (or zlib's message) when
    ///   the file cannot be opened, read or decompressed.
    static func forEachLine(path: String, chunk: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AggregationError(.file, "cannot open \(path): \(Errno.text(errno))", key: path)
        }
        var magic: (UInt8, UInt8) = (0, 0)
        let gzipped = pread(fd, &magic, 2, 0) == 2 && magic == (0x1f, 0x8b)
        var gz: gzFile?
        if gzipped {
            gz = gzdopen(fd, "rb")  // owns fd from here on: gzclose closes it
            guard gz != nil else {
                close(fd)
                throw AggregationError(.file, "cannot read \(path) as gzip", key: path)
            }
        }
        defer { if let gz { gzclose(gz) } else { close(fd) } }
        func readMore(_ into: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
            guard let gz else { return read(fd, into, count) }
            let n = gzread(gz, into, UInt32(min(count, Int(Int32.max))))
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(gz, &code).map { String(cString: $0) } ?? "error \(code)"
                throw AggregationError(.file, "cannot decompress \(path): \(message)", key: path)
            }
            return Int(n)
        }
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
            let n = try readMore(buffer + filled, capacity - filled)
            if n < 0 {
                if errno == EINTR { continue }
                throw AggregationError(.file, "cannot read \(path): \(Errno.text(errno))", key: path)
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
