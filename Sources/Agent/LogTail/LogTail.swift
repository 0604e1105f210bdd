#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// Follows log files (NGINX access logs) through rotation and hands out each
/// complete line once, as raw bytes.
///
/// Paths may be globs (`/var/log/nginx/*.log`, `glob(7)`), expanded again at
/// every poll so files that appear later are followed from their start. A file
/// is identified by device, inode and a fingerprint of its first bytes (see
/// ``FileCheckpoint``), never by its path, which gives:
/// - **rename rotation** (`mv access.log access.log.1; kill -USR1 $nginx`): the
///   old descriptor is read to its end and kept for ``LogTailOptions/rotateWait``
///   after it stopped growing, while the new `access.log` is read from its start;
/// - **copytruncate**: a file found shorter than the position read, or whose
///   first bytes changed (refilled past the old position between two polls),
///   is read again from 0 and counted in ``LogTailStats/truncations``. When the
///   copy (`access.log.1`) is itself matched by a watched path, it is recognised
///   by its first bytes and read from where the original stood, so the lines
///   written between the last poll and the truncation are not lost;
/// - **delete and re-create** (`rm access.log; kill -USR1`): as rename rotation;
/// - **inode reuse**: a file with a known inode but other first bytes is a new file.
///
/// Sources: NGINX, "Controlling nginx", *Rotating Log-files*
/// (https://nginx.org/en/docs/control.html#logs: rename, then `USR1`, workers
/// reopen); logrotate(8) `create` and `copytruncate`; inotify(7).
///
/// A line is handed out only once its newline has arrived, without the
/// newline; a line longer than ``LogTailOptions/maxLineLength`` is cut to that
/// length, counted and sampled (``LogTailStats/overlongLines``). Reading is by
/// large `pread(2)` calls into one reusable buffer; lines are views into it,
/// valid only during the closure call (no `String`, no allocation per line).
///
/// **Exactly once.** ``checkpoints`` always describes exactly the lines already
/// handed to the closure, including after a throw from it (the refused line is
/// handed out again at the next poll). Snapshot your own state and
/// ``checkpoints`` (or ``checkpointData()``) at the same moment between polls and
/// store them in one transaction; a new `LogTail` made from them resumes each
/// file after its last line, also when rotation renamed it meanwhile (the
/// directories of the watched paths are searched for it). Commit also in the
/// `onNewFiles` closure of ``poll(onNewFiles:_:)``: the starting position of a
/// file (its end at a first start, or 0) is then stored before any of its
/// lines is consumed, so "first start" happens once per file.
///
/// **Choices and limits.**
/// - An over-long line is cut, not dropped: the parser still sees (and counts,
///   usually as malformed) a request that happened.
/// - A file is taken for a copy of another when its first bytes (at least 64,
///   up to 256) equal those of a followed file; NGINX lines carry a timestamp,
///   so unrelated logs do not start alike.
/// - copytruncate loses the lines written between the last poll and the
///   truncation unless the copy is itself matched by a watched path (logrotate
///   documents the same window for its own copy). A truncation followed by a
///   rewrite of exactly the same first bytes cannot be told from growth.
/// - Overwriting a followed copy in place (`cp access.log access.log.1` when
///   `access.log.1` exists and is watched) reads it again from 0: logrotate
///   renames old copies before making a new one, which is handled.
/// - Watch live logs only (`access.log`, `/var/log/nginx/*.log`), not their
///   rotations: `access.log*` would also match `access.log.2.gz`, a new file
///   (compressed bytes) that would be read. Rotated files need no pattern:
///   they are followed by descriptor and found again by identity at a restart.
/// - A file found at the very first start in the middle of a line skips to the
///   next newline; NGINX writes whole lines with one `write(2)`, so this is rare.
///
/// Not thread-safe: confine one `LogTail` to one task (it is `@unchecked
/// Sendable` only so it can be handed to that task).
///
/// ```swift
/// let store = try CheckpointStore(database: db)
/// let tail = try LogTail(paths: ["/var/log/nginx/access.log"], options: LogTailOptions(),
///                        checkpoints: try store.load())
/// while running {
///     let n = try tail.poll(onNewFiles: { try db.transaction { try store.save(tail.checkpoints) } }) { line in
///         parser.consume(line)   // line: UnsafeRawBufferPointer
///     }
///     if n == 0 { tail.waitForData(timeout: .seconds(1)) }
///     try db.transaction { try spool.save(batch); try store.save(tail.checkpoints) }
/// }
/// ```
public final class LogTail: @unchecked Sendable {
    /// The paths and glob patterns followed, as given.
    public let paths: [String]
    /// The settings.
    public let options: LogTailOptions

