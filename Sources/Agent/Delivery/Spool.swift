#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import MetricsModel
import Storage
import SystemSupport
import Synchronization

/// The durable queue between the batcher and the forwarder: an SQLite
/// database in WAL mode (https://sqlite.org/wal.html) holding
/// - `batches`: each batch as the exact gzip body to send, oldest first;
/// - `state`: opaque blobs under keys (LogTail checkpoints, the aggregator's
///   snapshot, the batcher's open batch), written in the **same transaction**
///   as the batches that hold the lines they account for;
/// - `dead_letters`: batches the ingest refused for good (4xx other than 408/429).
///
/// **Bound.** Pages in use (page count − free pages, × page size) never exceed
/// `maxBytes` after a commit: before inserting, the oldest batches are dropped
/// (and counted) until the new ones fit; the file itself is shrunk with
/// `incremental_vacuum` (`auto_vacuum=INCREMENTAL`) when it exceeds the bound.
/// The WAL is checkpointed every ``walLimit`` bytes of log (a quarter of the
/// bound, at most 4 MiB; `wal_autocheckpoint`) and truncated to it
/// (`journal_size_limit`), so the files on disk stay within
/// `maxBytes` + ``walLimit`` (+ one commit while it runs).
///
/// Thread-safe: one connection behind a mutex; the forwarder reads and
/// deletes while the run loop commits.
///
/// ```swift
/// let spool = try Spool(path: "/var/lib/clowder-metrics/spool.db", maxBytes: 64 << 20)
/// let state = try spool.loadState()            // after a restart: checkpoints, snapshots
/// try spool.commit(batches: closed, state: [.logTail(source: ""): checkpoints, .pipeline(source: ""): snapshot])
/// ```
public final class Spool: Sendable {
    /// The database file.
    public let path: String
    /// The bound, bytes (`CLOWDER_METRICS_SPOOL_MAX_BYTES`).
    public let maxBytes: Int64
    /// Counters updated here: spooled, dropped, spool bytes and batches.
    public let stats: DeliveryStats
    /// Dead letters kept at most (oldest removed first).
    public let maxDeadLetters = 1000
    /// The WAL is checkpointed and truncated beyond this many bytes:
    /// a quarter of the bound, at most 4 MiB (SQLite's default checkpoint size).
    public var walLimit: Int64 { min(maxBytes / 4, 4 << 20) }

    private let db: Mutex<SQLiteDatabase>
    private let observers = Mutex<[@Sendable () -> Void]>([])

    /// Opens or creates the spool.
    /// - Parameters:
    ///   - path: database file; its directory must exist.
    ///   - maxBytes: the bound, bytes (at least 64 KiB).
    ///   - stats: counters to update (shared with the forwarder).
    /// - Throws: ``DeliveryError`` `.spool` naming the file and SQLite's message.
    public init(path: String, maxBytes: Int64, stats: DeliveryStats = DeliveryStats()) throws(DeliveryError) {
        self.path = path
        self.maxBytes = max(maxBytes, 64 << 10)
        self.stats = stats
        do {
            let db = try SQLiteDatabase(path: path)
            let walLimit = min(self.maxBytes / 4, 4 << 20)
            let walPages = max(16, walLimit / 4096)
            try db.execute(
                """
                PRAGMA auto_vacuum=INCREMENTAL;
                PRAGMA wal_autocheckpoint=\(walPages);
                PRAGMA journal_size_limit=\(walLimit);
                CREATE TABLE IF NOT EXISTS batches (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    created_ms INTEGER NOT NULL,
                    items INTEGER NOT NULL,
                    body BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS dead_letters (
                    seq INTEGER PRIMARY KEY,
                    id TEXT NOT NULL,
                    created_ms INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    status INTEGER NOT NULL,
                    problem TEXT NOT NULL,
                    dead_at_ms INTEGER NOT NULL);
                """)
            self.db = Mutex(db)
        } catch {
            throw DeliveryError(.spool, "cannot open spool \(path)", underlying: error)
        }
        try refreshGauges()
    }

