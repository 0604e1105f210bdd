import CSQLite

/// A connection to one SQLite database file: the spool, the checkpoints, the
/// ingest's de-duplication table and the SQLite sink all use it.
///
/// Not thread-safe: confine one connection to one task or thread (it is
/// `@unchecked Sendable` only so it can be handed to that task).
///
/// ```swift
/// let db = try SQLiteDatabase(path: "/var/lib/clowder-metrics/spool.db")
/// try db.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER)")
/// try db.transaction {
///     try db.run("INSERT INTO t VALUES (?, ?)", .text("a"), .integer(1))
/// }
/// ```
public final class SQLiteDatabase: @unchecked Sendable {
    /// The raw handle, for the few calls this wrapper does not cover.
    public let handle: OpaquePointer
    /// The database file path (`:memory:` for a memory database).
    public let path: String

    /// Opens (and creates) the database at `path`, in WAL mode with
    /// `synchronous=FULL` unless `wal` is false, and a 5 s busy timeout.
    /// - Throws: `SQLiteError` if the file cannot be opened or is not a database.
    public init(path: String, wal: Bool = true, synchronous: String = "FULL") throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message, path: path, sql: nil)
        }
        self.handle = db
        self.path = path
        sqlite3_busy_timeout(db, 5000)
        if wal && path != ":memory:" {
            try execute("PRAGMA journal_mode=WAL")
        }
        try execute("PRAGMA synchronous=\(synchronous)")
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs one or more SQL statements without parameters or results.
    /// - Throws: `SQLiteError`.
    public func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(err)
            throw SQLiteError(code: rc, message: message, path: path, sql: sql)
        }
    }

    /// Prepares a statement for repeated use.
    /// - Throws: `SQLiteError` when the SQL does not compile.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        try SQLiteStatement(database: self, sql: sql)
    }

    /// Runs one statement with `values` bound to its `?` parameters, discarding rows.
    /// - Returns: the number of rows changed.
    /// - Throws: `SQLiteError`.
    @discardableResult
    public func run(_ sql: String, _ values: SQLiteValue...) throws -> Int {
        let statement = try prepare(sql)
        try statement.bind(values)
        while try statement.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// Runs a query and returns every row as an array of values.
    /// - Throws: `SQLiteError`.
    public func query(_ sql: String, _ values: SQLiteValue...) throws -> [[SQLiteValue]] {
        let statement = try prepare(sql)
        try statement.bind(values)
        var rows: [[SQLiteValue]] = []
        while try statement.step() {
            rows.append(statement.row())
        }
        return rows
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`; rolls back when it throws.
    /// - Throws: what `body` throws, or `SQLiteError`.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The rowid of the last inserted row.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), path: path, sql: sql)
    }
}
