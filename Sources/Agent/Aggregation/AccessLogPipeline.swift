import Crypto
import MetricsModel
import Parsers

/// The record path of the agent: access-log line → ``AccessLogParser`` → ``ClowderClassifier``
/// → tumbling windows → `nginx_access` points (and optional Clowder events).
///
/// Windows are aligned to multiples of ``AccessLogPipelineConfiguration/windowSeconds`` since
/// the epoch, by each line's own time in UTC. A window closes when the newest line seen is past
/// its end plus the allowed lateness; a line for a window already closed is counted in the
/// oldest open window and in `late_lines`. A line that does not parse is counted in
/// `malformed_lines` (in the window of its time when the start of the line still gives one,
/// otherwise in the window of the previous good line), and up to 5 are kept as samples.
///
/// Per window and virtual host (`$host`, else `$server_name`, when logged) the point
/// `nginx_access` has, at the window's start (epoch ns; plus 1 ns for each earlier piece of the
/// window that a shutdown closed, see ``closeAll()``): the integer fields of ``AccessCounter``,
/// `distinct_clients` (the left-most address of `$remote_addr`), `distinct_connections` (only
/// when `$connection` is logged), both exact up to 512 and beyond that HyperLogLog estimates
/// with a relative standard error of 1.6 % (``DistinctCounter``), and `request_time_p50`, `_p90`, `_p99`, `_max` in seconds
/// (only when `$request_time` is logged; exact nearest-rank quantiles at NGINX's millisecond
/// resolution, see `RequestTimeHistogram`). `bytes_sent` sums `$body_bytes_sent` (else `$bytes_sent`);
/// `download_bytes` sums it over downloads and partial downloads; `upload_bytes` (only when
/// `$request_length` is logged) sums `$request_length` of answered uploads. Bytes removed by a
/// delete cannot be seen in an access log (a `DELETE` carries no size).
///
/// **Bounded.** Nothing a client chooses grows the state: the vhosts of a window are capped by
/// ``AccessLogPipelineConfiguration/vhostLimit`` (the rest under `vhost=other`), distinct
/// clients and connections take at most 8 KiB each per vhost and window, and `$remote_user`
/// (which any client sets with `Authorization: Basic`) is never a tag and leaves the agent only
/// as a keyed hash when ``AccessLogPipelineConfiguration/remoteUserKey`` is set.
///
/// Not safe for concurrent use. The whole open state can be saved with ``snapshot()`` and
/// restored with ``init(configuration:snapshot:)``, so that a crash between two deliveries
/// counts every line exactly once.
///
/// ```swift
/// let pipeline = try AccessLogPipeline(configuration: config)
/// bytes.withUnsafeBytes { pipeline.add(line: $0) }
/// let (points, events) = pipeline.takeClosed()
/// ```
public final class AccessLogPipeline {
    /// What ``add(line:)`` did with a line.
    public enum LineOutcome: Sendable, Equatable {
        /// Parsed and counted in its window.
        case counted
        /// Parsed, but its window was already closed: counted in the oldest open window and in `late_lines`.
        case late
        /// Did not match the format: counted in `malformed_lines`.
        case malformed
    }

    /// A malformed line kept for the operator.
    public struct MalformedSample: Sendable, Equatable {
        /// 1-based number of the line among those given to this pipeline.
        public var lineNumber: Int64
        /// The line, bytes outside printable ASCII written as `\xHH`, cut at 512 bytes.
        public var text: String
    }

    /// The settings.
    public let configuration: AccessLogPipelineConfiguration
    /// The compiled parser (its ``AccessLogParser/pattern`` is what `check` prints).
    public let parser: AccessLogParser
    let classifier: ClowderClassifier
    let windowMs: Int64
    let latenessMs: Int64
    let vhostField: AccessField?
    let logsConnection: Bool
    let logsRequestTime: Bool
    let logsRequestLength: Bool
    let bytesField: AccessField?
    let emitEvents: Bool
    /// `traefik_json`: each line is a JSON object, rewritten by ``TraefikJSONTranslator`` first.
    let translatesTraefikJSON: Bool
    @exclusivity(unchecked) var bots = BotCache()
    @exclusivity(unchecked) var record: AccessRecord

