import Logging
import MetricsModel
import NIOSSL
import PostgresNIO
import Synchronization

/// Writes points and events into PostgreSQL through postgres-nio's
/// `PostgresClient`, with the layout described in ``SQLRows`` (`jsonb`
/// columns, `timestamptz` times).
///
/// Tables and indexes are created on ``start()``. Each batch is at most two
/// statements, whatever its size: the rows travel as arrays and are expanded
/// with `unnest` (https://www.postgresql.org/docs/15/functions-array.html),
/// inserted with `ON CONFLICT (message_id) DO NOTHING`
/// (https://www.postgresql.org/docs/15/sql-insert.html#SQL-ON-CONFLICT), so a
/// redelivered message — or the same message twice in one batch — is stored
/// once.
///
/// Errors are classified by SQLSTATE (PostgreSQL's Appendix A,
/// https://www.postgresql.org/docs/15/errcodes-appendix.html) into what a
/// retry cannot change — the data — and what it can — the server:
/// - permanent (the batch is narrowed down to the messages at fault, which are
///   dead-lettered): class 21 cardinality violation, 22 data exception (e.g.
///   `22P05` a `\u0000` in a jsonb string, `22008` a time out of range), 23
///   integrity constraint violation, 42 syntax error or access rule violation
///   except `42501` insufficient privilege, and 54 program limit exceeded (e.g.
///   `54000` "index row size exceeds btree maximum" for a very long
///   measurement or category);
/// - retryable: every other class — 08 connection exception, 40 transaction
///   rollback (serialization failure, deadlock), 53 insufficient resources
///   (disk full, out of memory, too many connections), 55 object not in
///   prerequisite state (lock not available), 57 operator intervention
///   (admin shutdown, query cancelled), 58 system error, XX internal error,
///   `42501` (a grant, not the data, is missing) — and every connection error.
public final class PostgresDestination: Destination {
    public var kind: String { "postgres" }
    /// Table-name prefix (letters, digits, `_`).
    public let tablePrefix: String
    /// Longest wait for one batch (or for the tables on start), seconds; then the attempt is retryable.
    public let timeout: Double
    let client: PostgresClient
    let logger: Logger
    private let runner = Mutex<Task<Void, Never>?>(nil)

    /// - Parameters:
    ///   - url: `postgres://user:password@host:port/database[?sslmode=disable|prefer|require]`.
    ///   - tablePrefix: prefix of the `points` and `events` tables.
    ///   - maximumConnections: size of the connection pool.
    ///   - timeout: longest wait for one batch, seconds.
    ///   - logger: background logger for the client.
    /// - Throws: ``SinkError`` (config) for a malformed URL or prefix.
    public init(url: String, tablePrefix: String = "", maximumConnections: Int = 4, timeout: Double = 30, logger: Logger) throws {
        let key = "CLOWDER_SINK_POSTGRES_URL"
        let u = try ConnectionURL(url, key: key, schemes: ["postgres", "postgresql"])
        guard SQLRows.validPrefix(tablePrefix) else {
            throw SinkError.config(
                key: "CLOWDER_SINK_POSTGRES_TABLE_PREFIX", value: tablePrefix, expected: "letters, digits and _")
        }
        let tls: PostgresClient.Configuration.TLS
        switch u.parameter("sslmode") ?? "disable" {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-full": tls = .require(.makeClientConfiguration())
        case let other: throw SinkError.config(key: key, value: "sslmode=\(other)", expected: "sslmode=disable, prefer or require")
        }
        var configuration = PostgresClient.Configuration(
            host: u.host, port: u.port ?? 5432, username: u.user.isEmpty ? "postgres" : u.user, password: u.password,
            database: u.path.isEmpty ? nil : u.path, tls: tls)
        configuration.options.maximumConnections = max(1, maximumConnections)
        configuration.options.connectTimeout = .seconds(5)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.tablePrefix = tablePrefix
        self.logger = logger
        self.timeout = timeout
    }

    var pointsTable: String { "\(tablePrefix)points" }
    var eventsTable: String { "\(tablePrefix)events" }