    private var files: [TailedFile] = []
    private let buffer: UnsafeMutableRawBufferPointer
    private let waiter = FileChangeWaiter()
    private var counters = LogTailStats()
    private var lastExpansion = ContinuousClock.now
    private var lastWakeUp = ContinuousClock.now - .seconds(3600)
    /// A file began to be followed since ``poll(onNewFiles:_:)`` last announced one.
    private var unannouncedFiles = false
    /// Longest time between two expansions of the paths while inotify reports nothing.
    static let expansionInterval: Duration = .seconds(1)

    /// Starts following `paths`.
    ///
    /// - Parameters:
    ///   - paths: file paths or `glob(7)` patterns.
    ///   - options: see ``LogTailOptions``.
    ///   - checkpoints: what an earlier `LogTail` consumed (its ``checkpoints``).
    ///     Empty: a first start, files present now are read from their end
    ///     (or start, ``LogTailOptions/startAtBeginning``). Not empty: a restart,
    ///     each file matching a checkpoint resumes at its offset and every
    ///     other file is read from its start.
    /// - Throws: ``LogTailError`` naming the path and the `errno` text when a
    ///   plain path cannot be opened or is not a regular file, or when the folder
    ///   of a plain path or the fixed directory of a glob pattern cannot be read.
    ///   A plain path whose folder exists but which does not exist yet is waited
    ///   for, and read from its start when it appears.
    public convenience init(paths: [String], options: LogTailOptions = LogTailOptions(), checkpoints: [FileCheckpoint] = []) throws {
        try self.init(paths: paths, options: options, checkpoints: checkpoints, restart: !checkpoints.isEmpty)
    }

    /// Starts from checkpoints encoded by ``checkpointData()``.
    ///
    /// Empty `checkpointData` (nothing saved yet) is a first start. Data that
    /// holds no checkpoint (saved while no file existed) is a restart: files
    /// found now appeared while the tail was stopped and are read from their start.
    /// - Throws: ``LogTailError`` (bad data, or as ``init(paths:options:checkpoints:)``).
    public convenience init(paths: [String], options: LogTailOptions = LogTailOptions(), checkpointData: [UInt8]) throws {
        try self.init(paths: paths, options: options, checkpoints: FileCheckpoint.decode(checkpointData),
                      restart: !checkpointData.isEmpty)
    }

    private init(paths: [String], options: LogTailOptions, checkpoints: [FileCheckpoint], restart: Bool) throws {
        self.paths = paths
        var options = options
        options.maxLineLength = max(1, options.maxLineLength)
        options.readBufferSize = max(4096, options.readBufferSize)
        options.maxBytesPerFilePerPoll = max(1, options.maxBytesPerFilePerPoll)
        self.options = options
        buffer = .allocate(byteCount: options.readBufferSize + options.maxLineLength, alignment: 16)
        // On a throw, deinit still runs (self is fully initialised): it frees the buffer.
        try refresh(start: true, checkpoints: checkpoints, restart: restart)
    }

    deinit {
        for f in files { waiter.unwatch(f.watch) }
        files.removeAll()
        buffer.deallocate()
    }

    /// Reads everything appended since the last poll, handing each complete
    /// line (without its newline) to `body`, file after file.
    ///
    /// The buffer passed to `body` is valid only during the call. When `body`
    /// throws, polling stops, the refused line is handed out again at the next
    /// poll, and ``checkpoints`` covers exactly the lines before it.
    ///
    /// **First positions.** `onNewFiles` is called before any line is handed out
    /// whenever a file began to be followed since its last call (the files found
    /// by `init`, a file that appeared later and is read from its start, a copy
    /// that took over): ``checkpoints`` then holds the new file at its starting
    /// offset and no line of it has been handed out. Commit the checkpoints there,
    /// so that a crash before the next commit resumes from that position instead
    /// of being a first start again (which would skip to the file's end). When
    /// `onNewFiles` throws, nothing is read and it is called again at the next poll.
    /// - Returns: the number of lines handed out (0: nothing new).
    /// - Throws: only what `onNewFiles` or `body` throws.
    @discardableResult
    public func poll(
        onNewFiles: (() throws -> Void)? = nil, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        try? refresh(start: false, checkpoints: [], restart: false)
        if unannouncedFiles, let onNewFiles {
            try onNewFiles()
            unannouncedFiles = false
        }
        var count = 0
        for file in files {
            guard case .followed = file.role else { continue }
            checkRewrite(file)
            count += try file.readLines(buffer: buffer, options: options, stats: &counters, body)
        }
        closeFinished()
        return count
    }

