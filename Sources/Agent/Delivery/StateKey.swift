/// Which stage a blob of the spool's `state` table belongs to: the one place where the keys
/// shared by LogTail, the pipeline, Delivery and the Spool are spelled.
///
/// | key | blob |
/// |---|---|
/// | `logtail`, `logtail:PATH` | ``LogTail/checkpointData()`` of the source of `CLOWDER_METRICS_ACCESS_LOG`, or of an access log found in the NGINX configuration |
/// | `pipeline`, `pipeline:PATH` | that source's ``AccessLogPipeline/snapshot()`` |
/// | `delivery.batcher` | the batcher's open batch (``Delivery``) |
///
/// The keys are those earlier versions wrote, so an upgrade resumes where it stopped. Other
/// keys (a test's `cursor`) are kept as they are: the spool stores any key.
///
/// ```swift
/// try spool.commit(batches: closed, state: [.logTail(source: ""): checkpoints, .pipeline(source: ""): snapshot])
/// ```
public struct StateKey: Hashable, Sendable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The key as stored (the `state` table's `key` column).
    public let rawValue: String

    /// A key as stored.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A key as stored, written as a literal.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// LogTail's checkpoints of a log source: `logtail` for the configured access log
    /// (`source` empty), `logtail:PATH` for one found in the NGINX configuration.
    public static func logTail(source: String) -> StateKey {
        StateKey(rawValue: source.isEmpty ? "logtail" : "logtail:" + source)
    }

    /// The aggregation pipeline's snapshot of a log source (`pipeline`, `pipeline:PATH`).
    public static func pipeline(source: String) -> StateKey {
        StateKey(rawValue: source.isEmpty ? "pipeline" : "pipeline:" + source)
    }

    /// The batcher's open batch.
    public static let batcher = StateKey(rawValue: "delivery.batcher")

    /// Whether the key is one of a log source's (``logTail(source:)`` or ``pipeline(source:)``).
    public var isLogSource: Bool { rawValue.hasPrefix("logtail") || rawValue.hasPrefix("pipeline") }

    public static func < (a: StateKey, b: StateKey) -> Bool { a.rawValue < b.rawValue }

    /// The key as stored.
    public var description: String { rawValue }
}
