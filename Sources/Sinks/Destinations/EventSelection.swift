import MetricsModel

/// Which Clowder events an analytics destination (Amplitude, GA4) receives:
/// metric points never, events when their `category` is in ``categories``
/// (every category when the set is empty).
///
/// ```swift
/// let s = EventSelection(categories: ["download", "view_resource"])
/// s.events(in: batch)   // the download and view_resource events, with their message ids
/// ```
public struct EventSelection: Sendable, Hashable {
    /// Accepted categories; empty accepts all.
    public var categories: Set<String>

    public init(categories: Set<String> = []) { self.categories = categories }

    /// The selected events of a batch, in order.
    public func events(in messages: [SinkMessage]) -> [(messageID: String, event: ClowderEvent)] {
        messages.compactMap { m in
            guard case .event(let e) = m.decoded else { return nil }
            guard categories.isEmpty || categories.contains(e.category ?? "") else { return nil }
            return (m.messageID, e)
        }
    }

    /// The event name used by both services: `<category>_<type>` (e.g.
    /// `download_file`, `view_resource_dataset`), or `<category>` when the
    /// event has no `type`.
    public static func eventName(_ e: ClowderEvent) -> String {
        let c = e.category ?? "event"
        guard let t = e.members["type"]?.stringValue, !t.isEmpty else { return c }
        return "\(c)_\(t)"
    }

    /// A stable pseudonymous id for the sender of events that carry no user:
    /// `clowder-<agent>` from the event's `agent` member, else `clowder-<source>`,
    /// else `clowder-server`. At least 8 characters (Amplitude ignores ids shorter than 5).
    public static func deviceID(_ e: ClowderEvent) -> String {
        if let a = e.members["agent"]?.stringValue, !a.isEmpty { return "clowder-\(a)" }
        if let s = e.members["source"]?.stringValue, !s.isEmpty { return "clowder-\(s)" }
        return "clowder-server"
    }
}
