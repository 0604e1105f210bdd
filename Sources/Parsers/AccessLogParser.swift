import CPCRE2

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses access-log lines of one ``LogFormat`` with one anchored, JIT-compiled PCRE2 pattern.
///
/// The pattern has one capture group per variable (see ``pattern``); a line parses when the
/// pattern matches from its first byte and the match ends at the end of the line or before a
/// space (so extra trailing fields, e.g. a `"-"` some setups append, are tolerated). Numbers
/// and times are converted during ``parse(_:into:)``; text stays as byte ranges.
///
/// Not safe for concurrent use: it owns PCRE2 match data that each call overwrites.
///
/// Source: PCRE2 API (`pcre2_compile`, `pcre2_jit_compile` with `PCRE2_JIT_COMPLETE`,
/// `pcre2_jit_match`), pcre2jit(3).
///
/// ```swift
/// let parser = try AccessLogParser(format: .combined)
/// var record = parser.makeRecord()
/// let ok = line.withUnsafeBytes { parser.parse($0, into: &record) }
/// ```
public final class AccessLogParser {
    /// The format being parsed.
    public let format: LogFormat
    /// The PCRE2 pattern compiled from ``format`` (compiled with `PCRE2_ANCHORED | PCRE2_DOTALL`).
    public let pattern: String
    /// Names of the variables the parser does not know, in order; index = custom index.
    public let customNames: [String]

    private let code: OpaquePointer
    private let matchData: OpaquePointer
    private let matchContext: OpaquePointer
    private let jitStack: OpaquePointer
    private let ovector: UnsafeMutablePointer<Int>
    private let slotOfGroup: UnsafeMutablePointer<Int>
    private let groupCount: Int
    private let loggedFields: [Bool]
    // The flags `derive` reads on every line, copied out of `loggedFields` (no array access).
    private let logsStatus, logsBodyBytes, logsBytes, logsRequestLength, logsConnection, logsRequestTime: Bool
    private let logsRequest: Bool
    private let timeField: AccessField?
    /// The last `$time_local` bytes converted (as words) and their value.
    @exclusivity(unchecked) private var lastTime: (UInt64, UInt64, UInt64, UInt16) = (0, 0, 0, 0)
    @exclusivity(unchecked) private var lastTimeMilliseconds: Int64 = 0
    private let timeRecovery: (code: OpaquePointer, matchData: OpaquePointer, group: Int)?

    /// Compiles `format`.
    /// - Throws: ``ParserError`` `.pattern` if PCRE2 refuses the generated pattern (message with
    ///   PCRE2's error text and offset) or cannot JIT-compile it.
    public init(format: LogFormat) throws {
        self.format = format
        let built = PatternBuilder(format: format)
        pattern = built.pattern
        customNames = built.customNames
        slotOfGroup = UnsafeMutablePointer<Int>.allocate(capacity: max(1, built.slots.count))
        slotOfGroup.initialize(from: built.slots, count: built.slots.count)
        groupCount = built.slots.count
        var logged = Array(repeating: false, count: AccessField.allCases.count)
        for s in built.slots where s < logged.count { logged[s] = true }
        loggedFields = logged
        logsStatus = logged[AccessField.status.rawValue]
        logsBodyBytes = logged[AccessField.bodyBytesSent.rawValue]
        logsBytes = logged[AccessField.bytesSent.rawValue]
        logsRequestLength = logged[AccessField.requestLength.rawValue]
        logsConnection = logged[AccessField.connection.rawValue]
        logsRequestTime = logged[AccessField.requestTime.rawValue]
        logsRequest = logged[AccessField.request.rawValue]
        timeField = [AccessField.timeLocal, .timeISO8601, .msec].first { logged[$0.rawValue] }

        code = try Self.compile(built.pattern, formatName: format.name ?? format.string)
        guard let md = pcre2_match_data_create_from_pattern_8(code, nil) else {
            pcre2_code_free_8(code)
            throw ParserError(.pattern, "pcre2_match_data_create failed (out of memory)")
        }
        matchData = md
        ovector = pcre2_get_ovector_pointer_8(md)
        matchContext = pcre2_match_context_create_8(nil)!
        jitStack = pcre2_jit_stack_create_8(32 * 1024, 1024 * 1024, nil)!
        pcre2_jit_stack_assign_8(matchContext, nil, UnsafeMutableRawPointer(jitStack))
        pcre2_set_match_limit_8(matchContext, 2_000_000)

        if let tf = timeField {
            let prefix = PatternBuilder(format: format, stopAfterTime: true)
            if let c = try? Self.compile(prefix.pattern, formatName: "time prefix"),
               let m = pcre2_match_data_create_from_pattern_8(c, nil),
               let g = prefix.slots.firstIndex(of: tf.rawValue)
            {
                timeRecovery = (c, m, g + 1)
            } else {
                timeRecovery = nil
            }
        } else {
            timeRecovery = nil
        }
    }

