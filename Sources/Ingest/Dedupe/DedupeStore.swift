import Storage
import Synchronization

/// Remembers the `Idempotency-Key`s (batch ids) accepted, per key id, in
/// SQLite, so a repeat by the same key — from a retry, or a replay with a new
/// `created` — answers `duplicate` and publishes nothing, also after a
/// restart. Ids are scoped by the key that sent them: one key's id never makes
/// another key's request a duplicate, and the answer says nothing about other
/// keys' ids (table `accepted_requests`, primary key `(key_id, id)`; the
/// unscoped `accepted_batches` of earlier versions is no longer read).
///
/// Bounded two ways: entries older than `ttl` seconds are deleted, and beyond
/// `maxEntries` the oldest go first. The window must be well beyond the
/// agent's longest retry (default 7 days). De-duplication here is an
/// optimisation: the guarantee is the stores' idempotency on `message_id`
/// (DESIGN.md "Scaling out"), so several replicas need not share this file.
///
/// Thread-safe (one connection behind a lock; each call is a short statement).
public final class DedupeStore: Sendable {
    /// Entry lifetime, seconds.
    public let ttl: Double
    /// Most entries kept.
    public let maxEntries: Int
    private let db: Mutex<SQLiteDatabase>
    private let inserts = Mutex<Int>(0)

    /// Opens (creates) the table `accepted_requests` in the database at `path`.
    /// - Throws: ``IngestError`` `storage`.
    public init(path: String, ttl: Double = 7 * 86400, maxEntries: Int = 1_000_000) throws {
        self.ttl = ttl
        self.maxEntries = maxEntries
        do {
            let d = try SQLiteDatabase(path: path, synchronous: "NORMAL")
            try d.execute(
                """
                CREATE TABLE IF NOT EXISTS accepted_requests (
                    key_id TEXT NOT NULL, id TEXT NOT NULL, accepted_at REAL NOT NULL, messages INTEGER NOT NULL,
                    PRIMARY KEY (key_id, id));
                CREATE INDEX IF NOT EXISTS accepted_requests_at ON accepted_requests (accepted_at);
                """)
            db = Mutex(d)
        } catch {
            throw IngestError(.storage, "de-duplication database \(path)", underlying: error)
        }
    }

    /// True when `keyID` had `id` accepted within the window.
    /// - Throws: ``IngestError`` `storage`.
    public func contains(_ id: String, keyID: String, now: Double) throws -> Bool {
        do {
            return try db.withLock { d in
                let rows = try d.query("SELECT accepted_at FROM accepted_requests WHERE key_id = ? AND id = ?", .text(keyID), .text(id))
                guard let at = rows.first?.first?.real else { return false }
                return now - at <= ttl
            }
        } catch {
            throw IngestError(.storage, "de-duplication lookup", underlying: error)
        }
    }

    /// Records `id` as accepted for `keyID`; every 1000 inserts, expired and surplus entries are deleted.
    /// - Throws: ``IngestError`` `storage`.
    public func record(_ id: String, keyID: String, messages: Int, now: Double) throws {
        let sweep = inserts.withLock { n -> Bool in
            n += 1
            return n % 1000 == 1
        }
        do {
            try db.withLock { d in
                try d.run(
                    "INSERT OR REPLACE INTO accepted_requests (key_id, id, accepted_at, messages) VALUES (?, ?, ?, ?)",
                    .text(keyID), .text(id), .real(now), .integer(Int64(messages)))
                if sweep { try Self.sweep(d, now: now, ttl: ttl, maxEntries: maxEntries) }
            }
        } catch {
            throw IngestError(.storage, "de-duplication insert", underlying: error)
        }
    }

    /// Deletes expired entries and the oldest beyond `maxEntries` now.
    /// - Throws: ``IngestError`` `storage`.
    public func sweep(now: Double) throws {
        do {
            try db.withLock { try Self.sweep($0, now: now, ttl: ttl, maxEntries: maxEntries) }
        } catch {
            throw IngestError(.storage, "de-duplication sweep", underlying: error)
        }
    }

    /// The number of entries.
    public var count: Int {
        (try? db.withLock { try $0.query("SELECT count(*) FROM accepted_requests").first?.first?.integer }).flatMap { $0 }.map(Int.init) ?? 0
    }

    static func sweep(_ d: SQLiteDatabase, now: Double, ttl: Double, maxEntries: Int) throws {
        try d.run("DELETE FROM accepted_requests WHERE accepted_at < ?", .real(now - ttl))
        try d.run(
            """
            DELETE FROM accepted_requests WHERE rowid IN (
                SELECT rowid FROM accepted_requests ORDER BY accepted_at DESC LIMIT -1 OFFSET ?)
            """, .integer(Int64(maxEntries)))
    }
}
