/// Undoes NGINX's escaping of a logged variable value.
///
/// Source: NGINX docs, ngx_http_log_module `log_format` `escape=` parameter; `ngx_escape_json`
/// and the default escaping in `ngx_http_log_escape` (bytes `"`, `\`, below 0x20 and from 0x7F
/// written as `\xHH`).
public enum LogEscapeDecoding {
    /// The raw bytes of a value logged with `escape`.
    ///
    /// - `.default`: `\xHH` (either case) becomes the byte 0xHH; any other `\` stays as it is.
    /// - `.json`: `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t` and `\uHHHH` (UTF-8 encoded).
    /// - `.none`: unchanged.
    public static func decode(_ bytes: UnsafeRawBufferPointer, escape: LogEscape) -> [UInt8] {
        guard escape != .none, bytes.contains(0x5C) else { return Array(bytes) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            guard c == 0x5C, i + 1 < n else { out.append(c); i += 1; continue }
            let e = bytes[i + 1]
            switch escape {
            case .default:
                if (e == 0x78 || e == 0x58), i + 3 < n, let h = hex(bytes[i + 2]), let l = hex(bytes[i + 3]) {
                    out.append(h << 4 | l)
                    i += 4
                } else {
                    out.append(c)
                    i += 1
                }
            case .json:
                switch e {
                case 0x22, 0x5C, 0x2F: out.append(e); i += 2
                case 0x62: out.append(0x08); i += 2
                case 0x66: out.append(0x0C); i += 2
                case 0x6E: out.append(0x0A); i += 2
                case 0x72: out.append(0x0D); i += 2
                case 0x74: out.append(0x09); i += 2
                case 0x75:
                    if i + 5 < n, let a = hex(bytes[i + 2]), let b = hex(bytes[i + 3]), let c2 = hex(bytes[i + 4]),
                       let d = hex(bytes[i + 5])
                    {
                        let scalar = UInt32(a) << 12 | UInt32(b) << 8 | UInt32(c2) << 4 | UInt32(d)
                        if scalar < 0x100 && scalar >= 0x80 {
                            // NGINX writes raw bytes ≥ 0x80 through unchanged; a \u00HH here is a byte.
                            out.append(UInt8(scalar))
                        } else if let u = Unicode.Scalar(scalar) {
                            out.append(contentsOf: Array(String(u).utf8))
                        }
                        i += 6
                    } else {
                        out.append(c)
                        i += 1
                    }
                default:
                    out.append(c)
                    i += 1
                }
            case .none:
                out.append(c)
                i += 1
            }
        }
        return out
    }

    @inline(__always)
    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
