/// One parsed access-log line: byte ranges into the line plus the numbers already converted.
///
/// A record is reused from line to line (``AccessLogParser/parse(_:into:)`` overwrites it) and
/// holds no pointer: every accessor that returns text takes the same line buffer again. Strings
/// are made only on demand (``string(_:in:)``), so the hot path allocates nothing.
///
/// Absent values (`-` in the log, or a variable the format does not log) are `nil`.
///
/// ```swift
/// var record = parser.makeRecord()
/// line.withUnsafeBytes { buf in
///     if parser.parse(buf, into: &record) { print(record.status, record.string(.path, in: buf) ?? "-") }
/// }
/// ```
public struct AccessRecord: Sendable {
    /// `start, end` byte offsets per slot; `start == -1` means absent.
    @usableFromInline var slots: [Int32]
    /// The escaping of the format that produced the record.
    public let escape: LogEscape

    /// `$status` (e.g. 200), or 0 when absent.
    public internal(set) var status: Int = 0
    /// The line's time in epoch milliseconds (UTC) from `$time_local`, `$time_iso8601` or `$msec`;
    /// `Int64.min` when the format logs no time.
    public internal(set) var timeMilliseconds: Int64 = .min
    /// `$body_bytes_sent` in bytes, `-1` when absent (the optional-free form for hot loops).
    public internal(set) var bodyBytesSentValue: Int64 = -1
    /// `$bytes_sent` in bytes, `-1` when absent.
    public internal(set) var bytesSentValue: Int64 = -1
    /// `$request_length` in bytes, `-1` when absent.
    public internal(set) var requestLengthValue: Int64 = -1
    /// `$request_time` in whole milliseconds, `-1` when absent.
    public internal(set) var requestTimeMillisecondsValue: Int64 = -1
    /// `$connection`, `-1` when absent.
    public internal(set) var connectionValue: Int64 = -1

    init(slotCount: Int, escape: LogEscape) {
        slots = Array(repeating: -1, count: slotCount * 2)
        self.escape = escape
    }

    /// `$body_bytes_sent` in bytes.
    public var bodyBytesSent: Int64? { bodyBytesSentValue >= 0 ? bodyBytesSentValue : nil }
    /// `$bytes_sent` in bytes.
    public var bytesSent: Int64? { bytesSentValue >= 0 ? bytesSentValue : nil }
    /// `$request_length` in bytes.
    public var requestLength: Int64? { requestLengthValue >= 0 ? requestLengthValue : nil }
    /// `$request_time` in whole milliseconds (NGINX's resolution).
    public var requestTimeMilliseconds: Int64? { requestTimeMillisecondsValue >= 0 ? requestTimeMillisecondsValue : nil }
    /// `$request_time` in seconds.
    public var requestTime: Double? { requestTimeMilliseconds.map { Double($0) / 1000 } }
    /// `$connection`, the connection serial number.
    public var connection: Int64? { connectionValue >= 0 ? connectionValue : nil }

    /// The byte range of a field in the line, or `nil` when absent.
    @inlinable
    public func span(_ field: AccessField) -> Range<Int>? { span(slot: field.rawValue) }

    /// The byte range of the custom variable with index `index` (see ``AccessLogParser/customIndex(of:)``).
    public func span(custom index: Int) -> Range<Int>? { span(slot: AccessField.allCases.count + index) }

    @inlinable
    func span(slot: Int) -> Range<Int>? {
        let s = slots[slot &* 2]
        guard s >= 0 else { return nil }
        return Int(s)..<Int(slots[slot &* 2 &+ 1])
    }

    @inline(__always)
    mutating func set(_ field: AccessField, _ start: Int, _ end: Int) {
        slots[field.rawValue * 2] = Int32(truncatingIfNeeded: start)
        slots[field.rawValue * 2 + 1] = Int32(truncatingIfNeeded: end)
    }

    @inline(__always)
    mutating func clear(_ field: AccessField) { slots[field.rawValue * 2] = -1 }

    /// The field's bytes as logged (still escaped), or `nil` when absent.
    @inlinable
    public func bytes(_ field: AccessField, in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let r = span(field) else { return nil }
        return UnsafeRawBufferPointer(rebasing: line[r])
    }

    /// The field's value with NGINX's escaping undone, as a `String` (invalid UTF-8 replaced by U+FFFD).
    public func string(_ field: AccessField, in line: UnsafeRawBufferPointer) -> String? {
        guard let r = span(field) else { return nil }
        return Self.decodedString(line, r, escape)
    }