    /// Sleeps until a watched file or directory changes (inotify) or `timeout`
    /// passes; returns at once when the last poll left data unread
    /// (``LogTailOptions/maxBytesPerFilePerPoll``). Call it when ``poll(_:)``
    /// returned 0. An idle tail uses no CPU while waiting.
    ///
    /// It returns no sooner than ``LogTailOptions/minimumPollInterval`` after
    /// its previous return, so a busy log is read in chunks rather than line
    /// by line (changes in between are not missed: inotify queues them).
    public func waitForData(timeout: Duration) {
        defer { lastWakeUp = .now }
        if files.contains(where: { $0.hasBacklog }) { return }
        let start = ContinuousClock.now
        let earliest = lastWakeUp + options.minimumPollInterval
        if start < earliest {
            FileChangeWaiter.sleep(min(earliest - start, timeout))
        }
        let left = timeout - (ContinuousClock.now - start)
        waiter.wait(timeout: max(left, .zero))
    }

    /// For each followed file, its identity and the offset just past the last
    /// line handed out (copies not needed yet are left out).
    public var checkpoints: [FileCheckpoint] {
        files.compactMap { if case .followed = $0.role { $0.checkpoint } else { nil } }
    }

    /// ``checkpoints`` in the compact encoding of ``FileCheckpoint/encode(_:)``.
    public func checkpointData() -> [UInt8] {
        FileCheckpoint.encode(checkpoints)
    }

    /// Counters since this `LogTail` was created.
    public var stats: LogTailStats {
        var s = counters
        s.filesOpen = files.count
        return s
    }

    // MARK: Finding files

    private struct Found {
        var path: String
        var status: FileSystem.Status
    }

    private struct NewFile {
        var fd: Int32
        var status: FileSystem.Status
        var path: String
        var prefix: [UInt8]
    }

