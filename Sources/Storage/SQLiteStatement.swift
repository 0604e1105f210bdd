import CSQLite

/// A value bound to, or read from, an SQLite statement.
public enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The value as an integer, if it is one.
    public var integer: Int64? { if case .integer(let v) = self { v } else { nil } }
    /// The value as a double (integers convert).
    public var real: Double? {
        switch self {
        case .real(let v): v
        case .integer(let v): Double(v)
        default: nil
        }
    }
    /// The value as text, if it is text.
    public var text: String? { if case .text(let v) = self { v } else { nil } }
    /// The value as bytes (text converts to its UTF-8).
    public var blob: [UInt8]? {
        switch self {
        case .blob(let v): v
        case .text(let v): Array(v.utf8)
        default: nil
        }
    }
}

/// A prepared SQLite statement. Reset and re-bound for each use.
public final class SQLiteStatement: @unchecked Sendable {
    let database: SQLiteDatabase
    let statement: OpaquePointer
    let sql: String

    init(database: SQLiteDatabase, sql: String) throws {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(database.handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw database.error(rc, sql: sql) }
        self.database = database
        self.statement = stmt
        self.sql = sql
    }

    deinit { sqlite3_finalize(statement) }

    /// Resets the statement and binds `values` to parameters 1…n.
    /// - Throws: `SQLiteError`.
    public func bind(_ values: [SQLiteValue]) throws {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, index)
            case .integer(let v): rc = sqlite3_bind_int64(statement, index, v)
            case .real(let v): rc = sqlite3_bind_double(statement, index, v)
            case .text(let v):
                rc = v.withCString { csqlite_bind_text_transient(statement, index, $0, -1) }
            case .blob(let v):
                rc = v.withUnsafeBytes { csqlite_bind_blob_transient(statement, index, $0.baseAddress, Int32($0.count)) }
            }
            guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
        }
    }

    /// Advances to the next row. Returns false when done.
    /// - Throws: `SQLiteError` (e.g. a constraint violation).
    public func step() throws -> Bool {
        let rc = sqlite3_step(statement)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let e = database.error(rc, sql: sql)
            sqlite3_reset(statement)
            throw e
        }
    }

    /// Runs the statement with `values` to completion, discarding rows.
    /// - Returns: rows changed.
    @discardableResult
    public func run(_ values: SQLiteValue...) throws -> Int {
        try bind(values)
        while try step() {}
        return Int(sqlite3_changes(database.handle))
    }

    /// The current row's columns.
    public func row() -> [SQLiteValue] {
        (0..<sqlite3_column_count(statement)).map { column($0) }
    }

    /// One column of the current row (0-based).
    public func column(_ i: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, i) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, i))
        case SQLITE_TEXT:
            return .text(String(cString: sqlite3_column_text(statement, i)))
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(statement, i))
            guard n > 0, let p = sqlite3_column_blob(statement, i) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default: return .null
        }
    }
}
