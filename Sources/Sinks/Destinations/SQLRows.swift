import MetricsModel

/// The relational layout shared by ``PostgresDestination`` and
/// ``SQLiteDestination``: two tables, `<prefix>points` and `<prefix>events`,
/// each unique on `message_id`, so that inserting a redelivered message is a
/// no-op (`ON CONFLICT (message_id) DO NOTHING`).
///
/// ```
/// points: message_id, measurement, time_ns (epoch ns), time (timestamp), tags (json), fields (json)
/// events: message_id, created_ms (epoch ms), created (timestamp), category, type, resource_id,
///         resource_name, user_id, author_id, extractor_name, source, size (bytes), event (json: the whole event)
/// ```
/// PostgreSQL uses `jsonb` and `timestamptz`; SQLite `TEXT` (JSON text and
/// ISO 8601 UTC).
enum SQLRows {
    /// One row of the points table.
    struct PointRow: Sendable {
        var messageID: String
        var measurement: String
        var timeNanoseconds: Int64
        var tagsJSON: String
        var fieldsJSON: String
    }

    /// One row of the events table.
    struct EventRow: Sendable {
        var messageID: String
        var createdMilliseconds: Int64
        var category: String
        var type: String?
        var resourceID: String?
        var resourceName: String?
        var userID: String?
        var authorID: String?
        var extractorName: String?
        var source: String?
        var size: Int64?
        var eventJSON: String
    }

    /// Splits a batch into point rows and event rows.
    static func rows(_ messages: [SinkMessage]) -> (points: [PointRow], events: [EventRow]) {
        var points: [PointRow] = []
        var events: [EventRow] = []
        for m in messages {
            switch m.decoded {
            case .point(let p):
                points.append(
                    PointRow(
                        messageID: m.messageID, measurement: p.measurement, timeNanoseconds: p.timeNanoseconds,
                        tagsJSON: JSONValue.object(p.tags.mapValues { .string($0) }).jsonString,
                        fieldsJSON: JSONValue.object(p.fields).jsonString))
            case .event(let e):
                func text(_ k: String) -> String? {
                    switch e.members[k] {
                    case nil, .null: nil
                    case .string(let s): s
                    case let v?: v.jsonString
                    }
                }
                events.append(
                    EventRow(
                        messageID: m.messageID, createdMilliseconds: e.created ?? 0, category: e.category ?? "",
                        type: text("type"), resourceID: text("resource_id"), resourceName: text("resource_name"),
                        userID: text("user_id"), authorID: text("author_id"), extractorName: text("extractor_name"),
                        source: text("source"), size: e.members["size"]?.intValue, eventJSON: e.json.jsonString))
            }
        }
        return (points, events)
    }

    /// The event columns after `message_id, created_ms, created`, in insert order.
    static let eventTextColumns = [
        "category", "type", "resource_id", "resource_name", "user_id", "author_id", "extractor_name", "source",
    ]

    /// A table-name prefix is letters, digits and `_` only (it is spliced into SQL).
    static func validPrefix(_ p: String) -> Bool {
        p.utf8.allSatisfy { b in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "_")
        }
    }
}

extension SQLRows.EventRow {
    /// The text columns in ``SQLRows/eventTextColumns`` order.
    var textColumns: [String?] {
        [category, type, resourceID, resourceName, userID, authorID, extractorName, source]
    }
}
