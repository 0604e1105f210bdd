/// Turns a ``LogFormat`` into one PCRE2 pattern (compiled anchored) with one capture group per
/// variable, and records which field each group fills.
///
/// Each variable's sub-pattern depends on its kind and on the literal text around it:
/// - inside `"…"`: `[^"]*` (escape=default: NGINX writes `"` as `\x22`, so the first `"` ends the
///   value), the JSON string body for escape=json, lazy `.*?` for escape=none (unescaped quotes);
/// - numbers: `\d+` (or `-`), `$request_time`: `\d+(\.\d+)?`; times: their exact shapes;
/// - upstream lists: members separated by `, ` or ` : `;
/// - `$remote_addr` / `$http_x_forwarded_for` unquoted: every byte up to the first occurrence of
///   the literal that follows (` - ` in `combined`), so that X-Forwarded-For lists with spaces
///   (`10.0.0.2, 10.0.0.1`) and host-name prefixes still match, as runs with no backtracking:
///   `[^ ]++(?: (?!- )[^ ]*+)*+`. A lazy `.+?` there tried the rest of the pattern after every
///   byte (5 % more instructions per line on `Benchmarks/parse`). Lazy only when the next literal
///   is a single byte, which cannot tell an address list's own spaces from the separator.
/// - any other variable: every byte up to the next literal's first byte.
///
/// A class repeat followed by a byte outside the class (`[^"]*"`, `\d+ `) is made possessive by
/// PCRE2 itself at compile time (auto-possessification, pcre2api(3) `PCRE2_NO_AUTO_POSSESS`), so
/// NGINX's escaping already spares it backtracking; writing `*+` there measured slightly slower
/// with the JIT (Benchmarks/parse/RESULTS.md). Source: pcre2pattern(3), "Atomic grouping and
/// possessive quantifiers"; NGINX `log_format` `escape=` (ngx_http_log_module).
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
                var nextLiteral: [UInt8] = []
                var atEnd = false
                switch nextElement {
                case .literal(let b)?: next = b.first; nextLiteral = b
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
                                       escape: format.escape, nextLiteral: nextLiteral)
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

    static func subpattern(kind: VariableKind, prev: UInt8?, next: UInt8?, atEnd: Bool, escape: LogEscape,
                           nextLiteral: [UInt8] = []) -> String {
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
            if kind == .addressList {
                // Up to the first occurrence of the next literal, without a lazy quantifier.
                if nextLiteral.count >= 2 {
                    let c = nextLiteral[0]
                    let rest = escapeLiteral(Array(nextLiteral.dropFirst()))
                    let cc = "\\x{" + hex(c) + "}"
                    return "(" + notIn([c]) + "++(?:" + cc + "(?!" + rest + ")" + notIn([c]) + "*+)*+)"
                }
                return "(.+?)"
            }
            return "(.*?)"
        case .token:
            if quoted { return quotedText }
            if atEnd { return "([^ ]*)" }
            if let next { return "(" + notIn([next]) + "*)" }
            return "(.*?)"
        }
    }
}
