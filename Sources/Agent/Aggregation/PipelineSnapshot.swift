import MetricsModel
import Parsers

/// The binary snapshot of an ``AccessLogPipeline``'s open state (version 3, little-endian):
///
/// ```
/// "CMAGG2\0\0"  windowMs i64  latenessMs i64
/// watermark i64  lastGoodStart i64  pendingMalformed i64  lineCount i64  malformedCount i64
/// lastVhost bytes
/// windows u32 × { start i64, part i64, vhosts u32 × { vhost bytes, counters u32 × i64,
///                 clients distinct, connections distinct, requestTimes u32 × (ms i64, count u32) },
///                 topViews top, topDownloads top }
/// closedEarly u32 × (start i64, parts i64)
/// events u32 × bytes (the event's JSON)
/// ```
/// `bytes` is a u32 length then the bytes; `distinct` is a ``DistinctCounter`` (mode u8, then
/// u32 × u64 hashes or 4,096 registers); `top` is u8 0 (none) or 1 and a ``TopResources``. Versions 1 and 2 kept the client addresses and
/// connection numbers themselves (`u32 × bytes`, `u32 × i64`); they are still read (into
/// counters), and version 1 (an agent before 2026-11-29) lacks `part` and `closedEarly`.
extension AccessLogPipeline {
    static let snapshotMagic: [UInt8] = Array("CMAGG3".utf8) + [0, 0]
    static let snapshotMagicV2: [UInt8] = Array("CMAGG2".utf8) + [0, 0]
    static let snapshotMagicV1: [UInt8] = Array("CMAGG1".utf8) + [0, 0]

    /// Everything needed to continue exactly where this pipeline is: open windows (counters,
    /// distinct clients and connections, request-time distributions), the watermark, malformed
    /// lines not yet placed, windows a shutdown closed early, and events not yet taken. Store it with the batch and the log
    /// offsets in one transaction; restore with ``init(configuration:snapshot:)``.
    public func snapshot() -> [UInt8] {
        var w = SnapshotWriter()
        w.bytes.append(contentsOf: Self.snapshotMagic)
        w.i64(windowMs)
        w.i64(latenessMs)
        w.i64(watermark)
        w.i64(lastGoodStart)
        w.i64(pendingMalformed)
        w.i64(lineCount)
        w.i64(malformedCount)
        w.blob(lastVhost)
        w.u32(windows.count)
        for win in windows {
            w.i64(win.start)
            w.i64(win.part)
            w.u32(win.vhosts.count)
            for (v, a) in zip(win.vhosts, win.aggregates) {
                w.blob(v)
                w.u32(a.counters.count)
                for c in a.counters { w.i64(c) }
                a.clients.encode(into: &w)
                a.connections.encode(into: &w)
                var pairs: [(Int64, UInt32)] = []
                a.requestTimes.forEach { pairs.append(($0, $1)) }
                w.u32(pairs.count)
                for (v, c) in pairs { w.i64(v); w.u32(Int(c)) }
            }
            for top in [win.topViews, win.topDownloads] {
                if let top {
                    w.bytes.append(1)
                    top.encode(into: &w)
                } else {
                    w.bytes.append(0)
                }
            }
        }
        w.u32(closedEarly.count)
        for (start, parts) in closedEarly.sorted(by: { $0.key < $1.key }) {
            w.i64(start)
            w.i64(parts)
        }
        w.u32(pendingEvents.count)
        for e in pendingEvents { w.blob(e.json.jsonBytes) }
        return w.bytes
    }