    @exclusivity(unchecked) var windows: [Window] = []
    /// The newest line time seen, epoch ms (`Int64.min` before the first line).
    @exclusivity(unchecked) public internal(set) var watermark: Int64 = .min
    @exclusivity(unchecked) var lastStart: Int64 = .min
    @exclusivity(unchecked) var lastVhost: [UInt8] = []
    @exclusivity(unchecked) var lastAggregate: WindowAggregate?
    @exclusivity(unchecked) var lastGoodStart: Int64 = .min
    @exclusivity(unchecked) var pendingMalformed: Int64 = 0
    @exclusivity(unchecked) var pendingEvents: [ClowderEvent] = []
    /// Windows that ``closeAll()`` closed before their time (window start epoch ms → pieces
    /// emitted so far); forgotten once the window would have closed. See `Window.part`.
    @exclusivity(unchecked) var closedEarly: [Int64: Int64] = [:]
    /// Lines given to ``add(line:)`` so far (restored from a snapshot).
    @exclusivity(unchecked) public internal(set) var lineCount: Int64 = 0
    /// Malformed lines so far (restored from a snapshot).
    @exclusivity(unchecked) public internal(set) var malformedCount: Int64 = 0
    /// Up to 5 malformed lines (not part of the snapshot).
    public private(set) var malformedSamples: [MalformedSample] = []

    // Totals across closed windows, for the one-pass report.
    var collectTotals = false
    var totalCounters: [Int64] = Array(repeating: 0, count: AccessCounter.allCases.count)
    var totalClients = DistinctCounter()
    var totalConnections = DistinctCounter()
    var totalRequestTimes = RequestTimeHistogram()

    /// Creates an empty pipeline.
    /// - Throws: ``AggregationError`` `.configuration` for a window ≤ 0 s, a lateness < 0 s or a
    ///   format that logs no time; `Parsers.ParserError` `.pattern` if the format cannot be compiled.
    public init(configuration: AccessLogPipelineConfiguration) throws {
        guard configuration.windowSeconds > 0 else {
            throw AggregationError(.configuration, "window must be at least 1 second, got \(configuration.windowSeconds)",
                                   key: "window")
        }
        guard configuration.latenessSeconds >= 0 else {
            throw AggregationError(.configuration, "allowed lateness must be 0 seconds or more, got \(configuration.latenessSeconds)",
                                   key: "lateness")
        }
        self.configuration = configuration
        parser = try AccessLogParser(format: configuration.logFormat)
        guard parser.logsTime else {
            throw AggregationError(.configuration,
                                   "log_format \"\(configuration.logFormat.name ?? configuration.logFormat.string)\" logs no time: add $time_local, $time_iso8601 or $msec",
                                   key: "log_format")
        }
        classifier = ClowderClassifier(prefix: configuration.prefix)
        windowMs = Int64(configuration.windowSeconds) * 1000
        latenessMs = Int64(configuration.latenessSeconds) * 1000
        vhostField = parser.logs(.host) ? .host : parser.logs(.serverName) ? .serverName : nil
        logsConnection = parser.logs(.connection)
        logsRequestTime = parser.logs(.requestTime)
        logsRequestLength = parser.logs(.requestLength)
        bytesField = parser.logs(.bodyBytesSent) ? .bodyBytesSent : parser.logs(.bytesSent) ? .bytesSent : nil
        record = parser.makeRecord()
        emitEvents = configuration.emitEvents
        translatesTraefikJSON = configuration.logFormat.name == "traefik_json"
    }

    // MARK: - Lines

