/// The bounds on everything the ingest accepts, so that nothing a client
/// sends can grow a message, a store's index or a sink's arithmetic beyond
/// what the rest of the pipeline handles (issue 11, DESIGN.md "Bounded by design").
/// Each is documented in `openapi.yaml`; a value past a bound is a 400
/// problem naming the member (never its value).
///
/// | bound | default | setting |
/// |---|---|---|
/// | points per request | 10 000 | `CLOWDER_INGEST_MAX_POINTS` |
/// | events per request | 10 000 | `CLOWDER_INGEST_MAX_EVENTS` |
/// | bytes per published message | 262 144 (256 KiB) | `CLOWDER_INGEST_MAX_MESSAGE_BYTES` |
/// | a time's distance into the past (`time_ns`, `created`) | 2 592 000 s (30 days) | `CLOWDER_INGEST_MAX_AGE` |
/// | a time's distance into the future | 3 600 s | `CLOWDER_INGEST_MAX_FUTURE` |
/// | bytes of a name (measurement, category, type, tag key and value, field and member names, agent id/host/region/version) | 256 | — |
/// | bytes of any other string value | 16 384 | — |
/// | tags per point, fields per point, members per event | 64, 256, 256 | — |
///
/// The message bound sits far below RabbitMQ's `max_message_size` (128 MiB by
/// default in 3.10, at most 512 MiB): a message is refused here, with a 400, long
/// before the broker would close the channel on it. 256 bytes keeps every
/// indexed text column well under PostgreSQL's btree limit (2704 bytes, SQLSTATE 54000).
public struct IngestLimits: Sendable, Hashable {
    /// Most points in one request.
    public var maxPoints = 10_000
    /// Most events in one request.
    public var maxEvents = 10_000
    /// Most bytes of one published message's JSON.
    public var maxMessageBytes = 256 << 10
    /// Seconds a point's `time_ns` or an event's `created` may lie before now.
    public var maxAgeSeconds: Int64 = 30 * 86400
    /// Seconds a time may lie after now (clocks that run ahead).
    public var maxFutureSeconds: Int64 = 3600
    /// Most bytes of a name.
    public var maxNameBytes = 256
    /// Most bytes of any other string.
    public var maxStringBytes = 16 << 10
    /// Most tags of one point.
    public var maxTags = 64
    /// Most fields of one point.
    public var maxFields = 256
    /// Most members of one event.
    public var maxMembers = 256

    public init() {}

    /// The accepted range of epoch nanoseconds at `now` (Unix seconds), computed without overflow.
    func nanosecondRange(now: Int64) -> ClosedRange<Int64> {
        let lo = now.subtractingReportingOverflow(maxAgeSeconds).partialValue
        let hi = now.addingReportingOverflow(maxFutureSeconds).partialValue
        // Both within ±292 years of 1970 for any configured bound (checked in IngestConfiguration).
        return lo.multipliedReportingOverflow(by: 1_000_000_000).partialValue...hi.multipliedReportingOverflow(by: 1_000_000_000).partialValue
    }

    /// The accepted range of epoch milliseconds at `now`.
    func millisecondRange(now: Int64) -> ClosedRange<Int64> {
        let lo = now.subtractingReportingOverflow(maxAgeSeconds).partialValue
        let hi = now.addingReportingOverflow(maxFutureSeconds).partialValue
        return lo.multipliedReportingOverflow(by: 1000).partialValue...hi.multipliedReportingOverflow(by: 1000).partialValue
    }
}
