import Agent
import Storage
import Testing

@Suite("CheckpointStore")
struct CheckpointStoreTests {
    static let a = FileCheckpoint(device: 2049, inode: 131, fingerprintLength: 256, fingerprint: 0xFFFF_0000_1234_5678,
                                  offset: 4096, path: "/var/log/nginx/access.log")
    static let b = FileCheckpoint(device: UInt64.max, inode: UInt64.max - 1, fingerprintLength: 17, fingerprint: 1,
                                  offset: 0, path: "/var/log/nginx/access.log.1")

    @Test("saves inside the caller's transaction: a rollback keeps the previous checkpoints")
    func transaction() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try SQLiteDatabase(path: dir.file("spool.db"))
        let store = try CheckpointStore(database: db)
        #expect(try store.load() == [])
        try db.transaction { try store.save([Self.a, Self.b]) }
        #expect(try store.load() == [Self.a, Self.b])
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try db.transaction {
                try store.save([Self.b])
                throw Abort()
            }
        }
        #expect(try store.load() == [Self.a, Self.b])
        try db.transaction { try store.save([]) }
        #expect(try store.load() == [])
    }

    @Test("tails with different names share one database; a reopened database gives the rows back")
    func namesAndReopen() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        do {
            let db = try SQLiteDatabase(path: dir.file("spool.db"))
            try db.transaction {
                try CheckpointStore(database: db, name: "main").save([Self.a])
                try CheckpointStore(database: db, name: "other").save([Self.b])
            }
        }
        let db = try SQLiteDatabase(path: dir.file("spool.db"))
        #expect(try CheckpointStore(database: db, name: "main").load() == [Self.a])
        #expect(try CheckpointStore(database: db, name: "other").load() == [Self.b])
        #expect(try CheckpointStore(database: db).load() == [])
    }
}
