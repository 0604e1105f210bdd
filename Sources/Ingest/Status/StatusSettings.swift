import Broker
import Configuration
#if canImport(Glibc)
import Glibc
#endif

/// The status page's settings, `CLOWDER_INGEST_STATUS_*` keys (read with the
/// rest of ``IngestConfiguration``):
///
/// | key | meaning | default |
/// |---|---|---|
/// | `CLOWDER_INGEST_STATUS_PAGE` | serve `GET /status`, `/status.json`, `/status.css`: `true` / `false` (needs `BROKER_URL`) | `true` |
/// | `CLOWDER_INGEST_STATUS_PATH` | this replica's SQLite status file (a cache of the stream, see ``StatusFeed``) | `clowder-ingest-status.db` |
/// | `CLOWDER_INGEST_STATUS_QUEUE` | this replica's own queue on the exchange; never shared between replicas | `<exchange>.status.<host name>` |
public struct StatusSettings: Sendable {
    /// Whether the page is served (only with a broker: the page reads the stream).
    public var enabled = true
    /// The status file.
    public var path = "clowder-ingest-status.db"
    /// The queue; nil = `<exchange>.status.<host name>`.
    public var queue: String?

    public init() {}

    /// The keys read.
    public static let keys = ["CLOWDER_INGEST_STATUS_PAGE", "CLOWDER_INGEST_STATUS_PATH", "CLOWDER_INGEST_STATUS_QUEUE"]

    /// Reads the keys.
    /// - Throws: ``IngestError`` `configuration` naming the key and value.
    public init(reader: ConfigReader) throws {
        func value(_ name: String) -> String? {
            let v = reader.string(forKey: ConfigKey(["clowder", "ingest", "status", name]))?.trimmingSpaces
            return v?.isEmpty == false ? v : nil
        }
        if let v = value("page") {
            switch v.lowercased() {
            case "true", "yes", "1", "on": enabled = true
            case "false", "no", "0", "off": enabled = false
            default: throw IngestError(.configuration, "CLOWDER_INGEST_STATUS_PAGE=\(v): expected true or false")
            }
        }
        if let v = value("path") { path = v }
        if let v = value("queue") {
            guard v.utf8.count <= 255, v.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw IngestError(.configuration, "CLOWDER_INGEST_STATUS_QUEUE=\(v): expected a queue name of 1-255 printable ASCII characters")
            }
            queue = v
        }
    }

    /// The queue name for `exchange`.
    public func queueName(exchange: String) -> String {
        if let queue { return queue }
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "localhost"
        return "\(exchange).status.\(host)"
    }
}
