#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MetricsModel

/// Gathers points and events into batches that close at `maxItems` items,
/// `maxBytes` bytes of JSON, or `maxAge` seconds after the first item —
/// whichever comes first. A closed batch gets a random (version 4) UUID as
/// its id and the agent's identity.
///
/// Crash safety is the caller's: items held in the open batch are not in the
/// spool. Either commit ``pendingState`` under a state key together with the
/// checkpoints (and pass it back to ``init(agent:maxItems:maxBytes:maxAge:pending:)``
/// after a restart), or ``flush(now:)`` before every state commit.
///
/// ```swift
/// var batcher = Batcher(agent: identity, maxItems: 5000, maxBytes: 1 << 20, maxAge: 10)
/// var closed = batcher.add(points, now: nowMs)
/// closed += batcher.poll(now: nowMs)               // the age limit
/// try spool.commit(batches: closed, state: ["logtail": cp, "batcher": batcher.pendingState])
/// ```
public struct Batcher: Sendable {
    /// The sender written into each batch.
    public var agent: AgentIdentity
    /// A batch closes when it holds this many points and events.
    public var maxItems: Int
    /// A batch closes before its JSON would exceed this many bytes (a single larger item gets a batch of its own).
    public var maxBytes: Int
    /// A batch closes this many seconds after its first item (checked by ``poll(now:)`` and ``add(_:now:)-(Point,_)``).
    public var maxAge: Double

    private var points: [Point] = []
    private var events: [ClowderEvent] = []
    private var bytes = 0
    private var openedAt: Int64?  // epoch ms

    /// Overhead of the batch envelope (id, created, agent), bytes, counted once per batch.
    static let envelopeBytes = 256

    /// - Parameters:
    ///   - agent: the identity written into each batch.
    ///   - maxItems: item limit (≥ 1).
    ///   - maxBytes: JSON size limit, bytes.
    ///   - maxAge: age limit, seconds.
    ///   - pending: a ``pendingState`` saved before a restart; its items reopen the batch.
    public init(agent: AgentIdentity, maxItems: Int, maxBytes: Int, maxAge: Double, pending: [UInt8]? = nil) {
        self.agent = agent
        self.maxItems = max(1, maxItems)
        self.maxBytes = maxBytes
        self.maxAge = maxAge
        if let pending, let v = try? JSONValue(parsing: pending) {
            for p in v["points"]?.arrayValue ?? [] { if let p = try? Point(json: p) { points.append(p); bytes += p.json.jsonBytes.count + 1 } }
            for e in v["events"]?.arrayValue ?? [] { if let e = try? ClowderEvent(json: e) { events.append(e); bytes += e.json.jsonBytes.count + 1 } }
            if !isEmpty { openedAt = v["opened_ms"]?.intValue ?? Self.nowMilliseconds() }
        }
    }

    /// Items in the open batch.
    public var count: Int { points.count + events.count }
    /// Whether the open batch is empty.
    public var isEmpty: Bool { points.isEmpty && events.isEmpty }

    /// Adds one point.
    /// - Parameter now: epoch milliseconds (default: the clock).
    /// - Returns: batches closed by this call (zero, one, or two), oldest first.
    public mutating func add(_ point: Point, now: Int64 = Batcher.nowMilliseconds()) -> [Batch] {
        addItem(size: point.json.jsonBytes.count + 1, now: now) { $0.points.append(point) }
    }

    /// Adds one Clowder-style event.
    /// - Parameter now: epoch milliseconds (default: the clock).
    /// - Returns: batches closed by this call, oldest first.
    public mutating func add(_ event: ClowderEvent, now: Int64 = Batcher.nowMilliseconds()) -> [Batch] {
        addItem(size: event.json.jsonBytes.count + 1, now: now) { $0.events.append(event) }
    }

    /// Adds many points.
    /// - Returns: batches closed, oldest first.
    public mutating func add(_ points: [Point], now: Int64 = Batcher.nowMilliseconds()) -> [Batch] {
        points.flatMap { add($0, now: now) }
    }

    /// Closes the open batch if it is older than ``maxAge``.
    /// - Returns: the closed batch, if any.
    public mutating func poll(now: Int64 = Batcher.nowMilliseconds()) -> [Batch] {
        guard let openedAt, Double(now - openedAt) >= maxAge * 1000 else { return [] }
        return flush(now: now)
    }

    /// Closes the open batch whatever its size (at shutdown, or before a state commit).
    /// - Returns: the closed batch, or nothing when empty.
    public mutating func flush(now: Int64 = Batcher.nowMilliseconds()) -> [Batch] {
        guard !isEmpty else { return [] }
        let batch = Batch(id: Self.uuidV4(), created: now, agent: agent, points: points, events: events)
        points.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
        bytes = 0
        openedAt = nil
        return [batch]
    }

    /// The open batch's items as JSON (`{"opened_ms": …, "points": […], "events": […]}`),
    /// to commit under a state key with the checkpoints.
    public var pendingState: [UInt8] {
        var o: [String: JSONValue] = ["points": .array(points.map(\.json)), "events": .array(events.map(\.json))]
        if let openedAt { o["opened_ms"] = .int(openedAt) }
        return JSONValue.object(o).jsonBytes
    }

    private mutating func addItem(size: Int, now: Int64, _ append: (inout Batcher) -> Void) -> [Batch] {
        var closed = poll(now: now)
        if !isEmpty, Self.envelopeBytes + bytes + size > maxBytes { closed += flush(now: now) }
        append(&self)
        bytes += size
        if openedAt == nil { openedAt = now }
        if count >= maxItems || Self.envelopeBytes + bytes >= maxBytes { closed += flush(now: now) }
        return closed
    }

    /// Now, epoch milliseconds.
    public static func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// A random UUID (RFC 9562 §5.4, version 4) from `SystemRandomNumberGenerator`,
    /// lowercase `8-4-4-4-12` hex.
    public static func uuidV4() -> String {
        var rng = SystemRandomNumberGenerator()
        var b = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        b[6] = (b[6] & 0x0F) | 0x40  // version 4
        b[8] = (b[8] & 0x3F) | 0x80  // variant 10
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for (i, byte) in b.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out += [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