    deinit {
        slotOfGroup.deallocate()
        pcre2_match_data_free_8(matchData)
        pcre2_code_free_8(code)
        pcre2_match_context_free_8(matchContext)
        pcre2_jit_stack_free_8(jitStack)
        if let t = timeRecovery {
            pcre2_match_data_free_8(t.matchData)
            pcre2_code_free_8(t.code)
        }
    }

    private static func compile(_ pattern: String, formatName: String) throws -> OpaquePointer {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = Array(pattern.utf8)
        let options = UInt32(PCRE2_ANCHORED) | UInt32(PCRE2_DOTALL)
        let compiled = bytes.withUnsafeBufferPointer {
            pcre2_compile_8($0.baseAddress, $0.count, options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = pcre2_get_error_message_8(errorCode, &buffer, 256)
            let text = String(decoding: buffer.prefix(max(0, Int(n))), as: UTF8.self)
            throw ParserError(.pattern, "PCRE2 refused the pattern for \(formatName) at offset \(errorOffset): \(text) (pattern: \(pattern))",
                              key: formatName)
        }
        let rc = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE))
        guard rc == 0 else {
            pcre2_code_free_8(compiled)
            throw ParserError(.pattern, "PCRE2 JIT compilation failed for \(formatName) (error \(rc))", key: formatName)
        }
        return compiled
    }

    /// Whether the format logs `field` (derived fields: whether their source is logged).
    public func logs(_ field: AccessField) -> Bool {
        switch field {
        case .method: loggedFields[AccessField.request.rawValue] || loggedFields[AccessField.requestMethod.rawValue]
        case .target: loggedFields[AccessField.request.rawValue] || loggedFields[AccessField.requestURI.rawValue]
        case .path: logs(.target) || loggedFields[AccessField.uri.rawValue]
        case .query: logs(.target) || loggedFields[AccessField.args.rawValue]
        case .proto: loggedFields[AccessField.request.rawValue] || loggedFields[AccessField.serverProtocol.rawValue]
        default: loggedFields[field.rawValue]
        }
    }

    /// Whether the format logs a time (`$time_local`, `$time_iso8601` or `$msec`).
    public var logsTime: Bool { timeField != nil }

    /// The index of a custom (unknown) variable for ``AccessRecord/span(custom:)``.
    public func customIndex(of name: String) -> Int? { customNames.firstIndex(of: name) }

    /// A record sized for this format, to pass to ``parse(_:into:)`` again and again.
    public func makeRecord() -> AccessRecord {
        AccessRecord(slotCount: AccessField.allCases.count + customNames.count, escape: format.escape)
    }

    /// Parses one line (without its newline) into `record`.
    /// - Returns: `false` when the line does not match the format or holds an impossible time or
    ///   number (a malformed line); `record` is then unspecified.
    ///
    /// Cost per line: one `pcre2_jit_match` (the JIT entry point, no option checks), then one pass
    /// over the capture groups into the record's slots and the conversions of the fields the format
    /// logs; no allocation. The slots are written through one pointer (no per-field uniqueness or
    /// bounds checks).
    public func parse(_ line: UnsafeRawBufferPointer, into record: inout AccessRecord) -> Bool {
        guard let base = line.baseAddress else { return false }
        let n = line.count
        let p = base.assumingMemoryBound(to: UInt8.self)
        let rc = pcre2_jit_match_8(code, p, n, 0, 0, matchData, matchContext)
        guard rc > 0 else { return false }
        let ov = ovector
        let end = ov[1]
        guard end == n || p[end] == 0x20 else { return false }
        let groups = groupCount
        let map = slotOfGroup
        var d = Derived()
        let ok = record.slots.withUnsafeMutableBufferPointer { buffer -> Bool in
            let slots = buffer.baseAddress!
            for g in 0..<groups {
                let s = ov[2 &* (g &+ 1)]
                let e = ov[2 &* (g &+ 1) &+ 1]
                let slot = map[g] &* 2
                if s < 0 || (e &- s == 1 && p[s] == 0x2D) {
                    slots[slot] = -1
                } else {
                    slots[slot] = Int32(truncatingIfNeeded: s)
                    slots[slot &+ 1] = Int32(truncatingIfNeeded: e)
                }
            }
            return derive(p, slots, &d)
        }
        guard ok else { return false }
        if logsStatus { record.status = d.status }
        if logsBodyBytes { record.bodyBytesSentValue = d.bodyBytes }
        if logsBytes { record.bytesSentValue = d.bytes }
        if logsRequestLength { record.requestLengthValue = d.requestLength }
        if logsConnection { record.connectionValue = d.connection }
        if logsRequestTime { record.requestTimeMillisecondsValue = d.requestTime }
        if timeField != nil { record.timeMilliseconds = d.time }
        return true
    }

    /// The numbers ``derive(_:_:_:)`` converts, moved into the record after the slots are written.
    private struct Derived {
        var status = 0
        var bodyBytes: Int64 = -1, bytes: Int64 = -1, requestLength: Int64 = -1, connection: Int64 = -1
        var requestTime: Int64 = -1
        var time: Int64 = .min
    }

    @inline(__always)
    private static func start(_ s: UnsafeMutablePointer<Int32>, _ f: AccessField) -> Int {
        Int(s[f.rawValue &* 2])
    }

    @inline(__always)
    private static func end(_ s: UnsafeMutablePointer<Int32>, _ f: AccessField) -> Int {
        Int(s[f.rawValue &* 2 &+ 1])
    }

    @inline(__always)
    private static func set(_ s: UnsafeMutablePointer<Int32>, _ f: AccessField, _ a: Int, _ b: Int) {
        s[f.rawValue &* 2] = Int32(truncatingIfNeeded: a)
        s[f.rawValue &* 2 &+ 1] = Int32(truncatingIfNeeded: b)
    }

    @inline(__always)
    private static func number(_ p: UnsafePointer<UInt8>, _ s: UnsafeMutablePointer<Int32>, _ f: AccessField) -> Int64 {
        let a = start(s, f)
        guard a >= 0 else { return -1 }
        return integer(p, a, end(s, f))
    }

    @inline(__always)
    private func derive(_ p: UnsafePointer<UInt8>, _ s: UnsafeMutablePointer<Int32>, _ d: inout Derived) -> Bool {
        if logsStatus {
            let v = Self.number(p, s, .status)
            d.status = v < 0 ? 0 : Int(v)
        }
        if logsBodyBytes { d.bodyBytes = Self.number(p, s, .bodyBytesSent) }
        if logsBytes { d.bytes = Self.number(p, s, .bytesSent) }
        if logsRequestLength { d.requestLength = Self.number(p, s, .requestLength) }
        if logsConnection { d.connection = Self.number(p, s, .connection) }
        if logsRequestTime {
            let a = Self.start(s, .requestTime)
            d.requestTime = a < 0 ? -1 : Self.milliseconds(p, a, Self.end(s, .requestTime))
        }
        if let tf = timeField {
            let a = Self.start(s, tf)
            guard a >= 0 else { return false }
            let bytes = UnsafeRawBufferPointer(start: p + a, count: Self.end(s, tf) &- a)
            // Consecutive lines mostly share their second: reuse the last conversion.
            if bytes.count == 26, tf == .timeLocal {
                let w0 = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                let w1 = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                let w2 = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
                let w3 = bytes.loadUnaligned(fromByteOffset: 24, as: UInt16.self)
                if w0 == lastTime.0, w1 == lastTime.1, w2 == lastTime.2, w3 == lastTime.3 {
                    d.time = lastTimeMilliseconds
                } else {
                    guard let t = NginxTime.epochMilliseconds(timeLocal: bytes) else { return false }
                    lastTime = (w0, w1, w2, w3)
                    lastTimeMilliseconds = t
                    d.time = t
                }
            } else {
                guard let t = Self.time(tf, bytes) else { return false }
                d.time = t
            }
        }
        // Request line → method, target, protocol; target → path, query.
        s[AccessField.method.rawValue &* 2] = -1
        s[AccessField.target.rawValue &* 2] = -1
        s[AccessField.proto.rawValue &* 2] = -1
        s[AccessField.path.rawValue &* 2] = -1
        s[AccessField.query.rawValue &* 2] = -1
        if logsRequest {
            let a = Self.start(s, .request)
            if a >= 0 { Self.splitRequest(p, a, Self.end(s, .request), s) }
        } else {
            if Self.start(s, .requestMethod) >= 0 { Self.set(s, .method, Self.start(s, .requestMethod), Self.end(s, .requestMethod)) }
            if Self.start(s, .serverProtocol) >= 0 { Self.set(s, .proto, Self.start(s, .serverProtocol), Self.end(s, .serverProtocol)) }
            if Self.start(s, .requestURI) >= 0 { Self.set(s, .target, Self.start(s, .requestURI), Self.end(s, .requestURI)) }
        }
        let t = Self.start(s, .target)
        if t >= 0 {
            let te = Self.end(s, .target)
            // The first `?` (memchr: paths are tens of bytes).
            var q = te
            if te > t, let m = memchr(p + t, 0x3F, te &- t) { q = UnsafeRawPointer(p).distance(to: UnsafeRawPointer(m)) }
            Self.set(s, .path, t, q)
            if q < te { Self.set(s, .query, q &+ 1, te) }
        } else {
            if Self.start(s, .uri) >= 0 { Self.set(s, .path, Self.start(s, .uri), Self.end(s, .uri)) }
            if Self.start(s, .args) >= 0 { Self.set(s, .query, Self.start(s, .args), Self.end(s, .args)) }
        }
        return true
    }

    /// `METHOD TARGET PROTOCOL` (or HTTP/0.9 `METHOD /target`) in `p[lo..<hi]`; anything else leaves method,
    /// target and protocol absent. The method must be ASCII letters and the protocol start with `HTTP/`.
    @inline(__always)
    private static func splitRequest(_ p: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int, _ s: UnsafeMutablePointer<Int32>) {
        var first = lo
        while first < hi, p[first] != 0x20 { first &+= 1 }
        guard first > lo, first < hi else { return }
        for i in lo..<first {
            let c = p[i] | 0x20
            guard c >= 0x61 && c <= 0x7A else { return }
        }
        var last = hi &- 1
        while last > first, p[last] != 0x20 { last &-= 1 }
        if last > first &+ 1 {
            let q = last &+ 1
            // "HTTP/" as one 4-byte word and a byte.
            guard hi &- q >= 5, UnsafeRawPointer(p + q).loadUnaligned(as: UInt32.self) == 0x5054_5448, p[q &+ 4] == 0x2F
            else { return }
            set(s, .method, lo, first)
            set(s, .target, first &+ 1, last)
            set(s, .proto, q, hi)
        } else if last == first, first &+ 1 < hi, p[first &+ 1] == 0x2F {
            set(s, .method, lo, first)
            set(s, .target, first &+ 1, hi)
        }
    }

    @inline(__always)
    static func integer(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int) -> Int64 {
        var v: Int64 = 0
        var i = a
        while i < b { v = v &* 10 &+ Int64(p[i] &- 0x30); i &+= 1 }
        return v
    }

    /// Decimal seconds → whole milliseconds (digits past the third decimal dropped).
    @inline(__always)
    static func milliseconds(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int) -> Int64 {
        var v: Int64 = 0
        var i = a
        while i < b, p[i] != 0x2E { v = v &* 10 &+ Int64(p[i] &- 0x30); i &+= 1 }
        v = v &* 1000
        var scale: Int64 = 100
        i &+= 1
        while i < b, scale > 0 { v = v &+ Int64(p[i] &- 0x30) &* scale; scale /= 10; i &+= 1 }
        return v
    }

    @inline(__always)
    static func time(_ f: AccessField, _ b: UnsafeRawBufferPointer) -> Int64? {
        switch f {
        case .timeLocal: NginxTime.epochMilliseconds(timeLocal: b)
        case .timeISO8601: NginxTime.epochMilliseconds(iso8601: b)
        default: NginxTime.epochMilliseconds(msec: b)
        }
    }

    /// The time of a line that did not parse, when its beginning still matches the format up to
    /// the time variable (e.g. a line cut short after `$status`): epoch milliseconds, or `nil`.
    public func recoverTime(_ line: UnsafeRawBufferPointer) -> Int64? {
        guard let t = timeRecovery, let tf = timeField, let base = line.baseAddress else { return nil }
        let rc = pcre2_jit_match_8(t.code, base.assumingMemoryBound(to: UInt8.self), line.count, 0, 0, t.matchData,
                                   matchContext)
        guard rc > 0 else { return nil }
        let ov = pcre2_get_ovector_pointer_8(t.matchData)!
        let s = ov[2 * t.group]
        let e = ov[2 * t.group + 1]
        guard s >= 0 else { return nil }
        return Self.time(tf, UnsafeRawBufferPointer(rebasing: line[s..<e]))
    }

    /// Convenience for tests and tools: parses a `String` line.
    /// - Returns: the record and a copy of the line's bytes (for the accessors), or `nil` if malformed.
    public func parse(_ line: String) -> (record: AccessRecord, bytes: [UInt8])? {
        let bytes = Array(line.utf8)
        var record = makeRecord()
        let ok = bytes.withUnsafeBytes { parse($0, into: &record) }
        return ok ? (record, bytes) : nil
    }
}