    /// Counts one line (without its newline). Never throws: a line that does not parse is
    /// counted as malformed.
    @discardableResult
    public func add(line: UnsafeRawBufferPointer) -> LineOutcome {
        lineCount &+= 1
        if translatesTraefikJSON, let translated = TraefikJSONTranslator.translate(line) {
            return translated.withUnsafeBytes { t in withUnsafeMutablePointer(to: &record) { add(t, $0) } }
        }
        // Work on the record in place: passing `record` by value would retain and release its
        // storage several times per line.
        return withUnsafeMutablePointer(to: &record) { add(line, $0) }
    }

    @inline(__always)
    private func add(_ line: UnsafeRawBufferPointer, _ rp: UnsafeMutablePointer<AccessRecord>) -> LineOutcome {
        guard parser.parse(line, into: &rp.pointee) else {
            addMalformed(line)
            return .malformed
        }
        let t = rp.pointee.timeMilliseconds
        if t > watermark { watermark = t }
        var start = floorStart(t)
        var late = false
        if isClosed(start) {
            late = true
            start = oldestOpenStart()
        }
        let vhost: UnsafeRawBufferPointer
        if let vf = vhostField, let r = rp.pointee.span(vf) {
            vhost = UnsafeRawBufferPointer(rebasing: line[r])
        } else {
            vhost = UnsafeRawBufferPointer(start: nil, count: 0)
        }
        let agg = aggregate(start: start, vhost: vhost)
        lastGoodStart = start
        count(line, agg, start: start, late: late, rp)
        return late ? .late : .counted
    }

    @inline(__always)
    private func count(_ line: UnsafeRawBufferPointer, _ agg: WindowAggregate, start: Int64, late: Bool,
                       _ rp: UnsafeMutablePointer<AccessRecord>) {
        let status = rp.pointee.status
        var bot = false
        if let ua = rp.pointee.span(.httpUserAgent) {
            bot = bots.isBot(UnsafeRawBufferPointer(rebasing: line[ua]))
        }
        // The spans, not the record: passing `rp.pointee` would copy it (retain and release its slots).
        let k = classifier.classify(line: line, method: rp.pointee.span(.method), path: rp.pointee.span(.path),
                                    query: rp.pointee.span(.query), status: status, isBot: bot)
        let bytes = bytesField == .bodyBytesSent ? rp.pointee.bodyBytesSentValue
            : bytesField == .bytesSent ? rp.pointee.bytesSentValue : -1
        agg.counters.withUnsafeMutableBufferPointer { c in
            c[AccessCounter.requests.rawValue] &+= 1
            let klass = status / 100
            if klass >= 1, klass <= 5 { c[AccessCounter.status1xx.rawValue &+ klass &- 1] &+= 1 }
            if bytes > 0 { c[AccessCounter.bytesSent.rawValue] &+= bytes }
            if late { c[AccessCounter.lateLines.rawValue] &+= 1 }
            if k.isBot { c[AccessCounter.botRequests.rawValue] &+= 1 }
            if k.isAPICall { c[AccessCounter.apiCalls.rawValue] &+= 1 }
            if k.isAsset { c[AccessCounter.assetRequests.rawValue] &+= 1 }
            if k.isPageView { c[AccessCounter.pageViews.rawValue] &+= 1 }
            switch k.action {
            case .none: break
            case .view:
                switch k.resourceType {
                case .file: c[AccessCounter.viewFile.rawValue] &+= 1
                case .dataset: c[AccessCounter.viewDataset.rawValue] &+= 1
                case .collection: c[AccessCounter.viewCollection.rawValue] &+= 1
                case .space: c[AccessCounter.viewSpace.rawValue] &+= 1
                case .none: break
                }
            case .download:
                if bytes > 0 { c[AccessCounter.downloadBytes.rawValue] &+= bytes }
                switch k.resourceType {
                case .file: c[AccessCounter.downloadFile.rawValue] &+= 1
                case .dataset: c[AccessCounter.downloadDataset.rawValue] &+= 1
                case .collection: c[AccessCounter.downloadCollection.rawValue] &+= 1
                default: break
                }
            case .partialDownload:
                c[AccessCounter.partialDownloads.rawValue] &+= 1
                if bytes > 0 { c[AccessCounter.downloadBytes.rawValue] &+= bytes }
            case .upload:
                c[AccessCounter.uploads.rawValue] &+= 1
                let length = rp.pointee.requestLengthValue
                if length > 0 { c[AccessCounter.uploadBytes.rawValue] &+= length }
            case .delete: c[AccessCounter.deletes.rawValue] &+= 1
            case .extraction: c[AccessCounter.extractions.rawValue] &+= 1
            }
        }
        if let r = rp.pointee.clientAddressSpan(in: line) {
            agg.clients.insert(hash: DistinctCounter.hash(UnsafeRawBufferPointer(rebasing: line[r])))
        }
        if logsConnection, rp.pointee.connectionValue >= 0 {
            agg.connections.insert(hash: DistinctCounter.hash(rp.pointee.connectionValue))
        }
        if logsRequestTime, rp.pointee.requestTimeMillisecondsValue >= 0 {
            agg.requestTimes.add(milliseconds: rp.pointee.requestTimeMillisecondsValue)
        }
        if configuration.topResources > 0, k.action == .view || k.action == .download, let id = k.resourceID,
           let key = TopResources.ResourceKey(hex: UnsafeRawBufferPointer(rebasing: line[id]), type: k.resourceType)
        {
            let w = window(start: start)
            if k.action == .view {
                if w.topViews == nil { w.topViews = TopResources(k: configuration.topResources) }
                w.topViews!.add(key)
            } else {
                if w.topDownloads == nil { w.topDownloads = TopResources(k: configuration.topResources) }
                w.topDownloads!.add(key)
            }
        }
        if emitEvents, k.action != .none, k.action != .partialDownload {
            pendingEvents.append(event(k, line, rp.pointee))
        }
    }

