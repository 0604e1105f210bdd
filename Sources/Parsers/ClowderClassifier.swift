/// Classifies requests by Clowder's routes (DESIGN.md, "Classifying a request"), on bytes.
///
/// Routes (ids are 24 hex characters; `P` is the context prefix, e.g. `/clowder`):
/// - views (GET 200): v1 `P/files/:id`, `P/datasets/:id`, `P/collection/:id`, `P/spaces/:id`;
///   v2 `P/api/v2/files/:id/summary`, `P/api/v2/datasets/:id`.
/// - downloads (GET 200; 206 = partial): v1 `P/files/:id/blob`, `P/api/files/:id/blob`,
///   `P/api/files/:id`, `P/api/datasets/:id/download`, `P/api/collections/:id/download`
///   (not with `tracking=false`); v2 `P/api/v2/files/:id`, `P/api/v2/datasets/:id/download`
///   (not with `increment=false`).
/// - uploads (POST 2xx): v1 `P/api/files`, `P/api/files/withFlags/:flags`, `P/api/uploadToDataset/:id`,
///   `P/api/uploadToDataset/withFlags/:id/:flags`, `P/api/datasets/:id/files`; v2
///   `P/api/v2/datasets/:id/files`, `P/api/v2/datasets/:id/filesMultiple`.
/// - deletes (2xx): `DELETE P/api/{files,datasets,collections,spaces}/:id`, v1
///   `POST P/api/{files,datasets,collections}/:id/remove`; v2 `DELETE P/api/v2/{files,datasets}/:id`.
/// - extractions (POST 2xx): v1 `P/api/{files,datasets}/:id/extractions`; v2 `P/api/v2/{files,datasets}/:id/extract`.
/// - not page views: assets, api calls, downloads, `P/fileThumbnail/…`, `P/api/thumbnails/…`,
///   `P/api/previews/…`, `P/healthz`, anything outside `P`.
///
/// Source: Clowder v1 `conf/routes` (clowder-framework/clowder), Clowder v2 backend routers.
///
/// ```swift
/// let c = ClowderClassifier(prefix: "/clowder")
/// let k = c.classify(record, in: line)
/// if k.action == .download { … }
/// ```
public struct ClowderClassifier: Sendable {
    /// The context prefix without a trailing `/` (empty for none).
    public let prefix: [UInt8]

    /// - Parameter prefix: Clowder's `application.context`, e.g. `/clowder` (a trailing `/` is ignored; `""` or `/` for none).
    public init(prefix: String = "") {
        var p = Array(prefix.utf8)
        while p.last == 0x2F { p.removeLast() }
        if !p.isEmpty, p.first != 0x2F { p.insert(0x2F, at: 0) }
        self.prefix = p
    }

    /// Classifies a parsed record (its method, path, query, status and user agent).
    public func classify(_ record: AccessRecord, in line: UnsafeRawBufferPointer) -> ClowderClassification {
        let ua = record.bytes(.httpUserAgent, in: line)
        let bot = ua.map(Self.isBot) ?? false
        return classify(record, in: line, isBot: bot)
    }

    /// Classifies a parsed record whose bot-ness the caller already knows (e.g. from a cache).
    public func classify(_ record: AccessRecord, in line: UnsafeRawBufferPointer, isBot: Bool) -> ClowderClassification {
        var out = ClowderClassification()
        out.isBot = isBot
        guard let m = record.span(.method), let p = record.span(.path) else { return out }
        let q = record.span(.query)
        classify(line: line, method: m, path: p, query: q, status: record.status, into: &out)
        return out
    }

    /// Classifies a request from its byte ranges in `line` (what ``AccessRecord`` holds), for hot
    /// loops that keep the record in place: `method`, `path` and `query` as
    /// ``AccessRecord/span(_:)`` gives them, `status` as ``AccessRecord/status``.
    @inline(__always)
    public func classify(line: UnsafeRawBufferPointer, method: Range<Int>?, path: Range<Int>?, query: Range<Int>?,
                         status: Int, isBot: Bool) -> ClowderClassification {
        var out = ClowderClassification()
        out.isBot = isBot
        guard let m = method, let p = path else { return out }
        classify(line: line, method: m, path: p, query: query, status: status, into: &out)
        return out
    }

