#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole small files read through the ``syscall(_:_:)`` funnel: settings files, keys files,
/// secret files and NGINX configuration; `read(2)` is retried on `EINTR`.
package enum FileContents {
    /// Why a file could not be read whole.
    package enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// `open` or `read` failed.
        case system(Errno)
        /// The file is longer than the limit, in bytes.
        case tooLarge(limit: Int)

        /// The system's text (`No such file or directory`) or `larger than N bytes`.
        package var description: String {
            switch self {
            case .system(let e): e.text
            case .tooLarge(let limit): "larger than \(limit) bytes"
            }
        }
    }

    /// The bytes of the file at `path`.
    /// - Parameters:
    ///   - path: the file's path.
    ///   - limit: most bytes accepted (default 16 MiB).
    /// - Throws: ``Failure`` `.system` (with `open` or `read`) or `.tooLarge`.
    package static func read(_ path: String, limit: Int = 16 << 20) throws(Failure) -> [UInt8] {
        let fd: Int32
        do { fd = try syscall("open") { open(path, O_RDONLY | O_CLOEXEC) } } catch { throw .system(error) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n: Int
            do {
                n = try syscall("read") { chunk.withUnsafeMutableBytes { readFD(fd, $0.baseAddress, $0.count) } }
            } catch { throw .system(error) }
            if n == 0 { return bytes }
            guard bytes.count + n <= limit else { throw .tooLarge(limit: limit) }
            bytes += chunk[0..<n]
        }
    }

    /// A secret held in a file (an API key, a password, a token): the file's bytes without
    /// trailing spaces, tabs, CR and LF (so `echo secret > file` works).
    /// - Parameters:
    ///   - path: the file's path.
    ///   - limit: most bytes accepted (default 64 KiB).
    /// - Returns: the secret; empty when the file holds only whitespace (the caller words that).
    /// - Throws: ``Failure``.
    package static func secret(_ path: String, limit: Int = 64 << 10) throws(Failure) -> [UInt8] {
        var bytes = try read(path, limit: limit)
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 || last == 0x09 { bytes.removeLast() }
        return bytes
    }

    /// `read(2)` (named apart from ``read(_:limit:)``).
    private static func readFD(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(fd, buffer, count)
        #elseif canImport(Musl)
        Musl.read(fd, buffer, count)
        #else
        Darwin.read(fd, buffer, count)
        #endif
    }
}