    private func event(_ k: ClowderClassification, _ line: UnsafeRawBufferPointer, _ record: AccessRecord) -> ClowderEvent {
        var m: [String: JSONValue] = [
            "category": .string(k.action.eventCategory ?? "unknown"),
            "source": "nginx",
            "created": .int(record.timeMilliseconds),
        ]
        if let t = k.resourceType.name { m["type"] = .string(t) }
        if let id = k.resourceID {
            m["resource_id"] = .string(String(decoding: UnsafeRawBufferPointer(rebasing: line[id]), as: UTF8.self))
        }
        if let target = record.string(.target, in: line) { m["url"] = .string(KeyRedaction.redact(target)) }
        if let key = configuration.remoteUserKey, let user = record.string(.remoteUser, in: line) {
            m["user_id"] = .string(Self.pseudonym(user, key: key))
        }
        if k.action == .upload {
            // The upload's size is what the client sent: `$request_length` (line, headers and body).
            if let n = record.requestLength { m["size"] = .int(n) }
        } else if let b = (bytesField == .bytesSent ? record.bytesSent : record.bodyBytesSent) {
            m["size"] = .int(b)
        }
        return ClowderEvent(m)
    }

    /// `$remote_user` as it may leave the agent: `u-` and the first 16 bytes of
    /// HMAC-SHA256(key, user) in lowercase hex (RFC 2104; the same user gives the same
    /// pseudonym wherever the key is the same, and it cannot be reversed without the key).
    static func pseudonym(_ user: String, key: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(user.utf8), using: SymmetricKey(data: key))
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = Array("u-".utf8)
        for b in mac.prefix(16) { out += [hex[Int(b >> 4)], hex[Int(b & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }

    private func addMalformed(_ line: UnsafeRawBufferPointer) {
        malformedCount &+= 1
        if malformedSamples.count < 5 {
            malformedSamples.append(MalformedSample(lineNumber: lineCount, text: Self.printable(line)))
        }
        var start: Int64
        if let t = parser.recoverTime(line) {
            start = floorStart(t)
        } else if lastGoodStart != .min {
            start = lastGoodStart
        } else {
            pendingMalformed += 1
            return
        }
        if isClosed(start) { start = oldestOpenStart() }
        let agg = lastVhost.withUnsafeBytes { aggregate(start: start, vhost: $0) }
        agg.bump(.malformedLines)
    }

    /// A line made printable for a sample: bytes outside 0x20…0x7E as `\xHH`, cut at 512 bytes,
    /// credentials in it replaced by ``KeyRedaction/redact(bytes:)`` (samples are logged and reported).
    public static func printable(_ line: UnsafeRawBufferPointer) -> String {
        var s = ""
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for c in line.prefix(512) {
            if c >= 0x20 && c < 0x7F { out.append(c) } else {
                out += [0x5C, 0x78, hex[Int(c >> 4)], hex[Int(c & 15)]]
            }
        }
        KeyRedaction.redact(bytes: &out)
        s = String(decoding: out, as: UTF8.self)
        if line.count > 512 { s += "…" }
        return s
    }

    // MARK: - Windows

    @inline(__always)
    func floorStart(_ t: Int64) -> Int64 {
        let q = t / windowMs
        return (t % windowMs < 0 ? q - 1 : q) * windowMs
    }

    @inline(__always)
    func isClosed(_ start: Int64) -> Bool {
        watermark != .min && start + windowMs + latenessMs < watermark
    }

    /// The oldest window not closed, or the window holding the watermark when none is open.
    func oldestOpenStart() -> Int64 {
        for w in windows where !isClosed(w.start) { return w.start }
        return floorStart(watermark)
    }

    @inline(__always)
    private func aggregate(start: Int64, vhost: UnsafeRawBufferPointer) -> WindowAggregate {
        if start == lastStart, let a = lastAggregate, lastVhost.count == vhost.count,
           vhost.count == 0 || lastVhost.withUnsafeBytes({ $0.elementsEqual(vhost) })
        {
            return a
        }
        let w = window(start: start)
        let a = w.aggregate(vhost: vhost, limit: configuration.vhostLimit)
        if pendingMalformed > 0 {
            a.counters[AccessCounter.malformedLines.rawValue] += pendingMalformed
            pendingMalformed = 0
        }
        lastStart = start
        if lastVhost.count != vhost.count || !lastVhost.withUnsafeBytes({ $0.elementsEqual(vhost) }) {
            lastVhost = Array(vhost)
        }
        lastAggregate = a
        return a
    }

    private func window(start: Int64) -> Window {
        var i = windows.count
        while i > 0 {
            let w = windows[i - 1]
            if w.start == start { return w }
            if w.start < start { break }
            i -= 1
        }
        let w = Window(start: start, part: closedEarly[start] ?? 0)
        windows.insert(w, at: i)
        return w
    }

    /// Heap bytes held by the open windows' aggregates: vhost names, counters, distinct-value
    /// counters and request-time histograms (the state whose size must not depend on what clients
    /// send; pending events, bounded by the lines between two takes, are not included).
    package var stateByteCount: Int {
        var n = 0
        for w in windows {
            for (v, a) in zip(w.vhosts, w.aggregates) {
                n += v.count + a.counters.capacity * 8 + a.clients.byteCount + a.connections.byteCount
                n += a.requestTimes.byteCount
            }
            n += (w.topViews?.byteCount ?? 0) + (w.topDownloads?.byteCount ?? 0)
        }
        return n
    }

    /// Moves the watermark forward to `epochMilliseconds` (e.g. the wall clock when no line has
    /// arrived for a while), so that idle windows can close. Never moves it back.
    package func advanceWatermark(toEpochMilliseconds t: Int64) {
        if t > watermark { watermark = t }
    }

    /// The points of every window that is closed, oldest first (then by vhost), and the events
    /// made since the last call; both are removed from the pipeline.
    public func takeClosed() -> (points: [Point], events: [ClowderEvent]) {
        var points: [Point] = []
        while let w = windows.first, isClosed(w.start) {
            windows.removeFirst()
            finish(w, into: &points)
        }
        if !closedEarly.isEmpty { closedEarly = closedEarly.filter { !isClosed($0.key) } }
        let events = pendingEvents
        pendingEvents = []
        return (points, events)
    }

    /// Closes every open window (at shutdown): their points and the pending events.
    ///
    /// A window closed here before its time is remembered (and kept in ``snapshot()``): when
    /// lines of it arrive after a restart, its next points are stamped 1 ns later than these,
    /// so both pieces count in InfluxDB instead of the second overwriting the first.
    public func closeAll() -> (points: [Point], events: [ClowderEvent]) {
        var points: [Point] = []
        for w in windows {
            if !isClosed(w.start) { closedEarly[w.start] = w.part + 1 }
            finish(w, into: &points)
        }
        windows = []
        let events = pendingEvents
        pendingEvents = []
        return (points, events)
    }

    private func finish(_ w: Window, into points: inout [Point]) {
        if lastStart == w.start { lastAggregate = nil; lastStart = .min }
        let order = w.vhosts.indices.sorted { w.vhosts[$0].lexicographicallyPrecedes(w.vhosts[$1]) }
        for i in order {
            let a = w.aggregates[i]
            points.append(point(start: w.start, part: w.part, vhost: w.vhosts[i], a))
            if collectTotals {
                for c in 0..<totalCounters.count { totalCounters[c] &+= a.counters[c] }
                totalClients.formUnion(a.clients)
                totalConnections.formUnion(a.connections)
                totalRequestTimes.merge(a.requestTimes)
            }
        }
        if let t = w.topViews { topPoints(t, kind: "view", w, into: &points) }
        if let t = w.topDownloads { topPoints(t, kind: "download", w, into: &points) }
    }

    /// One `nginx_top_resources` point per resource of the window's top K: tags `kind` (`view` or
    /// `download`), `type` (file, dataset, collection, space) and `resource_id` (24 hex digits)
    /// besides the agent's; fields `count` (an upper bound of the views or downloads of the window,
    /// all vhosts, bots excluded), `count_error` (how much `count` may exceed the truth: 0 = exact)
    /// and `rank` (1 = most). Stamped like the window's `nginx_access` points.
    private func topPoints(_ t: TopResources, kind: String, _ w: Window, into points: inout [Point]) {
        for (rank, e) in t.top().enumerated() {
            var tags = configuration.tags
            tags["kind"] = kind
            tags["type"] = e.key.type.name ?? "unknown"
            tags["resource_id"] = e.key.hex
            points.append(Point(
                measurement: "nginx_top_resources", tags: tags,
                fields: ["count": .int(e.count), "count_error": .int(e.error), "rank": .int(Int64(rank + 1))],
                timeNanoseconds: w.start * 1_000_000 + w.part))
        }
    }

    func fields(counters: [Int64], clients: Int64, connections: Int64, times: RequestTimeHistogram) -> [String: JSONValue] {
        var f: [String: JSONValue] = [:]
        for c in AccessCounter.allCases where c != .uploadBytes || logsRequestLength {
            f[c.fieldName] = .int(counters[c.rawValue])
        }
        f["distinct_clients"] = .int(clients)
        if logsConnection { f["distinct_connections"] = .int(connections) }
        if logsRequestTime, times.count > 0 {
            let q = times.quantiles(perMille: [500, 900, 990])
            f["request_time_p50"] = .double(Double(q[0]) / 1000)
            f["request_time_p90"] = .double(Double(q[1]) / 1000)
            f["request_time_p99"] = .double(Double(q[2]) / 1000)
            f["request_time_max"] = .double(Double(times.maximum) / 1000)
        }
        return f
    }

    private func point(start: Int64, part: Int64, vhost: [UInt8], _ a: WindowAggregate) -> Point {
        var tags = configuration.tags
        if !vhost.isEmpty { tags["vhost"] = String(decoding: vhost, as: UTF8.self) }
        return Point(measurement: "nginx_access", tags: tags,
                     fields: fields(counters: a.counters, clients: a.clients.estimate, connections: a.connections.estimate,
                                    times: a.requestTimes),
                     timeNanoseconds: start * 1_000_000 + part)
    }
}
