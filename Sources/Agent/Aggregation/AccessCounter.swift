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
    @exclusivity(unchecked) var clients = ByteStringSet()
    @exclusivity(unchecked) var connections = IntegerSet()
    @exclusivity(unchecked) var requestTimes = RequestTimeHistogram()

    @inline(__always)
    func bump(_ c: AccessCounter) { counters[c.rawValue] &+= 1 }
}

/// One open window: its start (epoch ms) and an aggregate per virtual host (vhost `[]` when the
/// format logs no `$host`/`$server_name`). Few vhosts per agent: a linear list, no hashing.
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

    init(start: Int64, part: Int64 = 0) {
        self.start = start
        self.part = part
    }

    /// The aggregate of `vhost`, created when missing.
    func aggregate(vhost: UnsafeRawBufferPointer) -> WindowAggregate {
        for i in 0..<vhosts.count {
            let v = vhosts[i]
            if v.count == vhost.count, v.withUnsafeBytes({ $0.elementsEqual(vhost) }) { return aggregates[i] }
        }
        let a = WindowAggregate()
        vhosts.append(Array(vhost))
        aggregates.append(a)
        return a
    }
}
