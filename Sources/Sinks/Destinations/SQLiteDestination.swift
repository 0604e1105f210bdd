import CSQLite
import Dispatch
import MetricsModel
import Storage
import Synchronization

/// Writes points and events into an SQLite database file: the embedded
/// default, with the layout described in ``SQLRows`` (JSON as `TEXT`, times as
/// epoch integers plus ISO 8601 UTC text).
///
/// Each batch is one `BEGIN IMMEDIATE … COMMIT` transaction of prepared
/// `INSERT … ON CONFLICT (message_id) DO NOTHING` statements
/// (https://sqlite.org/lang_upsert.html), so a redelivered message changes
/// nothing. `SQLITE_BUSY`, `SQLITE_LOCKED`, `SQLITE_IOERR` and `SQLITE_FULL`
/// are retryable; any other failure is permanent. The connection is confined
/// to one serial dispatch queue.
///
/// ```swift
/// let sqlite = try SQLiteDestination(path: "/var/lib/clowder-metrics/sink.db")
/// try await sqlite.start()
/// ```
public final class SQLiteDestination: Destination {
    public var kind: String { "sqlite" }
    /// The database file.
    public let path: String
    /// Table-name prefix (letters, digits, `_`).
    public let tablePrefix: String
    private let queue = DispatchQueue(label: "clowder-sink.sqlite")
    private let database = Mutex<SQLiteDatabase?>(nil)

    /// - Parameters:
    ///   - path: the database file (created if missing).
    ///   - tablePrefix: prefix of the `points` and `events` tables.
    /// - Throws: ``SinkError`` (config) for a prefix with other characters than letters, digits and `_`.
    public init(path: String, tablePrefix: String = "") throws {
        guard SQLRows.validPrefix(tablePrefix) else {
            throw SinkError.config(key: "CLOWDER_SINK_SQLITE_TABLE_PREFIX", value: tablePrefix, expected: "letters, digits and _")
        }
        self.path = path
        self.tablePrefix = tablePrefix
    }

    var pointsTable: String { "\(tablePrefix)points" }
    var eventsTable: String { "\(tablePrefix)events" }

    /// Opens the database and creates the tables and indexes.
    /// - Throws: ``SinkError`` (retryable: the file may become writable later).
    public func start() async throws {
        try await onQueue { db in
            try db.execute(
                """
                CREATE TABLE IF NOT EXISTS \(self.pointsTable) (
                    message_id TEXT NOT NULL UNIQUE, measurement TEXT NOT NULL,
                    time_ns INTEGER NOT NULL, time TEXT NOT NULL, tags TEXT NOT NULL, fields TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS \(self.pointsTable)_measurement_time ON \(self.pointsTable) (measurement, time_ns);
                CREATE TABLE IF NOT EXISTS \(self.eventsTable) (
                    message_id TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL, created TEXT NOT NULL,
                    category TEXT NOT NULL, type TEXT, resource_id TEXT, resource_name TEXT, user_id TEXT,
                    author_id TEXT, extractor_name TEXT, source TEXT, size INTEGER, event TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS \(self.eventsTable)_category_created ON \(self.eventsTable) (category, created_ms);
                """)
        }
    }

    /// Inserts the batch in one transaction.
    /// - Throws: ``SinkError`` classified as described on the type.
    public func write(_ messages: [SinkMessage]) async throws {
        let (points, events) = SQLRows.rows(messages)
        try await onQueue { db in
            try db.transaction {
                if !points.isEmpty {
                    let s = try db.prepare(
                        """
                        INSERT INTO \(self.pointsTable) (message_id, measurement, time_ns, time, tags, fields)
                        VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', ?3 / 1000000000.0, 'unixepoch'), ?, ?)
                        ON CONFLICT (message_id) DO NOTHING
                        """)
                    for p in points {
                        try s.run(
                            .text(p.messageID), .text(p.measurement), .integer(p.timeNanoseconds), .text(p.tagsJSON),
                            .text(p.fieldsJSON))
                    }
                }
                if !events.isEmpty {
                    let columns = SQLRows.eventTextColumns.joined(separator: ", ")
                    let s = try db.prepare(
                        """
                        INSERT INTO \(self.eventsTable) (message_id, created_ms, created, \(columns), size, event)
                        VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', ?2 / 1000.0, 'unixepoch'), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                        ON CONFLICT (message_id) DO NOTHING
                        """)
                    for e in events {
                        var values: [SQLiteValue] = [.text(e.messageID), .integer(e.createdMilliseconds)]
                        values += e.textColumns.map { $0.map(SQLiteValue.text) ?? .null }
                        values.append(e.size.map(SQLiteValue.integer) ?? .null)
                        values.append(.text(e.eventJSON))
                        try s.bind(values)
                        while try s.step() {}
                    }
                }
            }
        }
    }

    /// Closes the database.
    public func shutdown() async {
        try? await onQueue { _ in }
        database.withLock { $0 = nil }
    }

    /// Runs `body` with the open database on the serial queue.
    private func onQueue(_ body: @escaping @Sendable (SQLiteDatabase) throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            queue.async {
                c.resume(
                    with: Result {
                        do {
                            let db = try self.database.withLock { slot -> SQLiteDatabase in
                                if let db = slot { return db }
                                let db = try SQLiteDatabase(path: self.path, synchronous: "NORMAL")
                                slot = db
                                return db
                            }
                            try body(db)
                        } catch let e as SQLiteError {
                            throw Self.classify(e)
                        }
                    })
            }
        }
    }

    /// Maps an SQLite result code to retryable or permanent (https://sqlite.org/rescode.html).
    static func classify(_ e: SQLiteError) -> SinkError {
        switch e.code & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PROTOCOL:
            return .retryable("SQLite: \(e.description)")
        default:
            return .permanent("SQLite: \(e.description)")
        }
    }
}