    /// Restores a pipeline from ``snapshot()``.
    /// - Throws: ``AggregationError`` `.snapshot` when the snapshot is truncated, of another
    ///   version, or was taken with another window or lateness (its open windows would not
    ///   fit); `.configuration` as ``init(configuration:)``.
    public convenience init(configuration: AccessLogPipelineConfiguration, snapshot: [UInt8]) throws {
        try self.init(configuration: configuration)
        var r = SnapshotReader(bytes: snapshot)
        let version: Int
        switch snapshot.count >= 8 ? Array(snapshot[0..<8]) : [] {
        case Self.snapshotMagic: version = 3
        case Self.snapshotMagicV2: version = 2
        case Self.snapshotMagicV1: version = 1
        default:
            throw AggregationError(.snapshot, "not an access-log pipeline snapshot of version 1, 2 or 3 (\(snapshot.count) bytes)",
                                   key: "magic")
        }
        r.offset = 8
        let wMs = try r.i64(), lMs = try r.i64()
        guard wMs == windowMs, lMs == latenessMs else {
            throw AggregationError(.snapshot,
                                   "snapshot was taken with window \(wMs / 1000) s and lateness \(lMs / 1000) s, configuration has \(windowMs / 1000) s and \(latenessMs / 1000) s",
                                   key: "window")
        }
        watermark = try r.i64()
        lastGoodStart = try r.i64()
        pendingMalformed = try r.i64()
        lineCount = try r.i64()
        malformedCount = try r.i64()
        lastVhost = try r.blob()
        let nw = try r.u32()
        var restored: [Window] = []
        for _ in 0..<nw {
            let start = try r.i64()
            let win = Window(start: start, part: version >= 2 ? try r.i64() : 0)
            let nv = try r.u32()
            for _ in 0..<nv {
                let v = try r.blob()
                let a = v.withUnsafeBytes { win.aggregate(vhost: $0) }
                let nc = try r.u32()
                // A snapshot from before a counter was added has fewer (the new ones start at 0).
                guard nc <= a.counters.count else {
                    throw AggregationError(.snapshot, "snapshot has \(nc) counters per window, expected at most \(a.counters.count)",
                                           key: "counters")
                }
                for i in 0..<nc { a.counters[i] = try r.i64() }
                if version >= 3 {
                    a.clients = try DistinctCounter.decode(from: &r)
                    a.connections = try DistinctCounter.decode(from: &r)
                } else {
                    for _ in 0..<(try r.u32()) {
                        let c = try r.blob()
                        c.withUnsafeBytes { a.clients.insert(hash: DistinctCounter.hash($0)) }
                    }
                    for _ in 0..<(try r.u32()) { a.connections.insert(hash: DistinctCounter.hash(try r.i64())) }
                }
                for _ in 0..<(try r.u32()) {
                    let v = try r.i64()
                    let c = try r.u32()
                    a.requestTimes.add(milliseconds: v, times: UInt32(c))
                }
            }
            if version >= 3 {
                if try r.u8() == 1 { win.topViews = try TopResources.decode(from: &r, k: configuration.topResources) }
                if try r.u8() == 1 { win.topDownloads = try TopResources.decode(from: &r, k: configuration.topResources) }
            }
            restored.append(win)
        }
        windows = restored
        if version >= 2 {
            for _ in 0..<(try r.u32()) {
                let start = try r.i64()
                closedEarly[start] = try r.i64()
            }
        }
        for _ in 0..<(try r.u32()) {
            let json = try r.blob()
            do {
                pendingEvents.append(try ClowderEvent(json: try JSONValue(parsing: json)))
            } catch {
                throw AggregationError(.snapshot, "pending event at byte \(r.offset) is not valid: \(error)", key: "events")
            }
        }
        guard r.offset == snapshot.count else {
            throw AggregationError(.snapshot, "\(snapshot.count - r.offset) unexpected bytes after the snapshot", key: "end")
        }
    }
}

struct SnapshotWriter {
    var bytes: [UInt8] = []

    mutating func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func blob(_ b: [UInt8]) { u32(b.count); bytes.append(contentsOf: b) }
    mutating func blob(_ b: UnsafeRawBufferPointer) { u32(b.count); bytes.append(contentsOf: b) }
}

struct SnapshotReader {
    let bytes: [UInt8]
    var offset = 0

    private func need(_ n: Int) throws {
        guard n >= 0, offset + n <= bytes.count else {
            throw AggregationError(.snapshot, "snapshot truncated at byte \(offset) (needs \(n) more of \(bytes.count))",
                                   key: "length")
        }
    }

    mutating func i64() throws -> Int64 {
        try need(8)
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[offset + k]) << (8 * UInt64(k)) }
        offset += 8
        return Int64(bitPattern: v)
    }

    mutating func u32() throws -> Int {
        try need(4)
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[offset + k]) << (8 * UInt32(k)) }
        offset += 4
        return Int(v)
    }

    mutating func u8() throws -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func raw(_ n: Int) throws -> [UInt8] {
        try need(n)
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    mutating func blob() throws -> [UInt8] {
        let n = try u32()
        try need(n)
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }
}
