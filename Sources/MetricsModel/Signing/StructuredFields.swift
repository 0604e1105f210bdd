/// A small, strict reader and writer for the parts of Structured Field Values
/// (RFC 8941) that HTTP message signatures and digests use: Dictionaries
/// (§3.2) whose members are Items (§3.3) or Inner Lists (§3.1.1), with
/// Parameters (§3.1.2) and every bare item type (Integer, Decimal, String,
/// Token, Byte Sequence, Boolean).
///
/// Parsing follows RFC 8941 §4.2 step by step: leading and trailing spaces
/// are discarded, members are separated by optional whitespace and a comma,
/// a duplicate key overwrites the earlier value in place (§4.2.2), and any
/// other deviation is an error with the byte offset.

/// One bare item (RFC 8941 §3.3).
enum SFBareItem: Hashable, Sendable {
    case integer(Int64)
    case decimal(Double)
    case string(String)
    case token(String)
    case byteSequence([UInt8])
    case boolean(Bool)

    var string: String? { if case .string(let s) = self { s } else { nil } }
    var integer: Int64? { if case .integer(let i) = self { i } else { nil } }
    var bytes: [UInt8]? { if case .byteSequence(let b) = self { b } else { nil } }

    /// A short description of the type, for error messages.
    var typeName: String {
        switch self {
        case .integer: "Integer"
        case .decimal: "Decimal"
        case .string: "String"
        case .token: "Token"
        case .byteSequence: "Byte Sequence"
        case .boolean: "Boolean"
        }
    }
}

/// Ordered parameters (RFC 8941 §3.1.2); a repeated key overwrites in place.
struct SFParameters: Hashable, Sendable {
    var entries: [(key: String, value: SFBareItem)] = []

    subscript(key: String) -> SFBareItem? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    var isEmpty: Bool { entries.isEmpty }
    var keys: [String] { entries.map(\.key) }

    static func == (a: SFParameters, b: SFParameters) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
    func hash(into h: inout Hasher) {
        for e in entries {
            h.combine(e.key)
            h.combine(e.value)
        }
    }
}

/// An item with its parameters (RFC 8941 §3.3).
struct SFItem: Hashable, Sendable {
    var value: SFBareItem
    var parameters = SFParameters()
}

/// An inner list with its parameters (RFC 8941 §3.1.1).
struct SFInnerList: Hashable, Sendable {
    var items: [SFItem]
    var parameters = SFParameters()
}

/// A dictionary or list member: an item or an inner list.
enum SFMember: Hashable, Sendable {
    case item(SFItem)
    case innerList(SFInnerList)
}

/// A dictionary (RFC 8941 §3.2), members in order.
struct SFDictionary: Sendable {
    var members: [(key: String, member: SFMember)] = []

    subscript(key: String) -> SFMember? { members.first { $0.key == key }?.member }
    var keys: [String] { members.map(\.key) }
}

/// Why a field value is not a valid Structured Field.
struct SFParseError: Error, Sendable, CustomStringConvertible {
    var offset: Int
    var reason: String
    var description: String { "\(reason) at byte \(offset)" }
}

// MARK: - Parsing (RFC 8941 §4.2)

struct SFParser {
    let bytes: [UInt8]
    var i = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    /// Parses a whole field value as a Dictionary (§4.2, §4.2.2).
    static func dictionary(_ text: String) throws(SFParseError) -> SFDictionary {
        var p = SFParser(text)
        p.skipSP()
        let d = try p.parseDictionary()
        p.skipSP()
        guard p.i == p.bytes.count else { throw p.fail("unexpected characters after the dictionary") }
        return d
    }

    /// Parses a whole field value as an Item (§4.2, §4.2.3).
    static func item(_ text: String) throws(SFParseError) -> SFItem {
        var p = SFParser(text)
        p.skipSP()
        let item = try p.parseItem()
        p.skipSP()
        guard p.i == p.bytes.count else { throw p.fail("unexpected characters after the item") }
        return item
    }

    func fail(_ reason: String) -> SFParseError { SFParseError(offset: i, reason: reason) }

    var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    mutating func skipSP() { while peek == 0x20 { i += 1 } }
    mutating func skipOWS() { while peek == 0x20 || peek == 0x09 { i += 1 } }

