import CPCRE2

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
    public func parse(_ line: UnsafeRawBufferPointer, into record: inout AccessRecord) -> Bool {
        guard let base = line.baseAddress else { return false }
        let n = line.count
        let rc = pcre2_jit_match_8(code, base.assumingMemoryBound(to: UInt8.self), n, 0, 0, matchData, matchContext)
        guard rc > 0 else { return false }
        let ov = ovector
        let end = ov[1]
        guard end == n || line[end] == 0x20 else { return false }
        let groups = groupCount
        let dash: UInt8 = 0x2D
        let map = slotOfGroup
        record.slots.withUnsafeMutableBufferPointer { buffer in
            let slots = buffer.baseAddress!
            for g in 0..<groups {
                let s = ov[2 &* (g &+ 1)]
                let e = ov[2 &* (g &+ 1) &+ 1]
                let slot = map[g] &* 2
                if s < 0 || (e &- s == 1 && line[s] == dash) {
                    slots[slot] = -1
                } else {
                    slots[slot] = Int32(truncatingIfNeeded: s)
                    slots[slot &+ 1] = Int32(truncatingIfNeeded: e)
                }
            }
        }
        return derive(line, &record)
    }

    @inline(__always)
    private func derive(_ line: UnsafeRawBufferPointer, _ r: inout AccessRecord) -> Bool {
        if logsStatus {
            r.status = r.span(.status).map { Int(Self.integer(line, $0)) } ?? 0
        }
        if logsBodyBytes {
            r.bodyBytesSentValue = r.span(.bodyBytesSent).map { Self.integer(line, $0) } ?? -1
        }
        if logsBytes {
            r.bytesSentValue = r.span(.bytesSent).map { Self.integer(line, $0) } ?? -1
        }
        if logsRequestLength {
            r.requestLengthValue = r.span(.requestLength).map { Self.integer(line, $0) } ?? -1
        }
        if logsConnection {
            r.connectionValue = r.span(.connection).map { Self.integer(line, $0) } ?? -1
        }
        if logsRequestTime {
            r.requestTimeMillisecondsValue = r.span(.requestTime).map { Self.milliseconds(line, $0) } ?? -1
        }
        if let tf = timeField {
            guard let s = r.span(tf) else { return false }
            let bytes = UnsafeRawBufferPointer(rebasing: line[s])
            // Consecutive lines mostly share their second: reuse the last conversion.
            if bytes.count == 26, tf == .timeLocal {
                let a = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                let b = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                let c = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
                let d = bytes.loadUnaligned(fromByteOffset: 24, as: UInt16.self)
                if a == lastTime.0, b == lastTime.1, c == lastTime.2, d == lastTime.3 {
                    r.timeMilliseconds = lastTimeMilliseconds
                } else {
                    guard let t = NginxTime.epochMilliseconds(timeLocal: bytes) else { return false }
                    lastTime = (a, b, c, d)
                    lastTimeMilliseconds = t
                    r.timeMilliseconds = t
                }
            } else {
                guard let t = Self.time(tf, bytes) else { return false }
                r.timeMilliseconds = t
            }
        }
        // Request line → method, target, protocol; target → path, query.
        r.clear(.method)
        r.clear(.target)
        r.clear(.proto)
        r.clear(.path)
        r.clear(.query)
        if logsRequest {
            if let req = r.span(.request) { Self.splitRequest(line, req, &r) }
        } else {
            if let m = r.span(.requestMethod) { r.set(.method, m.lowerBound, m.upperBound) }
            if let p = r.span(.serverProtocol) { r.set(.proto, p.lowerBound, p.upperBound) }
            if let u = r.span(.requestURI) { r.set(.target, u.lowerBound, u.upperBound) }
        }
        if let t = r.span(.target) {
            var q = t.lowerBound
            while q < t.upperBound, line[q] != 0x3F { q += 1 }
            r.set(.path, t.lowerBound, q)
            if q < t.upperBound { r.set(.query, q + 1, t.upperBound) }
        } else {
            if let u = r.span(.uri) { r.set(.path, u.lowerBound, u.upperBound) }
            if let a = r.span(.args) { r.set(.query, a.lowerBound, a.upperBound) }
        }
        return true
    }

    /// `METHOD TARGET PROTOCOL` (or HTTP/0.9 `METHOD /target`); anything else leaves method,
    /// target and protocol absent. The method must be ASCII letters and the protocol start with `HTTP/`.
    @inline(__always)
    static func splitRequest(_ line: UnsafeRawBufferPointer, _ req: Range<Int>, _ r: inout AccessRecord) {
        var first = req.lowerBound
        while first < req.upperBound, line[first] != 0x20 { first += 1 }
        guard first > req.lowerBound, first < req.upperBound else { return }
        for i in req.lowerBound..<first {
            let c = line[i] | 0x20
            guard c >= 0x61 && c <= 0x7A else { return }
        }
        var last = req.upperBound - 1
        while last > first, line[last] != 0x20 { last -= 1 }
        if last > first + 1 {
            let p = last + 1
            guard req.upperBound - p >= 5, line[p] == 0x48, line[p + 1] == 0x54, line[p + 2] == 0x54, line[p + 3] == 0x50,
                  line[p + 4] == 0x2F
            else { return }
            r.set(.method, req.lowerBound, first)
            r.set(.target, first + 1, last)
            r.set(.proto, p, req.upperBound)
        } else if last == first, first + 1 < req.upperBound, line[first + 1] == 0x2F {
            r.set(.method, req.lowerBound, first)
            r.set(.target, first + 1, req.upperBound)
        }
    }

    @inline(__always)
    static func integer(_ line: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int64 {
        var v: Int64 = 0
        for i in r { v = v &* 10 &+ Int64(line[i] &- 0x30) }
        return v
    }

    /// Decimal seconds → whole milliseconds (digits past the third decimal dropped).
    @inline(__always)
    static func milliseconds(_ line: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int64 {
        var v: Int64 = 0
        var i = r.lowerBound
        while i < r.upperBound, line[i] != 0x2E { v = v &* 10 &+ Int64(line[i] &- 0x30); i += 1 }
        v = v &* 1000
        var scale: Int64 = 100
        i += 1
        while i < r.upperBound, scale > 0 { v = v &+ Int64(line[i] &- 0x30) &* scale; scale /= 10; i += 1 }
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
