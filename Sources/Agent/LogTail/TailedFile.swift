#if canImport(Glibc)
import Glibc
#endif

/// One open file followed by a ``LogTail``: its descriptor, identity,
/// position and the incomplete line read so far.
final class TailedFile {
    /// What LogTail does with the file.
    enum Role {
        /// Read as it grows.
        case followed
        /// A copy of `original` (copytruncate's `access.log.1`): not read
        /// unless the original is truncated or closed; then read from where
        /// the original stood, so lines written just before the truncation are kept.
        case copy(of: TailedFile)
    }

    /// How bytes are treated until the next newline.
    enum Mode {
        /// Collecting a line.
        case normal
        /// The line passed `maxLineLength`: its first bytes are held in
        /// `carry`, the rest is skipped until the newline.
        case overlong
        /// Started at the end of a file in the middle of a line: skip its rest.
        case skipping
    }

    let fd: Int32
    let device: UInt64
    let inode: UInt64
    /// The path it was last seen at.
    var path: String
    var role: Role
    /// The first bytes (up to `Fingerprint.maxLength`): the fingerprint source.
    var prefix: [UInt8]
    /// Next byte to read.
    var readOffset: Int64
    /// End of the last complete line handed out: the checkpoint.
    var lineOffset: Int64
    /// Bytes of the incomplete line (or the held start of an over-long line).
    var carry: [UInt8] = []
    var mode: Mode = .normal
    /// Size and modification time at the last check, to notice a rewrite.
    var lastSize: Int64 = -1
    var lastModified: Int64 = -1
    /// Whether a watched path led to this file at the last poll.
    var atWatchedPath = true
    /// When the file last grew (or left its path): closes it after `rotateWait`.
    var lastActivity: ContinuousClock.Instant
    /// The inotify watch on the file, or -1.
    var watch: Int32 = -1
    /// Whether `maxBytesPerFilePerPoll` stopped the last read before the end.
    var hasBacklog = false

    init(fd: Int32, status: FileSystem.Status, path: String, prefix: [UInt8], offset: Int64, role: Role) {
        self.fd = fd
        self.device = status.device
        self.inode = status.inode
        self.path = path
        self.prefix = prefix
        self.readOffset = offset
        self.lineOffset = offset
        self.role = role
        self.lastActivity = .now
    }

    deinit { close(fd) }

    var checkpoint: FileCheckpoint {
        FileCheckpoint(device: device, inode: inode, fingerprintLength: prefix.count,
                       fingerprint: Fingerprint.hash(prefix), offset: lineOffset, path: path)
    }

    /// Forgets the position: read again from `offset` on the next poll.
    func restart(at offset: Int64) {
        readOffset = offset
        lineOffset = offset
        carry.removeAll(keepingCapacity: true)
        mode = .normal
    }

    /// Reads what was appended since the last call and hands each complete
    /// line to `body`. On a throw from `body`, the position goes back to the
    /// start of the line that was refused, so it is handed out again next time.
    /// - Returns: the number of lines handed out.
    func readLines(
        buffer: UnsafeMutableRawBufferPointer,
        options: LogTailOptions,
        stats: inout LogTailStats,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        let limit = options.maxLineLength
        let newline = Int32(UInt8(ascii: "\n"))
        let base = buffer.baseAddress!
        var lines = 0
        var budget = options.maxBytesPerFilePerPoll
        hasBacklog = false
        while budget > 0 {
            // The incomplete line goes first, so a line is always contiguous.
            var filled = 0
            if mode == .normal && !carry.isEmpty {
                carry.withUnsafeBytes { buffer.copyMemory(from: $0) }
                filled = carry.count
                carry.removeAll(keepingCapacity: true)
            }
            let want = min(buffer.count - filled, Int(clamping: budget))
            let n = FileSystem.read(fd, into: base + filled, count: want, at: readOffset)
            if n <= 0 {
                if n < 0 { stats.openErrors += 1 }
                // Keep the incomplete line for the next poll.
                if filled > 0 { carry.append(contentsOf: UnsafeRawBufferPointer(start: base, count: filled)) }
                break
            }
            let dataStart = filled           // buffer index of the byte at `readOffset`
            let fileBase = readOffset - Int64(dataStart)
            readOffset += Int64(n)
            budget -= Int64(n)
            lastActivity = .now
            let end = filled + n
            var lineStart = 0
            var cursor = dataStart
            while cursor < end {
                guard let hit = memchr(base + cursor, newline, end - cursor) else { break }
                let nl = base.distance(to: UnsafeMutableRawPointer(hit))
                let nextOffset = fileBase + Int64(nl + 1)
                switch mode {
                case .normal:
                    let length = nl - lineStart
                    if length > limit {
                        noteOverlong(start: UnsafeRawBufferPointer(start: base + lineStart, count: limit),
                                     offset: fileBase + Int64(lineStart), stats: &stats)
                    }
                    try emit(UnsafeRawBufferPointer(start: base + lineStart, count: min(length, limit)),
                             next: nextOffset, stats: &stats, body)
                    lines += 1
                case .overlong:
                    let held = carry
                    carry.removeAll(keepingCapacity: true)
                    mode = .normal
                    try held.withUnsafeBytes { held in
                        noteOverlong(start: held, offset: lineOffset, stats: &stats)
                        try emit(held, next: nextOffset, stats: &stats, body)
                    }
                    lines += 1
                case .skipping:
                    mode = .normal
                    stats.bytes += nextOffset - lineOffset
                    lineOffset = nextOffset
                }
                lineStart = nl + 1
                cursor = nl + 1
            }
            // What is left has no newline yet.
            if mode == .normal && lineStart < end {
                let rest = end - lineStart
                if rest > limit {
                    carry.append(contentsOf: UnsafeRawBufferPointer(start: base + lineStart, count: limit))
                    mode = .overlong
                } else {
                    carry.append(contentsOf: UnsafeRawBufferPointer(start: base + lineStart, count: rest))
                }
            }
            if n < want { break }            // reached the end of the file
        }
        if budget <= 0 { hasBacklog = true }
        return lines
    }

    private func emit(
        _ line: UnsafeRawBufferPointer, next: Int64, stats: inout LogTailStats,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        do {
            try body(line)
        } catch {
            restart(at: lineOffset)
            throw error
        }
        stats.lines += 1
        stats.bytes += next - lineOffset
        lineOffset = next
    }

    private func noteOverlong(start: UnsafeRawBufferPointer, offset: Int64, stats: inout LogTailStats) {
        stats.overlongLines += 1
        if stats.overlongLineSamples.count < 5 {
            stats.overlongLineSamples.append(.init(path: path, offset: offset, start: Array(start.prefix(256))))
        }
    }
}
