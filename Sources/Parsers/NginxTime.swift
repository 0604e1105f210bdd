/// Conversions of NGINX's time variables to UTC epoch milliseconds, on bytes.
///
/// Sources: NGINX docs, ngx_http_log_module (`$time_local` in the Common Log Format
/// `dd/Mon/yyyy:HH:MM:SS ±hhmm`, `$time_iso8601` in ISO 8601 `yyyy-mm-ddTHH:MM:SS±hh:mm`,
/// `$msec` as seconds with a millisecond fraction). Calendar arithmetic: proleptic Gregorian
/// (H. Hinnant, "chrono-compatible low-level date algorithms", `days_from_civil`).
public enum NginxTime {
    /// `$time_local` (`07/Dec/2016:11:05:07 +0100`) → epoch milliseconds UTC; `nil` if malformed.
    public static func epochMilliseconds(timeLocal b: UnsafeRawBufferPointer) -> Int64? {
        guard b.count == 26, b[2] == 0x2F, b[6] == 0x2F, b[11] == 0x3A, b[14] == 0x3A, b[17] == 0x3A, b[20] == 0x20
        else { return nil }
        guard let day = digits(b, 0, 2), let year = digits(b, 7, 4), let hour = digits(b, 12, 2),
              let minute = digits(b, 15, 2), let second = digits(b, 18, 2), let month = month(b[3], b[4], b[5]),
              let oh = digits(b, 22, 2), let om = digits(b, 24, 2)
        else { return nil }
        let sign: Int64
        switch b[21] {
        case 0x2B: sign = 1
        case 0x2D: sign = -1
        default: return nil
        }
        return compose(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                       offsetSeconds: sign * (oh * 3600 + om * 60))
    }

    /// `$time_iso8601` (`2016-12-07T11:05:07+01:00`, or `…Z`) → epoch milliseconds UTC; `nil` if malformed.
    public static func epochMilliseconds(iso8601 b: UnsafeRawBufferPointer) -> Int64? {
        guard b.count == 25 || b.count == 20, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A
        else { return nil }
        guard let year = digits(b, 0, 4), let month = digits(b, 5, 2), let day = digits(b, 8, 2),
              let hour = digits(b, 11, 2), let minute = digits(b, 14, 2), let second = digits(b, 17, 2),
              month >= 1, month <= 12
        else { return nil }
        var offset: Int64 = 0
        if b.count == 25 {
            guard b[22] == 0x3A, let oh = digits(b, 20, 2), let om = digits(b, 23, 2) else { return nil }
            switch b[19] {
            case 0x2B: offset = oh * 3600 + om * 60
            case 0x2D: offset = -(oh * 3600 + om * 60)
            default: return nil
            }
        } else {
            guard b[19] == 0x5A else { return nil }
        }
        return compose(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                       offsetSeconds: offset)
    }

    /// `$msec` (`1481105107.123`) → epoch milliseconds; `nil` if malformed. Digits past the third
    /// decimal are dropped.
    public static func epochMilliseconds(msec b: UnsafeRawBufferPointer) -> Int64? {
        var seconds: Int64 = 0
        var i = 0
        while i < b.count, b[i] != 0x2E {
            let d = Int64(b[i]) - 48
            guard d >= 0, d <= 9, i < 18 else { return nil }
            seconds = seconds * 10 + d
            i += 1
        }
        guard i > 0 else { return nil }
        var ms: Int64 = 0
        var scale: Int64 = 100
        if i < b.count {
            i += 1
            while i < b.count {
                let d = Int64(b[i]) - 48
                guard d >= 0, d <= 9 else { return nil }
                ms += d * scale
                scale /= 10
                i += 1
            }
        }
        return seconds * 1000 + ms
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (`days_from_civil`).
    public static func daysFromCivil(year y0: Int64, month m: Int64, day d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    @inline(__always)
    static func compose(year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64,
                        offsetSeconds: Int64) -> Int64? {
        guard day >= 1, day <= 31, hour <= 23, minute <= 59, second <= 60 else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return ((days * 86400 + hour * 3600 + minute * 60 + second) - offsetSeconds) * 1000
    }

    @inline(__always)
    static func digits(_ b: UnsafeRawBufferPointer, _ at: Int, _ n: Int) -> Int64? {
        var v: Int64 = 0
        for i in at..<(at + n) {
            let d = Int64(b[i]) &- 48
            guard d >= 0, d <= 9 else { return nil }
            v = v &* 10 &+ d
        }
        return v
    }

    @inline(__always)
    static func month(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int64? {
        switch (UInt32(a) << 16) | (UInt32(b) << 8) | UInt32(c) {
        case 0x4A616E: 1  // Jan
        case 0x466562: 2  // Feb
        case 0x4D6172: 3  // Mar
        case 0x417072: 4  // Apr
        case 0x4D6179: 5  // May
        case 0x4A756E: 6  // Jun
        case 0x4A756C: 7  // Jul
        case 0x417567: 8  // Aug
        case 0x536570: 9  // Sep
        case 0x4F6374: 10  // Oct
        case 0x4E6F76: 11  // Nov
        case 0x446563: 12  // Dec
        default: nil
        }
    }
}
