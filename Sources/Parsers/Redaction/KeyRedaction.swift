/// Removes credentials from URLs and log text before they leave the host:
/// one function, ``redact(_:)``, used for every URL or line the agent sends
/// or logs — event `url`s, probe targets (the `server` and `url` tags,
/// `service_status` events) and malformed-line samples.
///
/// What is replaced by `REDACTED`:
/// - the value of every query (or fragment) parameter whose name is, ignoring
///   ASCII case and after percent-decoding the name (RFC 3986 §2.1, so
///   `%6Bey` and `API%5FKEY` count), one of ``parameterNames``: `key`
///   (Clowder v1's API key parameter), `apikey`, `api_key`, `api-key`,
///   `x-api-key`, `token`, `access_token`, `auth_token`. A parameter starts
///   after `?`, `&`, `;` or `#` and its value ends at `&`, `;`, `#`, a space,
///   a tab, `"` or the end of the text;
/// - the password of a URL's user information (`scheme://user:password@host`, RFC 3986 §3.2.1).
///
/// It works on any text, not only on a URL alone: in a whole log line
/// (`"GET /api/files?key=… HTTP/1.1"`) the same rules find the parameter.
///
/// Our own code rather than a URL library: it must also work on text that is
/// not a valid URL (a malformed line, a target NGINX logged as sent), and it
/// runs per event on the agent's hot path, on bytes, without allocation when
/// there is nothing to redact.
///
/// ```swift
/// KeyRedaction.redact("/api/files/5f…/blob?Key=abc&x=1")      // "/api/files/5f…/blob?Key=REDACTED&x=1"
/// KeyRedaction.redact("https://u:secret@h/healthz?%74oken=t")  // "https://u:REDACTED@h/healthz?%74oken=REDACTED"
/// ```
public enum KeyRedaction {
    /// The replacement text.
    public static let replacement = "REDACTED"

    /// Parameter names (lower case) whose values are credentials.
    public static let parameterNames: Set<String> = [
        "key", "apikey", "api_key", "api-key", "x-api-key", "token", "access_token", "auth_token",
    ]

    /// `text` with every credential described on the type replaced by `REDACTED`.
    public static func redact(_ text: String) -> String {
        var utf8 = Array(text.utf8)
        guard redact(bytes: &utf8) else { return text }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Redacts `bytes` in place (see the type); returns whether anything changed.
    @discardableResult
    public static func redact(bytes: inout [UInt8]) -> Bool {
        // Fast path: no `=` means no parameter; no `@` means no user information.
        var hasEquals = false
        var hasAt = false
        for b in bytes {
            if b == UInt8(ascii: "=") { hasEquals = true }
            if b == UInt8(ascii: "@") { hasAt = true }
        }
        guard hasEquals || hasAt else { return false }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var changed = false
        let n = bytes.count
        var i = 0
        while i < n {
            let b = bytes[i]
            out.append(b)
            i += 1
            if b == UInt8(ascii: "/"), i < n, bytes[i] == UInt8(ascii: "/"), i >= 2, bytes[i - 2] == UInt8(ascii: ":") {
                out.append(bytes[i])
                i += 1
                i = userInformation(bytes, from: i, into: &out, changed: &changed)
                continue
            }
            guard isParameterStart(b) else { continue }
            // A parameter name runs to `=` (or ends without one).
            var j = i
            while j < n, !isValueEnd(bytes[j]), bytes[j] != UInt8(ascii: "=") { j += 1 }
            guard j < n, bytes[j] == UInt8(ascii: "="), j > i, j - i <= 64 else { continue }
            guard let name = decodedLowercasedName(bytes[i..<j]), parameterNames.contains(name) else { continue }
            var k = j + 1
            while k < n, !isValueEnd(bytes[k]) { k += 1 }
            out.append(contentsOf: bytes[i...j])
            out.append(contentsOf: replacement.utf8)
            if !(k - j - 1 == replacement.utf8.count && bytes[(j + 1)..<k].elementsEqual(replacement.utf8)) {
                changed = true
            }
            i = k
        }
        if changed { bytes = out }
        return changed
    }

    /// After `scheme://`: copies `user:password@` with the password redacted, when the authority has one.
    static func userInformation(_ bytes: [UInt8], from start: Int, into out: inout [UInt8], changed: inout Bool) -> Int {
        var j = start
        var colon: Int?
        while j < bytes.count {
            let c = bytes[j]
            if c == UInt8(ascii: "/") || c == UInt8(ascii: "?") || c == UInt8(ascii: "#") || isValueEnd(c) { return start }
            if c == UInt8(ascii: ":"), colon == nil { colon = j }
            if c == UInt8(ascii: "@") { break }
            j += 1
        }
        guard j < bytes.count, let colon else { return start }
        out.append(contentsOf: bytes[start...colon])
        out.append(contentsOf: replacement.utf8)
        out.append(UInt8(ascii: "@"))
        if !bytes[(colon + 1)..<j].elementsEqual(replacement.utf8) { changed = true }
        return j + 1
    }

    @inline(__always)
    static func isParameterStart(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "?") || b == UInt8(ascii: "&") || b == UInt8(ascii: ";") || b == UInt8(ascii: "#")
    }

    @inline(__always)
    static func isValueEnd(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "&") || b == UInt8(ascii: ";") || b == UInt8(ascii: "#") || b == 0x20 || b == 0x09
            || b == UInt8(ascii: "\"") || b == 0x0A || b == 0x0D
    }

    /// The name percent-decoded and ASCII lower-cased; nil when it is not a plausible name.
    static func decodedLowercasedName(_ raw: ArraySlice<UInt8>) -> String? {
        var name: [UInt8] = []
        name.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            var c = raw[i]
            if c == UInt8(ascii: "%"), i + 2 < raw.endIndex, let h = hex(raw[i + 1]), let l = hex(raw[i + 2]) {
                c = h << 4 | l
                i += 3
            } else {
                i += 1
            }
            if c >= UInt8(ascii: "A"), c <= UInt8(ascii: "Z") { c |= 0x20 }
            name.append(c)
        }
        return String(validating: name, as: UTF8.self)
    }

    @inline(__always)
    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