    /// The custom variable's value, decoded (see ``string(_:in:)``).
    public func string(custom index: Int, in line: UnsafeRawBufferPointer) -> String? {
        guard let r = span(custom: index) else { return nil }
        return Self.decodedString(line, r, escape)
    }

    static func decodedString(_ line: UnsafeRawBufferPointer, _ r: Range<Int>, _ escape: LogEscape) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: line[r])
        return String(decoding: LogEscapeDecoding.decode(raw, escape: escape), as: UTF8.self)
    }

    /// The members of an upstream list (`$upstream_addr`, `$upstream_status`, …): NGINX separates
    /// the servers of one upstream with `, ` and internal redirects with ` : `. Members logged as
    /// `-` are `nil`. Returns `nil` when the field is absent.
    public func list(_ field: AccessField, in line: UnsafeRawBufferPointer) -> [String?]? {
        guard let r = span(field) else { return nil }
        var out: [String?] = []
        var start = r.lowerBound
        var i = r.lowerBound
        func emit(_ end: Int) {
            let m = UnsafeRawBufferPointer(rebasing: line[start..<end])
            out.append(m.count == 1 && m[0] == 0x2D ? nil : String(decoding: m, as: UTF8.self))
        }
        while i < r.upperBound {
            if line[i] == 0x2C, i + 1 < r.upperBound, line[i + 1] == 0x20 {
                emit(i); i += 2; start = i; continue
            }
            if line[i] == 0x20, i + 2 < r.upperBound, line[i + 1] == 0x3A, line[i + 2] == 0x20 {
                emit(i); i += 3; start = i; continue
            }
            i += 1
        }
        emit(r.upperBound)
        return out
    }

    /// Every address in `$remote_addr` as logged: an X-Forwarded-For list (`a, b, c`), possibly
    /// quoted and followed by the peer address, or prefixed by a host name. Tokens that are not
    /// IPv4/IPv6 addresses (host names) are left out.
    public func remoteAddresses(in line: UnsafeRawBufferPointer) -> [String] {
        guard let r = span(.remoteAddr) else { return [] }
        var out: [String] = []
        Self.forEachAddressToken(line, r) { s, e in
            out.append(String(decoding: UnsafeRawBufferPointer(rebasing: line[s..<e]), as: UTF8.self))
            return true
        }
        return out
    }

    /// The originating client: the first address of ``remoteAddresses(in:)`` (the left-most
    /// X-Forwarded-For member), or the whole `$remote_addr` when it holds no address.
    public func clientAddressSpan(in line: UnsafeRawBufferPointer) -> Range<Int>? {
        guard let r = span(.remoteAddr) else { return nil }
        // Fast path: a plain address.
        var plain = true
        for i in r where line[i] == 0x20 || line[i] == 0x2C || line[i] == 0x22 { plain = false; break }
        if plain { return r }
        var found: Range<Int>? = nil
        Self.forEachAddressToken(line, r) { s, e in
            found = s..<e
            return false
        }
        return found ?? r
    }

    /// The client address as a `String` (see ``clientAddressSpan(in:)``).
    public func clientAddress(in line: UnsafeRawBufferPointer) -> String? {
        guard let r = clientAddressSpan(in: line) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: line[r]), as: UTF8.self)
    }

    /// Calls `body` with each address-looking token (hex digits, `.` and `:`, with a `.` or `:`)
    /// of `line[r]`, split on spaces, commas and quotes, until it returns `false`.
    static func forEachAddressToken(_ line: UnsafeRawBufferPointer, _ r: Range<Int>, _ body: (Int, Int) -> Bool) {
        var i = r.lowerBound
        while i < r.upperBound {
            while i < r.upperBound, line[i] == 0x20 || line[i] == 0x2C || line[i] == 0x22 { i += 1 }
            let s = i
            var isAddress = true
            var hasSeparator = false
            while i < r.upperBound, line[i] != 0x20, line[i] != 0x2C, line[i] != 0x22 {
                let c = line[i]
                if c == 0x2E || c == 0x3A { hasSeparator = true }
                else if !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)) {
                    isAddress = false
                }
                i += 1
            }
            if i > s, isAddress, hasSeparator, !body(s, i) { return }
        }
    }
}