    mutating func parseDictionary() throws(SFParseError) -> SFDictionary {
        var d = SFDictionary()
        while i < bytes.count {
            let key = try parseKey()
            let member: SFMember
            if peek == UInt8(ascii: "=") {
                i += 1
                member = try parseItemOrInnerList()
            } else {
                member = .item(SFItem(value: .boolean(true), parameters: try parseParameters()))
            }
            if let k = d.members.firstIndex(where: { $0.key == key }) {
                d.members[k].member = member
            } else {
                d.members.append((key, member))
            }
            skipOWS()
            if i == bytes.count { return d }
            guard peek == UInt8(ascii: ",") else { throw fail("expected ',' between dictionary members") }
            i += 1
            skipOWS()
            if i == bytes.count { throw fail("trailing ',' in dictionary") }
        }
        return d
    }

    mutating func parseItemOrInnerList() throws(SFParseError) -> SFMember {
        if peek == UInt8(ascii: "(") { return .innerList(try parseInnerList()) }
        return .item(try parseItem())
    }

    mutating func parseInnerList() throws(SFParseError) -> SFInnerList {
        guard peek == UInt8(ascii: "(") else { throw fail("expected '('") }
        i += 1
        var items: [SFItem] = []
        while i < bytes.count {
            skipSP()
            if peek == UInt8(ascii: ")") {
                i += 1
                return SFInnerList(items: items, parameters: try parseParameters())
            }
            items.append(try parseItem())
            guard peek == 0x20 || peek == UInt8(ascii: ")") else { throw fail("expected ' ' or ')' in inner list") }
        }
        throw fail("unterminated inner list")
    }

    mutating func parseItem() throws(SFParseError) -> SFItem {
        let v = try parseBareItem()
        return SFItem(value: v, parameters: try parseParameters())
    }

    mutating func parseParameters() throws(SFParseError) -> SFParameters {
        var params = SFParameters()
        while peek == UInt8(ascii: ";") {
            i += 1
            skipSP()
            let key = try parseKey()
            var value = SFBareItem.boolean(true)
            if peek == UInt8(ascii: "=") {
                i += 1
                value = try parseBareItem()
            }
            params[key] = value
        }
        return params
    }

