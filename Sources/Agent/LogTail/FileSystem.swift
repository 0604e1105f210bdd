#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// The few POSIX calls LogTail makes (`stat`, `open`, `pread`, `glob`,
/// `readdir`), each returning `errno` instead of throwing, so the caller
/// decides whether a failure is fatal (at the start) or counted (later).
/// Failures are SystemSupport's ``Errno`` (the call's name and `errno`).
enum FileSystem {

    /// What LogTail needs from `struct stat`.
    struct Status: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        /// `st_mtim` in nanoseconds.
        var modified: Int64
        /// Hard links; 0 once the file is deleted (still open).
        var links: UInt64
        var isRegular: Bool
        var isDirectory: Bool

        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
            links = UInt64(st.st_nlink)
            isRegular = (st.st_mode & S_IFMT) == S_IFREG
            isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        }
    }

    static func status(path: String) -> Result<Status, Errno> {
        var st = stat()
        return stat(path, &st) == 0 ? .success(Status(st)) : .failure(.current("stat"))
    }

    static func status(fd: Int32) -> Result<Status, Errno> {
        var st = stat()
        return fstat(fd, &st) == 0 ? .success(Status(st)) : .failure(.current("fstat"))
    }

    /// `open(path, O_RDONLY | O_CLOEXEC)`.
    static func openForReading(_ path: String) -> Result<Int32, Errno> {
        Result { () throws(Errno) in try syscall("open") { open(path, O_RDONLY | O_CLOEXEC) } }
    }

    /// `pread(2)`, retried on `EINTR`. Returns bytes read (0 at the end) or `-errno`.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) -> Int {
        do { return try syscall("pread") { pread(fd, buffer, count, off_t(offset)) } } catch { return -Int(error.code) }
    }

    /// Up to `count` first bytes of the file (fewer when it is shorter).
    static func firstBytes(_ fd: Int32, count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        bytes.withUnsafeMutableBytes { raw in
            while got < count {
                let n = read(fd, into: raw.baseAddress! + got, count: count - got, at: Int64(got))
                if n <= 0 { break }
                got += n
            }
        }
        bytes.removeLast(count - got)
        return bytes
    }

    /// The byte at `offset`, or nil when there is none.
    static func byte(_ fd: Int32, at offset: Int64) -> UInt8? {
        var b: UInt8 = 0
        return read(fd, into: &b, count: 1, at: offset) == 1 ? b : nil
    }

    /// Whether `s` has a `glob(7)` wildcard (`*`, `?`, `[`).
    static func hasWildcard(_ s: String) -> Bool {
        s.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }
    }

    /// The part of `path` before its last `/` (`.` when none, `/` for the root).
    static func directory(of path: String) -> String {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == 0 { return "/" }
        return String(decoding: bytes[..<slash], as: UTF8.self)
    }

    /// The leading directory of a glob pattern that has no wildcard in it
    /// (`/var/log/nginx` for `/var/log/nginx/*.log`).
    static func fixedDirectory(ofPattern pattern: String) -> String {
        var dir = directory(of: pattern)
        while hasWildcard(dir) { dir = directory(of: dir) }
        return dir
    }

    /// `glob(3)` matches, sorted. Returns `errno`-like failure only for read errors
    /// (`GLOB_ABORTED`); no match gives an empty list.
    static func expand(_ pattern: String) -> Result<[String], Errno> {
        var g = glob_t()
        defer { globfree(&g) }
        let rc = glob(pattern, 0, nil, &g)
        switch rc {
        case 0:
            var paths: [String] = []
            paths.reserveCapacity(Int(g.gl_pathc))
            for i in 0..<Int(g.gl_pathc) {
                if let p = g.gl_pathv[i] { paths.append(String(cString: p)) }
            }
            return .success(paths)
        case GLOB_NOMATCH:
            return .success([])
        case GLOB_NOSPACE:
            return .failure(Errno(code: ENOMEM, function: "glob"))
        default:
            return .failure(Errno(code: EIO, function: "glob"))
        }
    }

    /// Names of the entries of a directory (without `.` and `..`), or empty when it cannot be read.
    static func entries(of directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
