import CSQLite

/// An error from SQLite, with the database path and the statement that failed.
///
/// `code` is SQLite's primary result code (https://sqlite.org/rescode.html),
/// `message` what `sqlite3_errmsg` said.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// SQLite result code, e.g. `SQLITE_BUSY` (5) or `SQLITE_CONSTRAINT` (19).
    public var code: Int32
    /// SQLite's own message.
    public var message: String
    /// The database file.
    public var path: String
    /// The SQL text, when a statement failed.
    public var sql: String?

    public var description: String {
        var s = "SQLite error \(code) in \(path): \(message)"
        if let sql { s += " (in: \(sql.prefix(120)))" }
        return s
    }
}