    static func isLCAlpha(_ c: UInt8) -> Bool { (0x61...0x7A).contains(c) }
    static func isDigit(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) }
    static func isAlpha(_ c: UInt8) -> Bool { (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) }
    /// tchar (RFC 9110 §5.6.2).
    static func isTChar(_ c: UInt8) -> Bool {
        isAlpha(c) || isDigit(c) || Array("!#$%&'*+-.^_`|~".utf8).contains(c)
    }

    mutating func parseKey() throws(SFParseError) -> String {
        guard let c = peek, Self.isLCAlpha(c) || c == UInt8(ascii: "*") else {
            throw fail("a key must start with a lowercase letter or '*'")
        }
        let start = i
        while let c = peek, Self.isLCAlpha(c) || Self.isDigit(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
            || c == UInt8(ascii: ".") || c == UInt8(ascii: "*")
        {
            i += 1
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    mutating func parseBareItem() throws(SFParseError) -> SFBareItem {
        guard let c = peek else { throw fail("expected an item, found the end") }
        if c == UInt8(ascii: "-") || Self.isDigit(c) { return try parseNumber() }
        if c == UInt8(ascii: "\"") { return .string(try parseString()) }
        if c == UInt8(ascii: "*") || Self.isAlpha(c) { return .token(parseToken()) }
        if c == UInt8(ascii: ":") { return .byteSequence(try parseByteSequence()) }
        if c == UInt8(ascii: "?") {
            i += 1
            switch peek {
            case UInt8(ascii: "1"): i += 1; return .boolean(true)
            case UInt8(ascii: "0"): i += 1; return .boolean(false)
            default: throw fail("a Boolean is ?0 or ?1")
            }
        }
        throw fail("unexpected character for an item")
    }

    /// §4.2.4: at most 15 digits for an Integer, 12.3 for a Decimal.
    mutating func parseNumber() throws(SFParseError) -> SFBareItem {
        let start = i
        var negative = false
        if peek == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        guard let first = peek, Self.isDigit(first) else { throw fail("expected a digit") }
        var intDigits = 0
        var fracDigits = 0
        var seenDot = false
        var magnitude: Int64 = 0
        while let c = peek {
            if Self.isDigit(c) {
                if seenDot { fracDigits += 1 } else { intDigits += 1 }
                magnitude = magnitude &* 10 &+ Int64(c - 0x30)
                i += 1
            } else if c == UInt8(ascii: "."), !seenDot {
                if intDigits > 12 { throw fail("a Decimal has at most 12 integer digits") }
                seenDot = true
                i += 1
            } else {
                break
            }
            if !seenDot, intDigits > 15 { throw fail("an Integer has at most 15 digits") }
            if seenDot, fracDigits > 3 { throw fail("a Decimal has at most 3 fractional digits") }
        }
        if !seenDot { return .integer(negative ? -magnitude : magnitude) }
        if fracDigits == 0 { throw fail("a Decimal needs a digit after '.'") }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard let d = Double(text) else { throw SFParseError(offset: start, reason: "invalid Decimal") }
        return .decimal(d)
    }

    mutating func parseString() throws(SFParseError) -> String {
        i += 1
        var out: [UInt8] = []
        while let c = peek {
            i += 1
            if c == UInt8(ascii: "\\") {
                guard let n = peek, n == UInt8(ascii: "\"") || n == UInt8(ascii: "\\") else {
                    throw fail("only \\\" and \\\\ may be escaped in a String")
                }
                out.append(n)
                i += 1
            } else if c == UInt8(ascii: "\"") {
                return String(decoding: out, as: UTF8.self)
            } else if c < 0x20 || c > 0x7E {
                i -= 1
                throw fail("a String holds printable ASCII only")
            } else {
                out.append(c)
            }
        }
        throw fail("unterminated String")
    }

    mutating func parseToken() -> String {
        let start = i
        i += 1
        while let c = peek, Self.isTChar(c) || c == UInt8(ascii: ":") || c == UInt8(ascii: "/") { i += 1 }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    mutating func parseByteSequence() throws(SFParseError) -> [UInt8] {
        i += 1
        let start = i
        while let c = peek, c != UInt8(ascii: ":") {
            guard Self.isAlpha(c) || Self.isDigit(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: "/")
                || c == UInt8(ascii: "=")
            else { throw fail("a Byte Sequence holds base64 characters only") }
            i += 1
        }
        guard peek == UInt8(ascii: ":") else { throw fail("unterminated Byte Sequence") }
        let encoded = bytes[start..<i]
        i += 1
        guard let decoded = Base64.decode(encoded) else {
            throw SFParseError(offset: start, reason: "a Byte Sequence is not valid base64")
        }
        return decoded
    }
}

// MARK: - Serializing (RFC 8941 §4.1)

enum SFSerializer {
    /// §4.1.2, §4.1.1.2: an inner list with its parameters.
    static func innerList(_ list: SFInnerList) -> String {
        "(" + list.items.map(item).joined(separator: " ") + ")" + parameters(list.parameters)
    }

    /// §4.1.3: an item with its parameters.
    static func item(_ item: SFItem) -> String { bareItem(item.value) + parameters(item.parameters) }

    /// §4.1.1.2.
    static func parameters(_ params: SFParameters) -> String {
        var s = ""
        for (key, value) in params.entries {
            s += ";" + key
            if value != .boolean(true) { s += "=" + bareItem(value) }
        }
        return s
    }

    /// §4.1.2: a dictionary.
    static func dictionary(_ d: SFDictionary) -> String {
        d.members.map { key, member in
            switch member {
            case .item(let it) where it.value == .boolean(true): key + parameters(it.parameters)
            case .item(let it): key + "=" + item(it)
            case .innerList(let l): key + "=" + innerList(l)
            }
        }.joined(separator: ", ")
    }

    /// §4.1.3.1 and following.
    static func bareItem(_ v: SFBareItem) -> String {
        switch v {
        case .integer(let n): return String(n)
        case .decimal(let d):
            let rounded = (d * 1000).rounded(.toNearestOrEven) / 1000
            var s = String(rounded)
            if !s.contains(".") { s += ".0" }
            return s
        case .string(let s): return string(s)
        case .token(let t): return t
        case .byteSequence(let b): return ":" + Base64.encode(b) + ":"
        case .boolean(let b): return b ? "?1" : "?0"
        }
    }

    /// §4.1.6: a quoted String, escaping `"` and `\`.
    static func string(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            if ch == "\"" || ch == "\\" { out.append("\\") }
            out.unicodeScalars.append(ch)
        }
        return out + "\""
    }
}
