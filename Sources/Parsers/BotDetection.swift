// Bot detection, apart from the route classifier (ClowderClassifier.swift); credential
// redaction is KeyRedaction (Redaction/KeyRedaction.swift).

extension ClowderClassifier {
    /// Whether a user agent matches `bot|crawler|spider|slurp|facebookexternalhit`, ignoring ASCII case.
    public static func isBot(_ ua: UnsafeRawBufferPointer) -> Bool {
        let n = ua.count
        var i = 0
        while i + 3 <= n {
            let c = ua[i] | 0x20
            switch c {
            case 0x62:  // b
                if ua[i + 1] | 0x20 == 0x6F, ua[i + 2] | 0x20 == 0x74 { return true }
            case 0x63:  // c
                if i + 7 <= n, lowerEquals(ua, i, "crawler") { return true }
            case 0x73:  // s
                if i + 6 <= n, lowerEquals(ua, i, "spider") { return true }
                if i + 5 <= n, lowerEquals(ua, i, "slurp") { return true }
            case 0x66:  // f
                if i + 19 <= n, lowerEquals(ua, i, "facebookexternalhit") { return true }
            default: break
            }
            i += 1
        }
        return false
    }

    @inline(__always)
    private static func lowerEquals(_ b: UnsafeRawBufferPointer, _ at: Int, _ s: StaticString) -> Bool {
        let p = s.utf8Start
        for k in 0..<s.utf8CodeUnitCount where b[at + k] | 0x20 != p[k] { return false }
        return true
    }
}
