/// A Clowder-style user-activity event: one flat JSON object, as Clowder v1
/// itself publishes to the `clowder.metrics` exchange.
///
/// Members Clowder uses: `created` (epoch milliseconds), `category`
/// (`view_resource`, `download`, `upload`, `delete`, `extraction`,
/// `service_status`, …), `type` (`file`, `dataset`, `collection`, `space`,
/// `up`, `down`, …), `resource_id`, `resource_name`, `user_id`, `author_id`,
/// `size`, `url`, `source`. Any other member is kept as it is.
///
/// ```swift
/// let e = ClowderEvent(["category": "download", "type": "file", "resource_id": "5f…", "created": 1732900000000])
/// ```
public struct ClowderEvent: Sendable, Hashable {
    /// Every member of the event object.
    public var members: [String: JSONValue]

    public init(_ members: [String: JSONValue]) { self.members = members }

    /// `category`, e.g. `download`.
    public var category: String? { members["category"]?.stringValue }
    /// `type`, e.g. `file`.
    public var type: String? { members["type"]?.stringValue }
    /// `created`, epoch milliseconds.
    public var created: Int64? { members["created"]?.intValue }
    /// `resource_id`, a 24-hex Clowder id.
    public var resourceID: String? { members["resource_id"]?.stringValue }

    /// The event as its flat JSON object.
    public var json: JSONValue { .object(members) }

    /// Reads an event: an object with a string `category` and integer `created`.
    /// - Throws: ``ModelError`` naming the missing or mistyped member.
    public init(json: JSONValue) throws {
        guard case .object(let o) = json else { throw ModelError(.invalid, "event is not an object") }
        guard o["category"]?.stringValue?.isEmpty == false else {
            throw ModelError(.invalid, "event.category must be a non-empty string")
        }
        guard o["created"]?.intValue != nil else {
            throw ModelError(.invalid, "event.created must be an integer (epoch milliseconds)")
        }
        self.members = o
    }
}