    /// Starts the connection pool and creates the tables.
    /// - Throws: ``SinkError`` (retryable when PostgreSQL is unreachable).
    public func start() async throws {
        runner.withLock { task in
            if task == nil {
                let client = self.client
                task = Task { await client.run() }
            }
        }
        let statements: [String] = [
            """
            CREATE TABLE IF NOT EXISTS \(pointsTable) (
                message_id text NOT NULL UNIQUE, measurement text NOT NULL, time_ns bigint NOT NULL,
                time timestamptz NOT NULL, tags jsonb NOT NULL, fields jsonb NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS \(pointsTable)_measurement_time ON \(pointsTable) (measurement, time)",
            """
            CREATE TABLE IF NOT EXISTS \(eventsTable) (
                message_id text NOT NULL UNIQUE, created_ms bigint NOT NULL, created timestamptz NOT NULL,
                category text NOT NULL, type text, resource_id text, resource_name text, user_id text, author_id text,
                extractor_name text, source text, size bigint, event jsonb NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS \(eventsTable)_category_created ON \(eventsTable) (category, created)",
        ]
        let (client, logger) = (self.client, self.logger)
        do {
            try await withDeadline(seconds: timeout, "PostgreSQL") {
                for s in statements { try await client.query(PostgresQuery(unsafeSQL: s), logger: logger) }
            }
        } catch {
            throw Self.classify(error, retryableAlways: true)
        }
    }

    /// Inserts the batch: one statement for its points, one for its events.
    /// - Throws: ``SinkError`` classified as described on the type.
    public func write(_ messages: [SinkMessage]) async throws {
        let (points, events) = SQLRows.rows(messages)
        do {
            try await withDeadline(seconds: timeout, "PostgreSQL") { try await self.insert(points: points, events: events) }
        } catch {
            throw Self.classify(error, retryableAlways: false)
        }
    }

    /// The two `INSERT … SELECT … FROM unnest(…)` statements of one batch.
    func insert(points: [SQLRows.PointRow], events: [SQLRows.EventRow]) async throws {
        do {
            if !points.isEmpty {
                var b = PostgresBindings(capacity: 5)
                b.append(points.map(\.messageID))
                b.append(points.map(\.measurement))
                b.append(points.map(\.timeNanoseconds))
                b.append(points.map(\.tagsJSON))
                b.append(points.map(\.fieldsJSON))
                try await client.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(pointsTable) (message_id, measurement, time_ns, time, tags, fields)
                            SELECT m, ms, t, to_timestamp(t / 1e9), tg::jsonb, f::jsonb
                            FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[]) AS u(m, ms, t, tg, f)
                            ON CONFLICT (message_id) DO NOTHING
                            """, binds: b), logger: logger)
            }
            if !events.isEmpty {
                var b = PostgresBindings(capacity: 4)
                b.append(events.map(\.messageID))
                b.append(events.map(\.createdMilliseconds))
                b.append(events.map { $0.size.map { String($0) } ?? "" })
                b.append(events.map(\.eventJSON))
                let text = SQLRows.eventTextColumns.map { "e->>'\($0)'" }.joined(separator: ", ")
                try await client.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(eventsTable) (message_id, created_ms, created, \(SQLRows.eventTextColumns.joined(separator: ", ")), size, event)
                            SELECT m, c, to_timestamp(c / 1000.0), \(text), NULLIF(s, '')::int8, e
                            FROM (SELECT m, c, s, ej::jsonb AS e
                                  FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[]) AS u(m, c, s, ej)) AS rows
                            ON CONFLICT (message_id) DO NOTHING
                            """, binds: b), logger: logger)
            }
        }
    }

    /// Stops the connection pool.
    public func shutdown() async {
        let task = runner.withLock { t in
            defer { t = nil }
            return t
        }
        task?.cancel()
        await task?.value
    }

    /// The first column of the first row of `sql` as an integer (for checks and tests).
    /// - Throws: postgres-nio's `PSQLError`.
    func scalar(_ sql: String) async throws -> Int64? {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await row in rows {
            return try row.decode(Int64?.self)
        }
        return nil
    }

    /// Drops both tables (for tests).
    func dropTables() async throws {
        try await client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(pointsTable), \(eventsTable)"), logger: logger)
    }

    /// Maps a postgres-nio error to retryable or permanent by SQLSTATE (see the type's overview).
    static func classify(_ error: any Error, retryableAlways: Bool) -> SinkError {
        if let e = error as? SinkError { return e }
        guard let e = error as? PSQLError else { return .retryable("PostgreSQL: \(error)") }
        let state = e.serverInfo?[.sqlState] ?? ""
        let message = e.serverInfo?[.message] ?? "\(e.code)"
        let text = state.isEmpty ? "PostgreSQL: \(message)" : "PostgreSQL \(state): \(message)"
        if !retryableAlways, isPermanent(sqlState: state) { return .permanent(text) }
        return .retryable(text)
    }

    /// True for the SQLSTATEs a retry cannot change: classes 21, 22, 23, 42 (but `42501`) and 54.
    static func isPermanent(sqlState state: String) -> Bool {
        guard state.utf8.count == 5 else { return false }
        if state == "42501" { return false }
        return ["21", "22", "23", "42", "54"].contains(String(state.prefix(2)))
    }
}
