import MetricsModel

/// Writes InfluxDB line protocol:
/// `measurement[,tag_key=tag_value…] field_key=field_value[,…] timestamp_ns\n`.
///
/// Escaping follows InfluxDB's line protocol reference
/// (https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/#special-characters,
/// and the same rules for 2.x, https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/#special-characters):
/// - measurement: `,` and space are escaped with `\`;
/// - tag keys, tag values and field keys: `,`, `=` and space are escaped with `\`;
/// - string field values are double-quoted, and `"` and `\` inside are escaped with `\`;
/// - integers carry the suffix `i`, floats are written in Swift's shortest round-trip form
///   (scientific notation is accepted), booleans as `true`/`false`.
///
/// Line protocol has no escape for a newline in names and tags, nor a way to
/// end a name with `\`: newlines and carriage returns there become spaces, and
/// every trailing backslash is dropped (InfluxDB 1.x's scanner takes a separator
/// preceded by any `\` as escaped, whatever the length of the run: `t=x\\,u=y`
/// is refused as "invalid tag format", and a measurement ending in `\\` swallows
/// the tags that follow into its name). Tags with an empty key or value (also
/// once escaped) are left out (InfluxDB rejects them), non-finite floats and
/// `null` fields too; a measurement that is empty once escaped gives no line. The
/// key `time` is refused by InfluxDB as a tag or field key, so it is written
/// as `time_`. Nested arrays and objects are written as their JSON text in a
/// string field.
struct LineProtocolWriter {
    /// The text written so far.
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// Appends one line. Returns false (and writes nothing) when no field is writable.
    @discardableResult
    mutating func append(
        measurement: String, tags: [(String, String)], fields: [(String, JSONValue)], timeNanoseconds: Int64
    ) -> Bool {
        let start = bytes.count
        guard writeEscaped(measurement, equals: false) else { return false }
        for (k, v) in tags.sorted(by: { $0.0 < $1.0 }) where !k.isEmpty && !v.isEmpty {
            let mark = bytes.count
            bytes.append(UInt8(ascii: ","))
            let wroteKey = writeEscaped(k == "time" ? "time_" : k, equals: true)
            bytes.append(UInt8(ascii: "="))
            if !wroteKey || !writeEscaped(v, equals: true) { bytes.removeSubrange(mark...) }
        }
        bytes.append(UInt8(ascii: " "))
        var wroteField = false
        for (k, v) in fields where !k.isEmpty {
            let mark = bytes.count
            if wroteField { bytes.append(UInt8(ascii: ",")) }
            let wroteKey = writeEscaped(k == "time" ? "time_" : k, equals: true)
            bytes.append(UInt8(ascii: "="))
            if wroteKey && writeFieldValue(v) {
                wroteField = true
            } else {
                bytes.removeSubrange(mark...)
            }
        }
        guard wroteField else {
            bytes.removeSubrange(start...)
            return false
        }
        bytes.append(UInt8(ascii: " "))
        bytes.append(contentsOf: String(timeNanoseconds).utf8)
        bytes.append(0x0A)
        return true
    }

    /// Writes a measurement (`equals: false`) or a tag key/value or field key (`equals: true`).
    /// - Returns: false when nothing is left to write (empty, or only backslashes).
    @discardableResult
    mutating func writeEscaped(_ s: String, equals: Bool) -> Bool {
        let start = bytes.count
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: ","), UInt8(ascii: " "):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(b)
            case UInt8(ascii: "="):
                if equals { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(b)
            case 0x0A, 0x0D:
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: " ")])
            default:
                bytes.append(b)
            }
        }
        // Any trailing backslash would escape the separator that follows: InfluxDB 1.x
        // (models/points.go, scanTagsValue and friends) tests only the byte before a
        // separator, so `\\,` is an escaped comma too. Our own escapes end in the
        // escaped byte, so every trailing backslash is the client's: drop them all.
        while bytes.count > start, bytes[bytes.count - 1] == UInt8(ascii: "\\") { bytes.removeLast() }
        return bytes.count > start
    }

    /// Writes a field value; false when the value cannot be written (null, NaN, ±inf).
    mutating func writeFieldValue(_ v: JSONValue) -> Bool {
        switch v {
        case .null: return false
        case .bool(let b): bytes.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i):
            bytes.append(contentsOf: String(i).utf8)
            bytes.append(UInt8(ascii: "i"))
        case .double(let d):
            guard d.isFinite else { return false }
            bytes.append(contentsOf: "\(d)".utf8)
        case .string(let s): writeString(s)
        case .array, .object: writeString(v.jsonString)
        }
        return true
    }

    /// Writes a double-quoted string field value, escaping `"` and `\`.
    mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
            bytes.append(b)
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
