import MetricsModel
import Parsers

/// Traefik's JSON access log (`accessLog.format: json`, Traefik docs "Access Logs") read by the
/// pipeline: each JSON object is rewritten as one line of ``LogFormat/traefikJSONString`` (NGINX
/// default escaping), which the ordinary parser then reads. Traefik's members vary with its
/// `fields` settings, so no single `log_format` matches the JSON itself.
///
/// Members used (absent ones give `-`): `StartUTC` (else `StartLocal`, else `time`; RFC 3339,
/// fractions kept to the millisecond) → `$msec`; `ClientHost` (else `ClientAddr` without its
/// port) → `$remote_addr`; `RequestMethod`, `RequestPath`, `RequestProtocol` → `$request`;
/// `DownstreamStatus` → `$status`; `DownstreamContentSize` → `$body_bytes_sent`;
/// `RequestContentSize` (the body only: Traefik does not log header bytes) → `$request_length`;
/// `Duration` (ns) → `$request_time`; `RequestHost` → `$host`; `request_User-Agent` and
/// `request_Referer` (present only when Traefik keeps those headers) → `$http_user_agent`,
/// `$http_referer`. Our own code rather than a JSON library's decoding into types: the line is
/// parsed once with ``JSONValue`` and written straight into bytes.
enum TraefikJSONTranslator {
    /// The line for `json`, or nil when it is not a JSON object with a readable time (the line is
    /// then counted as malformed).
    static func translate(_ json: UnsafeRawBufferPointer) -> [UInt8]? {
        guard json.first == UInt8(ascii: "{"), let v = try? JSONValue(parsing: json), let o = v.objectValue else { return nil }
        var ms: Int64?
        for key in ["StartUTC", "StartLocal", "time"] {
            if let s = o[key]?.stringValue, let t = rfc3339Milliseconds(s) { ms = t; break }
        }
        guard let ms else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        func text(_ s: String) { out += Array(s.utf8) }
        func int(_ key: String) { if let n = o[key]?.intValue, n >= 0 { text(String(n)) } else { text("-") } }
        func quoted(_ s: String?) {
            out.append(UInt8(ascii: "\""))
            if let s, !s.isEmpty { escaped(s) } else { out.append(UInt8(ascii: "-")) }
            out.append(UInt8(ascii: "\""))
        }
        func escaped(_ s: String, spaces: Bool = true) {
            let hex = Array("0123456789ABCDEF".utf8)
            for c in s.utf8 {
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 || c > 0x7E || (!spaces && c == 0x20) {
                    out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(c >> 4)], hex[Int(c & 15)]]
                } else {
                    out.append(c)
                }
            }
        }
        // $msec
        let frac = ((ms % 1000) + 1000) % 1000
        text(String((ms - frac) / 1000) + "." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + String(frac) + " ")
        // $remote_addr
        var client = o["ClientHost"]?.stringValue ?? ""
        if client.isEmpty, let addr = o["ClientAddr"]?.stringValue { client = hostOf(addr) }
        escaped(client.isEmpty ? "-" : client, spaces: false)
        // "$request"
        out += Array(" \"".utf8)
        if let m = o["RequestMethod"]?.stringValue, let p = o["RequestPath"]?.stringValue {
            escaped(m, spaces: false); out.append(0x20)
            escaped(p, spaces: false); out.append(0x20)
            escaped(o["RequestProtocol"]?.stringValue ?? "HTTP/1.1", spaces: false)
        }
        out += Array("\" ".utf8)
        int("DownstreamStatus"); out.append(0x20)
        int("DownstreamContentSize"); out.append(0x20)
        int("RequestContentSize"); out.append(0x20)
        if let ns = o["Duration"]?.intValue, ns >= 0 {
            let msd = ns / 1_000_000
            let f = msd % 1000
            text(String(msd / 1000) + "." + (f < 10 ? "00" : f < 100 ? "0" : "") + String(f))
        } else {
            text("-")
        }
        out.append(0x20)
        let host = o["RequestHost"]?.stringValue ?? ""
        escaped(host.isEmpty ? "-" : host, spaces: false)
        out.append(0x20)
        quoted(o["request_User-Agent"]?.stringValue)
        out.append(0x20)
        quoted(o["request_Referer"]?.stringValue)
        return out
    }

    /// `host` of `host:port` or `[v6]:port` (Go's net.JoinHostPort form).
    static func hostOf(_ addr: String) -> String {
        if addr.hasPrefix("["), let close = addr.firstIndex(of: "]") {
            return String(addr[addr.index(after: addr.startIndex)..<close])
        }
        if let colon = addr.lastIndex(of: ":"), addr.firstIndex(of: ":") == colon { return String(addr[..<colon]) }
        return addr
    }

    /// Epoch milliseconds of an RFC 3339 time (`2024-02-01T15:43:38.669746824Z`, `…+01:00`), or nil.
    static func rfc3339Milliseconds(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for c in b[from..<(from + count)] {
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int64(c - 0x30)
            }
            return v
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let se = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61
        else { return nil }
        var i = 19
        var millis: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if digits < 3 { millis = millis * 10 + Int64(b[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            while digits < 3 { millis *= 10; digits += 1 }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            guard i + 1 == b.count else { return nil }
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"), let oh = num(i + 1, 2), let om = num(i + 4, 2) else { return nil }
            offset = (oh * 60 + om) * 60 * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        } else {
            return nil
        }
        // Days from 1970-01-01 (H. Hinnant's days_from_civil).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = (mo + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = days * 86_400 + h * 3600 + mi * 60 + se - offset
        return seconds * 1000 + millis
    }
}