    /// Expands the paths, notes which followed files are still at a watched
    /// path (and which left it: rotation), and opens and classifies new files.
    /// Throws only at the start (`start`), for the configured paths themselves.
    private func refresh(start: Bool, checkpoints: [FileCheckpoint], restart: Bool) throws {
        // Expanding the paths costs a directory read and a stat per file: do it only
        // when inotify saw entries change, at least every second, or without inotify.
        waiter.drain()
        let now = ContinuousClock.now
        guard start || waiter.entriesChanged || !waiter.usesInotify || now - lastExpansion >= Self.expansionInterval
        else { return }
        waiter.entriesChanged = false
        lastExpansion = now
        var found: [Found] = []
        var directories: [String] = []
        for pattern in paths {
            let wildcard = FileSystem.hasWildcard(pattern)
            let fixed = wildcard ? FileSystem.fixedDirectory(ofPattern: pattern) : FileSystem.directory(of: pattern)
            directories.append(fixed)
            var candidates: [String]
            if wildcard {
                if start {
                    switch FileSystem.status(path: fixed) {
                    case .failure(let e): throw LogTailError(code: .cannotOpen, path: pattern, errno: e.code,
                                                             detail: "directory \(fixed): \(Errno.text(e.code))")
                    case .success(let st) where !st.isDirectory:
                        throw LogTailError(code: .cannotOpen, path: pattern, errno: ENOTDIR,
                                           detail: "\(fixed) is not a directory")
                    default: break
                    }
                }
                switch FileSystem.expand(pattern) {
                case .success(let list): candidates = list
                case .failure(let e):
                    if start { throw LogTailError(code: .cannotOpen, path: pattern, errno: e.code) }
                    counters.openErrors += 1
                    candidates = []
                }
            } else {
                candidates = [pattern]
            }
            for path in candidates {
                switch FileSystem.status(path: path) {
                case .failure(let e):
                    // A plain file not there yet (NGINX has not written its first line, or a sidecar started
                    // first) is waited for, like a glob that matches nothing; its folder must exist.
                    if start && !wildcard && e.code == ENOENT, case .success(let d) = FileSystem.status(path: fixed), d.isDirectory {
                        continue
                    }
                    if start && !wildcard { throw LogTailError(code: .cannotOpen, path: path, errno: e.code) }
                case .success(let st):
                    guard st.isRegular else {
                        if start && !wildcard { throw LogTailError(code: .notARegularFile, path: path) }
                        continue
                    }
                    if !found.contains(where: { $0.status.device == st.device && $0.status.inode == st.inode }) {
                        found.append(Found(path: path, status: st))
                        if wildcard { directories.append(FileSystem.directory(of: path)) }
                    }
                }
            }
        }
        for dir in directories { waiter.watchDirectory(dir) }

        // Which followed files are still at a watched path, under which name.
        for file in files {
            let at = found.first { $0.status.device == file.device && $0.status.inode == file.inode }
            if let at {
                if !file.atWatchedPath || file.path != at.path {
                    if file.atWatchedPath, case .followed = file.role { counters.rotations += 1 }
                    file.path = at.path
                }
                file.atWatchedPath = true
            } else if file.atWatchedPath {
                file.atWatchedPath = false
                file.lastActivity = .now
                if case .followed = file.role { counters.rotations += 1 }
            }
        }

        // Open the new ones.
        var fresh: [NewFile] = []
        for f in found where !files.contains(where: { $0.device == f.status.device && $0.inode == f.status.inode }) {
            switch FileSystem.openForReading(f.path) {
            case .failure(let e):
                if start {
                    for nf in fresh { close(nf.fd) }
                    throw LogTailError(code: .cannotOpen, path: f.path, errno: e.code)
                }
                counters.openErrors += 1
            case .success(let fd):
                guard case .success(let st) = FileSystem.status(fd: fd), st.isRegular,
                      !files.contains(where: { $0.device == st.device && $0.inode == st.inode }),
                      !fresh.contains(where: { $0.status.device == st.device && $0.status.inode == st.inode })
                else {
                    close(fd)
                    continue
                }
                let prefix = FileSystem.firstBytes(fd, count: min(Fingerprint.maxLength, Int(st.size)))
                fresh.append(NewFile(fd: fd, status: st, path: f.path, prefix: prefix))
            }
        }
        if start && !checkpoints.isEmpty {
            resume(fresh: &fresh, checkpoints: checkpoints, directories: directories, found: found)
        }
        for nf in fresh {
            let original = files.first { file in
                guard case .followed = file.role, file.prefix.count >= Fingerprint.minimumForCopy else { return false }
                return nf.prefix.starts(with: file.prefix)
            }
            if let original {
                add(nf, offset: 0, role: .copy(of: original))
            } else if start && !restart && !options.startAtBeginning {
                let file = add(nf, offset: nf.status.size, role: .followed)
                if nf.status.size > 0, FileSystem.byte(nf.fd, at: nf.status.size - 1) != UInt8(ascii: "\n") {
                    file.mode = .skipping
                }
            } else {
                add(nf, offset: 0, role: .followed)
            }
        }
    }