    /// Classifies from strings (for tools and tests).
    public func classify(method: String, target: String, status: Int, userAgent: String? = nil) -> ClowderClassification {
        var bytes = Array(method.utf8)
        let m = 0..<bytes.count
        let t0 = bytes.count
        bytes += Array(target.utf8)
        let qMark = bytes[t0...].firstIndex(of: 0x3F)
        let p = t0..<(qMark ?? bytes.count)
        let q = qMark.map { ($0 + 1)..<bytes.count }
        let u0 = bytes.count
        bytes += Array((userAgent ?? "").utf8)
        var out = ClowderClassification()
        bytes.withUnsafeBytes { line in
            out.isBot = userAgent.map { _ in Self.isBot(UnsafeRawBufferPointer(rebasing: line[u0...])) } ?? false
            classify(line: line, method: m, path: p, query: q, status: status, into: &out)
        }
        return out
    }

    // MARK: - Rules

    private enum Method { case get, post, delete, other }

    private func classify(line: UnsafeRawBufferPointer, method m: Range<Int>, path p: Range<Int>, query q: Range<Int>?,
                          status: Int, into out: inout ClowderClassification) {
        let method: Method
        switch m.count {
        case 3 where line[m.lowerBound] == 0x47 && line[m.lowerBound + 1] == 0x45 && line[m.lowerBound + 2] == 0x54: method = .get
        case 4 where Self.eq(line, m, "POST"): method = .post
        case 6 where Self.eq(line, m, "DELETE"): method = .delete
        default: method = .other
        }
        out.isAsset = Self.isAsset(line, p, prefix: prefix)
        // Inside the context prefix?
        var start = p.lowerBound
        if !prefix.isEmpty {
            guard p.count >= prefix.count, prefix.withUnsafeBytes({ Self.eq(line, start..<(start + prefix.count), $0) })
            else { return }
            start += prefix.count
            guard start == p.upperBound || line[start] == 0x2F else { return }
        }
        let rel = start..<p.upperBound
        let isAPI = rel.count >= 5 && Self.eq(line, rel.lowerBound..<(rel.lowerBound + 5), "/api/")
        out.isAPICall = isAPI
        // An asset outside the API names no resource (ids have no `.`, and `/assets/` is no
        // resource route) and is never a page view: nothing more to look at.
        if out.isAsset, !isAPI { return }
        var seg = Segments()
        seg.split(line, rel)
        var notPage = out.isAsset || isAPI
        let success = status >= 200 && status < 300

        if isAPI {
            let v2 = seg.count >= 2 && Self.eq(line, seg[1], "v2")
            if v2 {
                apiV2(line, seg, method, status, success, q, &out)
            } else {
                apiV1(line, seg, method, status, success, q, &out)
            }
        } else {
            // v1 web routes
            switch seg.count {
            case 1:
                if Self.eq(line, seg[0], "healthz") { notPage = true }
            case 2:
                if method == .get, status == 200, Self.isID(line, seg[1]) {
                    let type = Self.viewType(line, seg[0])
                    if type != .none { setView(type, seg[1], &out) }
                }
            case 3:
                if Self.eq(line, seg[0], "files"), Self.isID(line, seg[1]), Self.eq(line, seg[2], "blob") {
                    notPage = true
                    if method == .get { download(.file, seg[1], status, line, q, v2: false, &out) }
                }
            default: break
            }
            if seg.count >= 1, Self.eq(line, seg[0], "fileThumbnail") { notPage = true }
        }
        if method == .get, status == 200 || status == 304, !notPage, !out.isBot {
            out.isPageView = true
        }
    }

    private func setView(_ type: ClowderClassification.ResourceType, _ id: Range<Int>, _ out: inout ClowderClassification) {
        guard !out.isBot else { return }
        out.action = .view
        out.resourceType = type
        out.resourceID = id
    }

    private func download(_ type: ClowderClassification.ResourceType, _ id: Range<Int>, _ status: Int,
                          _ line: UnsafeRawBufferPointer, _ q: Range<Int>?, v2: Bool, _ out: inout ClowderClassification) {
        guard !out.isBot, status == 200 || status == 206 else { return }
        if let q, Self.hasParameter(line, q, v2 ? "increment=false" : "tracking=false") { return }
        out.action = status == 200 ? .download : .partialDownload
        out.resourceType = type
        out.resourceID = id
    }

    private func set(_ action: ClowderClassification.Action, _ type: ClowderClassification.ResourceType,
                     _ id: Range<Int>?, _ success: Bool, _ out: inout ClowderClassification) {
        guard success else { return }
        out.action = action
        out.resourceType = type
        out.resourceID = id
    }

