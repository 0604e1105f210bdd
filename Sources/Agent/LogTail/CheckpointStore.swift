import Storage

/// Keeps ``FileCheckpoint``s in an SQLite database (``Storage/SQLiteDatabase``),
/// one row per file in the table `logtail_checkpoint`, under a name so several
/// tails can share one database.
///
/// ``save(_:)`` replaces the rows of this name and opens no transaction of its
/// own: call it inside the caller's transaction, next to the data that holds the
/// lines it accounts for, so both are stored or neither.
///
/// ```swift
/// let db = try SQLiteDatabase(path: "/var/lib/clowder-metrics/spool.db")
/// let store = try CheckpointStore(database: db)
/// let tail = try LogTail(paths: paths, options: options, checkpoints: try store.load())
/// // … poll …
/// try db.transaction {
///     try spool.insert(batch)
///     try store.save(tail.checkpoints)
/// }
/// ```
public final class CheckpointStore: @unchecked Sendable {
    /// The database the rows are in.
    public let database: SQLiteDatabase
    /// The tail's name (column `tail`), `default` unless given.
    public let name: String

    private let deleteStatement: SQLiteStatement
    private let insertStatement: SQLiteStatement

    /// Opens the store, creating the table when missing.
    /// - Throws: `SQLiteError`.
    public init(database: SQLiteDatabase, name: String = "default") throws {
        self.database = database
        self.name = name
        try database.execute("""
            CREATE TABLE IF NOT EXISTS logtail_checkpoint (
                tail TEXT NOT NULL,
                device INTEGER NOT NULL,
                inode INTEGER NOT NULL,
                fingerprint_length INTEGER NOT NULL,
                fingerprint INTEGER NOT NULL,
                byte_offset INTEGER NOT NULL,
                path TEXT NOT NULL,
                PRIMARY KEY (tail, device, inode)
            )
            """)
        deleteStatement = try database.prepare("DELETE FROM logtail_checkpoint WHERE tail = ?")
        insertStatement = try database.prepare("""
            INSERT INTO logtail_checkpoint (tail, device, inode, fingerprint_length, fingerprint, byte_offset, path)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
    }

    /// The saved checkpoints of this name (empty before the first save).
    /// - Throws: `SQLiteError`.
    public func load() throws -> [FileCheckpoint] {
        try database.query("""
            SELECT device, inode, fingerprint_length, fingerprint, byte_offset, path
            FROM logtail_checkpoint WHERE tail = ? ORDER BY rowid
            """, .text(name)).map { row in
            FileCheckpoint(
                device: UInt64(bitPattern: row[0].integer ?? 0),
                inode: UInt64(bitPattern: row[1].integer ?? 0),
                fingerprintLength: Int(row[2].integer ?? 0),
                fingerprint: UInt64(bitPattern: row[3].integer ?? 0),
                offset: row[4].integer ?? 0,
                path: row[5].text ?? "")
        }
    }

    /// Replaces the saved checkpoints of this name with `checkpoints`.
    /// Opens no transaction: call it inside yours.
    /// - Throws: `SQLiteError`.
    public func save(_ checkpoints: [FileCheckpoint]) throws {
        try deleteStatement.run(.text(name))
        for c in checkpoints {
            try insertStatement.run(
                .text(name),
                .integer(Int64(bitPattern: c.device)),
                .integer(Int64(bitPattern: c.inode)),
                .integer(Int64(c.fingerprintLength)),
                .integer(Int64(bitPattern: c.fingerprint)),
                .integer(c.offset),
                .text(c.path))
        }
    }
}