    /// Calls `observer` after every commit that added batches (the forwarder wakes up).
    public func onCommit(_ observer: @escaping @Sendable () -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Writes `batches` (gzip-compressed, in order) and the `state` blobs in one
    /// transaction: after a crash either all of it is there or none. Drops the
    /// oldest spooled batches first if the new ones would not fit the bound
    /// (``DeliveryStats/batchesDropped``); a batch larger than the whole bound is dropped itself.
    /// - Parameters:
    ///   - batches: closed batches, oldest first; may be empty (state only).
    ///   - state: key (``StateKey``) → blob, replacing the stored blob of each key given.
    /// - Returns: the ids of batches dropped to make room.
    /// - Throws: ``DeliveryError`` (`.spool` for SQLite, `.compression` for zlib);
    ///   nothing is written then.
    @discardableResult
    public func commit(batches: [Batch], state: [StateKey: [UInt8]]) throws(DeliveryError) -> [String] {
        var bodies: [(batch: Batch, body: [UInt8])] = []
        bodies.reserveCapacity(batches.count)
        for b in batches {
            do { bodies.append((b, try Gzip.compress(b.jsonBytes))) } catch {
                throw DeliveryError(.compression, underlying: error)
            }
        }
        let dropped: [String]
        do {
            dropped = try db.withLock { db in
                let dropped = try db.transaction {
                    for (key, value) in state.sorted(by: { $0.key < $1.key }) {
                        try db.run(
                            "INSERT INTO state(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                            .text(key.rawValue), .blob(value))
                    }
                    let incoming = bodies.reduce(Int64(0)) { $0 + Self.estimate($1.body.count) }
                    var dropped = try Self.makeRoom(db, for: incoming, within: maxBytes)
                    for (b, body) in bodies {
                        try db.run(
                            "INSERT INTO batches(id, created_ms, items, body) VALUES(?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                            .text(b.id), .integer(b.created), .integer(Int64(b.points.count + b.events.count)), .blob(body))
                    }
                    // The estimate is close but not exact (B-tree pages): settle it.
                    dropped += try Self.makeRoom(db, for: 0, within: maxBytes)
                    return dropped
                }
                try shrinkIfNeeded(db)
                return dropped
            }
        } catch let e as DeliveryError {
            throw e
        } catch {
            throw DeliveryError(.spool, "commit to \(path) failed", underlying: error)
        }
        stats.batchesSpooled.wrappingAdd(Int64(batches.count), ordering: .relaxed)
        stats.batchesDropped.wrappingAdd(Int64(dropped.count), ordering: .relaxed)
        try refreshGauges()
        if !batches.isEmpty {
            for o in observers.withLock({ $0 }) { o() }
        }
        return dropped
    }

    /// Every state blob, by key, as last committed.
    /// - Throws: ``DeliveryError`` `.spool`.
    public func loadState() throws(DeliveryError) -> [StateKey: [UInt8]] {
        try withDB("load state") { db in
            var out: [StateKey: [UInt8]] = [:]
            for row in try db.query("SELECT key, value FROM state") {
                if let k = row[0].text { out[StateKey(rawValue: k)] = row[1].blob ?? [] }
            }
            return out
        }
    }

    /// The oldest spooled batch, or nil when the spool is empty.
    /// - Throws: ``DeliveryError`` `.spool`.
    public func oldest() throws(DeliveryError) -> SpooledBatch? {
        try withDB("read oldest") { db in
            let rows = try db.query("SELECT seq, id, created_ms, items, body FROM batches ORDER BY seq LIMIT 1")
            guard let r = rows.first else { return nil }
            return SpooledBatch(
                sequence: r[0].integer ?? 0, id: r[1].text ?? "", created: r[2].integer ?? 0,
                items: Int(r[3].integer ?? 0), body: r[4].blob ?? [])
        }
    }

    /// Removes a batch the ingest accepted. Removing one already gone (dropped) is not an error.
    /// - Throws: ``DeliveryError`` `.spool`.
    public func remove(_ batch: SpooledBatch) throws(DeliveryError) {
        try withDB("remove \(batch.id)") { db in _ = try db.run("DELETE FROM batches WHERE seq = ?", .integer(batch.sequence)) }
        try refreshGauges()
    }

    /// Moves a refused batch to `dead_letters` with the HTTP status and the
    /// server's problem detail (RFC 9457), in one transaction.
    /// - Throws: ``DeliveryError`` `.spool`.
    public func deadLetter(_ batch: SpooledBatch, status: Int, problem: String) throws(DeliveryError) {
        try withDB("dead-letter \(batch.id)") { db in
            try db.transaction {
                let n = try db.run("DELETE FROM batches WHERE seq = ?", .integer(batch.sequence))
                guard n > 0 else { return }
                try db.run(
                    "INSERT INTO dead_letters(id, created_ms, body, status, problem, dead_at_ms) VALUES(?, ?, ?, ?, ?, ?)",
                    .text(batch.id), .integer(batch.created), .blob(batch.body), .integer(Int64(status)), .text(problem),
                    .integer(Int64(Date().timeIntervalSince1970 * 1000)))
                try db.run(
                    "DELETE FROM dead_letters WHERE seq <= (SELECT max(seq) FROM dead_letters) - ?",
                    .integer(Int64(maxDeadLetters)))
            }
        }
        try refreshGauges()
    }

    /// The dead letters, oldest first.
    /// - Throws: ``DeliveryError`` `.spool`.
    public func deadLetters() throws(DeliveryError) -> [DeadLetter] {
        try withDB("read dead letters") { db in
            try db.query("SELECT id, created_ms, status, problem, dead_at_ms FROM dead_letters ORDER BY seq").map {
                DeadLetter(
                    id: $0[0].text ?? "", created: $0[1].integer ?? 0, status: Int($0[2].integer ?? 0),
                    problem: $0[3].text ?? "", deadAt: $0[4].integer ?? 0)
            }
        }
    }

    /// Batches waiting.
    /// - Throws: ``DeliveryError`` `.spool`.
    public func count() throws(DeliveryError) -> Int {
        try withDB("count") { db in Int(try db.query("SELECT count(*) FROM batches")[0][0].integer ?? 0) }
    }

    /// The ids of the waiting batches, oldest first.
    /// - Throws: ``DeliveryError`` `.spool`.
    package func batchIDs() throws(DeliveryError) -> [String] {
        try withDB("list") { db in try db.query("SELECT id FROM batches ORDER BY seq").compactMap { $0[0].text } }
    }

    /// Size of the database file plus its WAL on disk, bytes.
    public func diskBytes() -> Int64 { Self.fileSize(path) + Self.fileSize(path + "-wal") }

    /// Copies the WAL into the database and truncates it (`wal_checkpoint(TRUNCATE)`).
    /// - Throws: ``DeliveryError`` `.spool`.
    public func checkpoint() throws(DeliveryError) {
        try withDB("checkpoint") { db in try db.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    // MARK: - Internals

    private func withDB<T: Sendable>(_ what: String, _ body: (SQLiteDatabase) throws -> T) throws(DeliveryError) -> T {
        do {
            return try db.withLock { try body($0) }
        } catch {
            throw DeliveryError(.spool, "\(what) in \(path) failed", underlying: error)
        }
    }

    private func refreshGauges() throws(DeliveryError) {
        stats.spoolBatches.store(Int64(try count()), ordering: .relaxed)
        stats.spoolBytes.store(diskBytes(), ordering: .relaxed)
    }

    /// Pages an insert of `n` body bytes needs, as bytes: the row and its
    /// overflow pages (about 4 KiB each), rounded up to whole pages.
    static func estimate(_ n: Int) -> Int64 { Int64((n + 200 + 4000) / 4000) * 4096 }

    static func pragma(_ db: SQLiteDatabase, _ name: String) throws -> Int64 {
        try db.query("PRAGMA \(name)").first?.first?.integer ?? 0
    }

    static func usedBytes(_ db: SQLiteDatabase) throws -> Int64 {
        let pages = try pragma(db, "page_count") - pragma(db, "freelist_count")
        return try pages * pragma(db, "page_size")
    }

    /// Deletes the oldest batches (then, with none left, the oldest dead
    /// letters) until `incoming` more bytes fit within `limit`.
    /// - Returns: the ids of the batches deleted.
    static func makeRoom(_ db: SQLiteDatabase, for incoming: Int64, within limit: Int64) throws -> [String] {
        var dropped: [String] = []
        while try usedBytes(db) + incoming > limit {
            if let r = try db.query("SELECT seq, id FROM batches ORDER BY seq LIMIT 1").first {
                try db.run("DELETE FROM batches WHERE seq = ?", r[0])
                dropped.append(r[1].text ?? "")
            } else if let r = try db.query("SELECT seq FROM dead_letters ORDER BY seq LIMIT 1").first {
                try db.run("DELETE FROM dead_letters WHERE seq = ?", r[0])
            } else {
                break
            }
        }
        return dropped
    }

    /// Gives free pages back to the file system when the file exceeds the
    /// bound, and truncates a WAL grown past its limit.
    private func shrinkIfNeeded(_ db: SQLiteDatabase) throws {
        let pageSize = try Self.pragma(db, "page_size")
        if try Self.pragma(db, "page_count") * pageSize > maxBytes {
            try db.execute("PRAGMA incremental_vacuum")
        }
        if Self.fileSize(path + "-wal") > walLimit {
            try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    static func fileSize(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }
}

/// A batch waiting in the spool.
public struct SpooledBatch: Sendable, Hashable {
    /// Position in the spool (SQLite rowid); smaller is older.
    public var sequence: Int64
    /// The batch id (sent as `Idempotency-Key`).
    public var id: String
    /// When the batch was closed, epoch milliseconds.
    public var created: Int64
    /// Points and events in it.
    public var items: Int
    /// The gzip-compressed JSON body, exactly as sent.
    public var body: [UInt8]
}

/// A batch the ingest refused for good.
public struct DeadLetter: Sendable, Hashable {
    /// The batch id.
    public var id: String
    /// When the batch was closed, epoch milliseconds.
    public var created: Int64
    /// The HTTP status the ingest answered.
    public var status: Int
    /// The problem detail (RFC 9457) or body the ingest sent, as text.
    public var problem: String
    /// When it was dead-lettered, epoch milliseconds.
    public var deadAt: Int64
}