    /// v1 API routes: seg[0] == "api".
    private func apiV1(_ line: UnsafeRawBufferPointer, _ seg: Segments, _ method: Method, _ status: Int, _ success: Bool,
                       _ q: Range<Int>?, _ out: inout ClowderClassification) {
        guard seg.count >= 2 else { return }
        let s1 = seg[1]
        let type = Self.apiCollectionType(line, s1)
        switch method {
        case .get:
            if seg.count == 3, type == .file, Self.isID(line, seg[2]) {
                download(.file, seg[2], status, line, q, v2: false, &out)
            } else if seg.count == 4, Self.isID(line, seg[2]) {
                if type == .file, Self.eq(line, seg[3], "blob") {
                    download(.file, seg[2], status, line, q, v2: false, &out)
                } else if type == .dataset || type == .collection, Self.eq(line, seg[3], "download") {
                    download(type, seg[2], status, line, q, v2: false, &out)
                }
            }
        case .post:
            if seg.count == 2, type == .file {
                set(.upload, .file, nil, success, &out)
            } else if seg.count == 4, type == .file, Self.eq(line, seg[2], "withFlags") {
                set(.upload, .file, nil, success, &out)
            } else if seg.count == 3, Self.eq(line, s1, "uploadToDataset"), Self.isID(line, seg[2]) {
                set(.upload, .dataset, seg[2], success, &out)
            } else if seg.count == 5, Self.eq(line, s1, "uploadToDataset"), Self.eq(line, seg[2], "withFlags"),
                      Self.isID(line, seg[3]) {
                set(.upload, .dataset, seg[3], success, &out)
            } else if seg.count == 4, Self.isID(line, seg[2]) {
                let s3 = seg[3]
                if type == .dataset, Self.eq(line, s3, "files") {
                    set(.upload, .dataset, seg[2], success, &out)
                } else if type == .file || type == .dataset, Self.eq(line, s3, "extractions") {
                    set(.extraction, type, seg[2], success, &out)
                } else if type == .file || type == .dataset || type == .collection, Self.eq(line, s3, "remove") {
                    set(.delete, type, seg[2], success, &out)
                }
            }
        case .delete:
            if seg.count == 3, type != .none, Self.isID(line, seg[2]) {
                set(.delete, type, seg[2], success, &out)
            }
        case .other:
            break
        }
    }

    /// v2 API routes: seg[0] == "api", seg[1] == "v2".
    private func apiV2(_ line: UnsafeRawBufferPointer, _ seg: Segments, _ method: Method, _ status: Int, _ success: Bool,
                       _ q: Range<Int>?, _ out: inout ClowderClassification) {
        guard seg.count >= 4, Self.isID(line, seg[3]) else { return }
        let type = Self.apiCollectionType(line, seg[2])
        guard type == .file || type == .dataset else { return }
        let id = seg[3]
        switch method {
        case .get:
            if seg.count == 4 {
                if type == .file { download(.file, id, status, line, q, v2: true, &out) }
                else if status == 200 { setView(.dataset, id, &out) }
            } else if seg.count == 5 {
                if type == .file, Self.eq(line, seg[4], "summary") {
                    if status == 200 { setView(.file, id, &out) }
                } else if type == .dataset, Self.eq(line, seg[4], "download") {
                    download(.dataset, id, status, line, q, v2: true, &out)
                }
            }
        case .post:
            if seg.count == 5 {
                if type == .dataset, Self.eq(line, seg[4], "files") || Self.eq(line, seg[4], "filesMultiple") {
                    set(.upload, .dataset, id, success, &out)
                } else if Self.eq(line, seg[4], "extract") {
                    set(.extraction, type, id, success, &out)
                }
            }
        case .delete:
            if seg.count == 4 { set(.delete, type, id, success, &out) }
        case .other:
            break
        }
    }

    // MARK: - Byte helpers

    /// Up to 6 path segments (`count == 7` means more).
    struct Segments {
        var count = 0
        var b: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

        subscript(i: Int) -> Range<Int> {
            switch i {
            case 0: b.0..<b.1
            case 1: b.2..<b.3
            case 2: b.4..<b.5
            case 3: b.6..<b.7
            case 4: b.8..<b.9
            default: b.10..<b.11
            }
        }

        mutating func split(_ line: UnsafeRawBufferPointer, _ r: Range<Int>) {
            var i = r.lowerBound
            while i < r.upperBound {
                if line[i] == 0x2F { i += 1; continue }
                let s = i
                while i < r.upperBound, line[i] != 0x2F { i += 1 }
                switch count {
                case 0: b.0 = s; b.1 = i
                case 1: b.2 = s; b.3 = i
                case 2: b.4 = s; b.5 = i
                case 3: b.6 = s; b.7 = i
                case 4: b.8 = s; b.9 = i
                case 5: b.10 = s; b.11 = i
                default: count = 7; return
                }
                count += 1
            }
        }
    }

