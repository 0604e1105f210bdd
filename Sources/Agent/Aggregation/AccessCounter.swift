/// The integer fields of the `nginx_access` point (DESIGN.md, "Aggregator"), in field order.
/// The raw value indexes a window's counter array.
public enum AccessCounter: Int, CaseIterable, Sendable {
    case requests, pageViews, viewFile, viewDataset, viewCollection, viewSpace
    case downloadFile, downloadDataset, downloadCollection, partialDownloads
    case uploads, deletes, extractions, apiCalls, assetRequests, botRequests
    case status1xx, status2xx, status3xx, status4xx, status5xx
    case bytesSent, malformedLines, lateLines
    /// `upload_bytes`: the sum of `$request_length` (bytes, request line + headers + body) of answered
    /// uploads; emitted only when the format logs `$request_length`.
    case uploadBytes
    /// `download_bytes`: the sum of `$body_bytes_sent` (else `$bytes_sent`) of downloads and partial downloads.
    case downloadBytes

    /// The InfluxDB field name (e.g. `page_views`, `status_2xx`, `bytes_sent` in bytes).
    public var fieldName: String {
        switch self {
        case .requests: "requests"
        case .pageViews: "page_views"
        case .viewFile: "view_file"
        case .viewDataset: "view_dataset"
        case .viewCollection: "view_collection"
        case .viewSpace: "view_space"
        case .downloadFile: "download_file"
        case .downloadDataset: "download_dataset"
        case .downloadCollection: "download_collection"
        case .partialDownloads: "partial_downloads"
        case .uploads: "uploads"
        case .deletes: "deletes"
        case .extractions: "extractions"
        case .apiCalls: "api_calls"
        case .assetRequests: "asset_requests"
        case .botRequests: "bot_requests"
        case .status1xx: "status_1xx"
        case .status2xx: "status_2xx"
        case .status3xx: "status_3xx"
        case .status4xx: "status_4xx"
        case .status5xx: "status_5xx"
        case .bytesSent: "bytes_sent"
        case .malformedLines: "malformed_lines"
        case .lateLines: "late_lines"
        case .uploadBytes: "upload_bytes"
        case .downloadBytes: "download_bytes"
        }
    }
}

/// Everything counted for one window and one virtual host.
final class WindowAggregate {
    @exclusivity(unchecked) var counters: [Int64] = Array(repeating: 0, count: AccessCounter.allCases.count)
    /// Distinct client addresses (exact up to 512, then HyperLogLog, see ``DistinctCounter``).
    @exclusivity(unchecked) var clients = DistinctCounter()
    /// Distinct `$connection` serial numbers (same estimator).
    @exclusivity(unchecked) var connections = DistinctCounter()
    @exclusivity(unchecked) var requestTimes = RequestTimeHistogram()

    @inline(__always)
    func bump(_ c: AccessCounter) { counters[c.rawValue] &+= 1 }
}

/// One open window: its start (epoch ms) and an aggregate per virtual host (vhost `[]` when the
/// format logs no `$host`/`$server_name`). The vhosts are capped by a ``VhostLimit`` (at most
/// `maxVhosts` of their own plus `other`), so a linear list, no hashing.
///
/// `part` counts the earlier pieces of the same window that a shutdown closed before their time
/// (0 normally): the window's points are stamped `part` nanoseconds after its start, so a piece
/// emitted after a restart never overwrites the one emitted at shutdown (same series and time)
/// in InfluxDB.
final class Window {
    let start: Int64
    let part: Int64
    var vhosts: [[UInt8]] = []
    var aggregates: [WindowAggregate] = []
    /// Vhosts of their own (every entry but `other`).
    private var ownVhosts = 0
    /// The most viewed and the most downloaded resources (all vhosts), when top-K is on.
    var topViews: TopResources?
    var topDownloads: TopResources?

    init(start: Int64, part: Int64 = 0) {
        self.start = start
        self.part = part
    }

    /// The aggregate `host` is counted in, created when missing: the host's own, or the one of
    /// the name `limit` puts it under (`other`, a wildcard server name). Without `limit` (a
    /// snapshot being restored), the host's own.
    func aggregate(vhost: UnsafeRawBufferPointer, limit: VhostLimit? = nil) -> WindowAggregate {
        if let i = index(of: vhost) { return aggregates[i] }
        guard let limit else { return append(Array(vhost)) }
        switch limit.key(for: vhost) {
        case .itself:
            if !vhost.isEmpty, ownVhosts >= limit.maxVhosts { return other() }
            return append(Array(vhost))
        case .named(let name):
            if let i = name.withUnsafeBytes({ index(of: $0) }) { return aggregates[i] }
            if name == VhostLimit.other || ownVhosts >= limit.maxVhosts { return other() }
            return append(name)
        }
    }

    /// The `other` aggregate, created when missing.
    private func other() -> WindowAggregate {
        if let i = VhostLimit.other.withUnsafeBytes({ index(of: $0) }) { return aggregates[i] }
        return append(VhostLimit.other)
    }

    private func index(of vhost: UnsafeRawBufferPointer) -> Int? {
        for i in 0..<vhosts.count {
            let v = vhosts[i]
            if v.count == vhost.count, v.withUnsafeBytes({ $0.elementsEqual(vhost) }) { return i }
        }
        return nil
    }

    private func append(_ name: [UInt8]) -> WindowAggregate {
        let a = WindowAggregate()
        vhosts.append(name)
        aggregates.append(a)
        if name != VhostLimit.other { ownVhosts += 1 }
        return a
    }
}
