/// Turns a ``LogFormat`` into one PCRE2 pattern (compiled anchored) with one capture group per
/// variable, and records which field each group fills.
///
/// Each variable's sub-pattern depends on its kind and on the literal text around it:
/// - inside `"…"`: `[^"]*` (escape=default: NGINX writes `"` as `\x22`), JSON string body for
///   escape=json, lazy `.*?` for escape=none;
/// - numbers: `\d+` (or `-`), `$request_time`: `\d+(\.\d+)?`; times: their exact shapes;
/// - upstream lists: members separated by `, ` or ` : `;
/// - `$remote_addr` / `$http_x_forwarded_for` unquoted: lazy, so X-Forwarded-For lists with
///   spaces (`10.0.0.2, 10.0.0.1`) still match;
/// - any other variable: every byte up to the next literal's first byte.
struct PatternBuilder {
    /// The pattern text.
    var pattern: String = ""
    /// For capture group `g` (1-based), `slots[g - 1]` is the record slot it fills:
    /// an ``AccessField`` raw value, or `AccessField.allCases.count + i` for custom variable `i`.
    var slots: [Int] = []
    /// Custom (unknown) variable names, in order of first appearance.
    var customNames: [String] = []

    static let knownCount = AccessField.allCases.count

    init(format: LogFormat, stopAfterTime: Bool = false) {
        let els = format.elements
        var out = ""
        for (index, el) in els.enumerated() {
            switch el {
            case .literal(let bytes):
                out += Self.escapeLiteral(bytes)
            case .variable(let name):
                let prev: UInt8? = index > 0 ? Self.lastByte(els[index - 1]) : nil
                let nextElement: LogFormat.Element? = index + 1 < els.count ? els[index + 1] : nil
                var next: UInt8? = nil
                var atEnd = false
                switch nextElement {
                case .literal(let b)?: next = b.first
                case .variable?: next = nil
                case nil: atEnd = true
                }
                let field = AccessField(variableName: name)
                let slot: Int
                if let field { slot = field.rawValue } else {
                    if let i = customNames.firstIndex(of: name) { slot = Self.knownCount + i } else {
                        customNames.append(name)
                        slot = Self.knownCount + customNames.count - 1
                    }
                }
                slots.append(slot)
                out += Self.subpattern(kind: field?.kind ?? .token, prev: prev, next: next, atEnd: atEnd,
                                       escape: format.escape)
                if stopAfterTime, let field, field == .timeLocal || field == .timeISO8601 || field == .msec {
                    pattern = out
                    return
                }
            }
        }
        pattern = out
    }

    private static func lastByte(_ e: LogFormat.Element) -> UInt8? {
        if case .literal(let b) = e { return b.last }
        return nil
    }

    static func escapeLiteral(_ bytes: [UInt8]) -> String {
        var s = ""
        for c in bytes {
            if (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x20 {
                s.unicodeScalars.append(Unicode.Scalar(c))
            } else if c > 0x20 && c < 0x7F {
                s += "\\" + String(Unicode.Scalar(c))
            } else {
                s += "\\x{" + hex(c) + "}"
            }
        }
        return s
    }

    private static func hex(_ c: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(c >> 4)], digits[Int(c & 15)]])
    }

    /// A character class excluding the given bytes, e.g. `[^ ,"]`.
    private static func notIn(_ bytes: [UInt8]) -> String {
        "[^" + bytes.map { "\\x{" + hex($0) + "}" }.joined() + "]"
    }

    static func subpattern(kind: VariableKind, prev: UInt8?, next: UInt8?, atEnd: Bool, escape: LogEscape) -> String {
        let quote = UInt8(ascii: "\"")
        let quoted = prev == quote && next == quote
        let quotedText: String
        switch escape {
        case .default: quotedText = "([^\"]*)"
        case .json: quotedText = #"([^"\\]*(?:\\.[^"\\]*)*)"#
        case .none: quotedText = "(.*?)"
        }
        switch kind {
        case .timeLocal: return #"(\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})"#
        case .timeISO8601: return #"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[+-]\d{2}:\d{2}|Z))"#
        case .msec: return #"(\d+\.\d+)"#
        case .integer: return #"(\d+|-)"#
        case .decimal: return #"(\d+(?:\.\d+)?|-)"#
        case .pipe: return "([p.])"
        case .list:
            var stop: [UInt8] = [0x20, 0x2C]
            if let next, next != 0x20, next != 0x2C { stop.append(next) }
            let member = notIn(stop) + "+"
            return "((?:\(member)(?:, | : ))*\(member))"
        case .text, .addressList:
            if quoted { return quotedText }
            if atEnd { return "(.*)" }
            return kind == .addressList ? "(.+?)" : "(.*?)"
        case .token:
            if quoted { return quotedText }
            if atEnd { return "([^ ]*)" }
            if let next { return "(" + notIn([next]) + "*)" }
            return "(.*?)"
        }
    }
}