    /// At a restart: matches the new files (and files in the watched
    /// directories that rotation renamed out of the watched paths) to the
    /// checkpoints; what is matched is removed from `fresh`.
    private func resume(fresh: inout [NewFile], checkpoints: [FileCheckpoint], directories: [String], found: [Found]) {
        var open = checkpoints
        func matches(_ prefix: [UInt8], _ c: FileCheckpoint) -> Bool {
            c.fingerprintLength > 0 && prefix.count >= c.fingerprintLength
                && Fingerprint.hash(prefix.prefix(c.fingerprintLength)) == c.fingerprint
        }
        func resumeAt(_ c: FileCheckpoint, size: Int64) -> Int64 {
            if size < c.offset {
                counters.truncations += 1
                return 0
            }
            return c.offset
        }
        // 1. Same device, inode and first bytes: the same file.
        var replaced: [FileCheckpoint] = []
        fresh.removeAll { nf in
            guard let i = open.firstIndex(where: { $0.device == nf.status.device && $0.inode == nf.status.inode })
            else { return false }
            let c = open.remove(at: i)
            if c.fingerprintLength == 0 || matches(nf.prefix, c) {
                add(nf, offset: resumeAt(c, size: nf.status.size), role: .followed)
                return true
            }
            replaced.append(c)   // rewritten in place (copytruncate while stopped) or inode reused
            return false
        }
        // 1b. Same inode and first bytes on a renumbered device (a remount, another
        //     container): the same file, rather than reading it all again.
        fresh.removeAll { nf in
            guard let i = open.firstIndex(where: {
                $0.inode == nf.status.inode && $0.fingerprintLength >= Fingerprint.minimumForCopy && matches(nf.prefix, $0)
            }) else { return false }
            let c = open.remove(at: i)
            add(nf, offset: resumeAt(c, size: nf.status.size), role: .followed)
            return true
        }
        // 2. Other inode, same first bytes: a copy of a file whose inode was rewritten (copytruncate).
        func takeCopy(_ nf: NewFile, atPath: Bool) -> Bool {
            guard let i = replaced.firstIndex(where: {
                $0.fingerprintLength >= Fingerprint.minimumForCopy && matches(nf.prefix, $0)
            }) else { return false }
            let c = replaced.remove(at: i)
            let file = add(nf, offset: min(c.offset, nf.status.size), role: .followed)
            file.atWatchedPath = atPath
            return true
        }
        fresh.removeAll { takeCopy($0, atPath: true) }
        open.removeAll { $0.fingerprintLength == 0 }
        guard !open.isEmpty || !replaced.isEmpty else { return }
        // 3. Files renamed away from the watched paths while stopped: search their directories.
        var seenDirectories: Set<String> = []
        for dir in directories where seenDirectories.insert(dir).inserted {
            for name in FileSystem.entries(of: dir) {
                if open.isEmpty && replaced.isEmpty { return }
                let path = dir == "/" ? "/" + name : dir + "/" + name
                guard case .success(let st) = FileSystem.status(path: path), st.isRegular,
                      !found.contains(where: { $0.status.device == st.device && $0.status.inode == st.inode }),
                      !files.contains(where: { $0.device == st.device && $0.inode == st.inode })
                else { continue }
                let byInode = open.firstIndex { $0.device == st.device && $0.inode == st.inode }
                guard byInode != nil || !replaced.isEmpty else { continue }
                guard case .success(let fd) = FileSystem.openForReading(path) else { continue }
                let prefix = FileSystem.firstBytes(fd, count: min(Fingerprint.maxLength, Int(st.size)))
                let nf = NewFile(fd: fd, status: st, path: path, prefix: prefix)
                if let i = byInode, matches(prefix, open[i]) {
                    let c = open.remove(at: i)
                    let file = add(nf, offset: resumeAt(c, size: st.size), role: .followed)
                    file.atWatchedPath = false
                } else if !takeCopy(nf, atPath: false) {
                    close(fd)
                }
            }
        }
    }

    @discardableResult
    private func add(_ nf: NewFile, offset: Int64, role: TailedFile.Role) -> TailedFile {
        let file = TailedFile(fd: nf.fd, status: nf.status, path: nf.path, prefix: nf.prefix, offset: offset, role: role)
        file.lastSize = nf.status.size
        file.lastModified = nf.status.modified
        file.watch = waiter.watchFile(nf.path)
        files.append(file)
        if case .followed = role { unannouncedFiles = true }
        return file
    }

    // MARK: Changes to followed files

    /// Notices copytruncate: the file is shorter than what was read, or its
    /// first bytes changed. Also lengthens the fingerprint while the file grows.
    private func checkRewrite(_ file: TailedFile) {
        guard case .success(let st) = FileSystem.status(fd: file.fd) else { return }
        guard st.size != file.lastSize || st.modified != file.lastModified else { return }
        file.lastSize = st.size
        file.lastModified = st.modified
        let head = FileSystem.firstBytes(file.fd, count: min(Fingerprint.maxLength, Int(st.size)))
        if st.size >= file.readOffset && head.starts(with: file.prefix) {
            file.prefix = head
            return
        }
        counters.truncations += 1
        activateCopies(of: file)
        file.prefix = head
        file.restart(at: 0)
    }

    /// The original is truncated or closed: its waiting copies are read from
    /// where it stood (the lines between that point and the truncation are in them).
    private func activateCopies(of original: TailedFile) {
        for copy in files {
            guard case .copy(let of) = copy.role, of === original else { continue }
            copy.role = .followed
            unannouncedFiles = true
            let size: Int64
            if case .success(let st) = FileSystem.status(fd: copy.fd) { size = st.size } else { size = 0 }
            copy.restart(at: min(original.lineOffset, size))
        }
    }

    /// Closes files that left their watched path and stopped growing
    /// `rotateWait` ago, and copies that left theirs.
    private func closeFinished() {
        let now = ContinuousClock.now
        var closing: [TailedFile] = []
        for file in files where !file.atWatchedPath {
            switch file.role {
            case .copy:
                closing.append(file)
            case .followed:
                if !file.hasBacklog && now - file.lastActivity >= options.rotateWait {
                    closing.append(file)
                }
            }
        }
        guard !closing.isEmpty else { return }
        for file in closing {
            if case .followed = file.role { activateCopies(of: file) }
            waiter.unwatch(file.watch)
        }
        files.removeAll { f in closing.contains { $0 === f } }
    }
}
