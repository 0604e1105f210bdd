import Storage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The embedded default when no broker URL is configured: messages are
/// appended to a local SQLite journal (table `journal`: `seq`, `message_id`
/// unique, `body` JSON, `received_at` epoch seconds), so a small site runs one
/// process and no broker. A repeated `message_id` is ignored (idempotent).
public final class JournalDestination: MessageDestination {
    /// The journal file.
    public let path: String
    private let db: Mutex<SQLiteDatabase>

    /// Opens (creates) the journal.
    /// - Throws: ``IngestError`` `storage`.
    public init(path: String) throws {
        self.path = path
        do {
            let d = try SQLiteDatabase(path: path)
            try d.execute(
                """
                CREATE TABLE IF NOT EXISTS journal (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL UNIQUE,
                    body BLOB NOT NULL, received_at INTEGER NOT NULL)
                """)
            db = Mutex(d)
        } catch {
            throw IngestError(.storage, "journal \(path)", underlying: error)
        }
    }

    /// Appends the messages in one transaction.
    /// - Throws: ``IngestError`` `storage`.
    public func write(messages: [(id: String, body: [UInt8])]) async throws {
        let now = Int64(time(nil))
        do {
            try db.withLock { d in
                let insert = try d.prepare("INSERT OR IGNORE INTO journal (message_id, body, received_at) VALUES (?, ?, ?)")
                try d.transaction {
                    for m in messages { try insert.run(.text(m.id), .blob(m.body), .integer(now)) }
                }
            }
        } catch {
            throw IngestError(.storage, "journal \(path)", underlying: error)
        }
    }

    /// Every journaled message in order (for tests and a sink that drains the journal).
    /// - Throws: ``IngestError`` `storage`.
    public func messages() throws -> [(id: String, body: [UInt8])] {
        do {
            return try db.withLock { d in
                try d.query("SELECT message_id, body FROM journal ORDER BY seq").map { ($0[0].text ?? "", $0[1].blob ?? []) }
            }
        } catch {
            throw IngestError(.storage, "journal \(path)", underlying: error)
        }
    }

    public var status: DestinationStatus { DestinationStatus(kind: "journal", state: "none", available: true) }
}