    @inline(__always)
    static func eq(_ line: UnsafeRawBufferPointer, _ r: Range<Int>, _ s: StaticString) -> Bool {
        guard r.count == s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for k in 0..<r.count where line[r.lowerBound + k] != p[k] { return false }
        return true
    }

    @inline(__always)
    static func eq(_ line: UnsafeRawBufferPointer, _ r: Range<Int>, _ s: UnsafeRawBufferPointer) -> Bool {
        guard r.count == s.count else { return false }
        for k in 0..<r.count where line[r.lowerBound + k] != s[k] { return false }
        return true
    }

    /// A Clowder (MongoDB ObjectId) id: 24 hex characters.
    @inline(__always)
    static func isID(_ line: UnsafeRawBufferPointer, _ r: Range<Int>) -> Bool {
        guard r.count == 24 else { return false }
        // Branch-free over the 24 bytes: bit c of a 128-bit map says whether byte c is a hex digit.
        let low: UInt64 = 0x03FF_0000_0000_0000  // 0x30…0x39
        let high: UInt64 = 0x0000_007E_0000_007E  // 0x41…0x46, 0x61…0x66
        var bad: UInt64 = 0
        var i = r.lowerBound
        while i < r.upperBound {
            let c = line[i]
            let map = c < 64 ? low : c < 128 ? high : 0
            bad |= ~(map >> UInt64(c & 63)) & 1
            i &+= 1
        }
        return bad == 0
    }

    private static func viewType(_ line: UnsafeRawBufferPointer, _ r: Range<Int>) -> ClowderClassification.ResourceType {
        if eq(line, r, "files") { return .file }
        if eq(line, r, "datasets") { return .dataset }
        if eq(line, r, "collection") { return .collection }
        if eq(line, r, "spaces") { return .space }
        return .none
    }

    private static func apiCollectionType(_ line: UnsafeRawBufferPointer, _ r: Range<Int>) -> ClowderClassification.ResourceType {
        if eq(line, r, "files") { return .file }
        if eq(line, r, "datasets") { return .dataset }
        if eq(line, r, "collections") { return .collection }
        if eq(line, r, "spaces") { return .space }
        return .none
    }

    /// Whether the query has the exact `name=value` parameter `param`.
    static func hasParameter(_ line: UnsafeRawBufferPointer, _ q: Range<Int>, _ param: StaticString) -> Bool {
        var i = q.lowerBound
        while i < q.upperBound {
            let s = i
            while i < q.upperBound, line[i] != 0x26 { i += 1 }
            if eq(line, s..<i, param) { return true }
            i += 1
        }
        return false
    }

    /// Under `/assets/` (or `P/assets/`) or ending in a static-file extension (`.js .css .png .jpg
    /// .jpeg .gif .svg .ico .woff .woff2 .ttf .map`, ASCII case ignored).
    static func isAsset(_ line: UnsafeRawBufferPointer, _ p: Range<Int>, prefix: [UInt8]) -> Bool {
        let assets: StaticString = "/assets/"
        if p.count >= 8, eq(line, p.lowerBound..<(p.lowerBound + 8), assets) { return true }
        if !prefix.isEmpty, p.count >= prefix.count + 8,
           eq(line, (p.lowerBound + prefix.count)..<(p.lowerBound + prefix.count + 8), assets),
           prefix.withUnsafeBytes({ eq(line, p.lowerBound..<(p.lowerBound + prefix.count), $0) })
        {
            return true
        }
        // The extension of the last segment: at most 5 bytes after a `.`, packed lowercase into
        // one word (first byte lowest) and compared with the packed extensions.
        let hi = p.upperBound
        var i = hi - 1
        var word: UInt64 = 0
        while i > p.lowerBound, hi - i <= 6 {
            let c = line[i]
            if c == 0x2E { break }
            if c == 0x2F { return false }
            word = word << 8 | UInt64(c | 0x20)
            i -= 1
        }
        guard i >= p.lowerBound, line[i] == 0x2E, hi - i - 1 >= 2, hi - i - 1 <= 5 else { return false }
        switch word {
        case 0x736A,  // js
             0x73_7363,  // css
             0x67_6E70,  // png
             0x67_706A,  // jpg
             0x6765_706A,  // jpeg
             0x66_6967,  // gif
             0x67_7673,  // svg
             0x6F_6369,  // ico
             0x6666_6F77,  // woff
             0x32_6666_6F77,  // woff2
             0x66_7474,  // ttf
             0x70_616D:  // map
            return true
        default:
            return false
        }
    }
}
