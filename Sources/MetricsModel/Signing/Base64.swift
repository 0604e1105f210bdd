/// Base64 with the standard alphabet and `=` padding (RFC 4648 §4), as
/// Structured Field Byte Sequences use it (RFC 8941 §3.3.5).
enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes `bytes` with padding.
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var k = 0
        while k + 3 <= input.count {
            let n = UInt32(input[k]) << 16 | UInt32(input[k + 1]) << 8 | UInt32(input[k + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            k += 3
        }
        let rest = input.count - k
        if rest == 1 {
            let n = UInt32(input[k]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let n = UInt32(input[k]) << 16 | UInt32(input[k + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], 61]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64; padding may be omitted (RFC 8941 §4.2.7 asks parsers
    /// not to fail on that). Returns nil for any other irregularity.
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        var chars = Array(text)
        while chars.last == 61 { chars.removeLast() }
        if chars.count % 4 == 1 || Array(text).count - chars.count > 2 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for c in chars {
            let v: UInt32
            switch c {
            case 65...90: v = UInt32(c - 65)
            case 97...122: v = UInt32(c - 97 + 26)
            case 48...57: v = UInt32(c - 48 + 52)
            case 43: v = 62
            case 47: v = 63
            default: return nil
            }
            acc = acc << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
                acc &= (1 << UInt32(bits)) - 1
            }
        }
        if acc != 0 { return nil }  // non-zero pad bits: not canonical
        return out
    }
}
