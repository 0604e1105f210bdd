import Parsers
import Testing

@Suite("NginxTime (time variables to UTC epoch milliseconds)")
struct NginxTimeTests {
    private func local(_ s: String) -> Int64? { Array(s.utf8).withUnsafeBytes { NginxTime.epochMilliseconds(timeLocal: $0) } }
    private func iso(_ s: String) -> Int64? { Array(s.utf8).withUnsafeBytes { NginxTime.epochMilliseconds(iso8601: $0) } }
    private func msec(_ s: String) -> Int64? { Array(s.utf8).withUnsafeBytes { NginxTime.epochMilliseconds(msec: $0) } }

    @Test("$time_local with positive, negative and zero offsets")
    func timeLocal() {
        #expect(local("01/Jan/1970:00:00:00 +0000") == 0)
        #expect(local("07/Dec/2016:11:05:07 +0100") == 1_481_105_107_000)  // 10:05:07Z
        #expect(local("29/Jul/2023:10:26:07 -0700") == 1_690_651_567_000)  // 17:26:07Z
        #expect(local("01/Jun/2026:05:30:00 +0530") == 1_780_272_000_000)  // 00:00:00Z
        #expect(local("31/Dec/2025:23:00:00 -0100") == 1_767_225_600_000)  // 2026-01-01T00:00:00Z (year change)
        #expect(local("29/Feb/2024:12:00:00 +0000") == 1_709_208_000_000)  // leap day
        #expect(local("07/Dec/2016:11:05:07 0100") == nil)
        #expect(local("07/Xyz/2016:11:05:07 +0100") == nil)
        #expect(local("7/Dec/2016:11:05:07 +0100") == nil)
    }

    @Test("$time_iso8601 with offsets and Z")
    func timeISO() {
        #expect(iso("2016-12-07T11:05:07+01:00") == 1_481_105_107_000)
        #expect(iso("2023-07-29T10:26:07-07:00") == 1_690_651_567_000)
        #expect(iso("2026-06-01T00:00:00Z") == 1_780_272_000_000)
        #expect(iso("2026-13-01T00:00:00Z") == nil)
        #expect(iso("2026-06-01 00:00:00Z") == nil)
    }

    @Test("$msec keeps milliseconds")
    func msecValues() {
        #expect(msec("1481105107.123") == 1_481_105_107_123)
        #expect(msec("1481105107.1") == 1_481_105_107_100)
        #expect(msec("1481105107") == 1_481_105_107_000)
        #expect(msec("abc") == nil)
    }

    @Test("days from civil")
    func civil() {
        #expect(NginxTime.daysFromCivil(year: 1970, month: 1, day: 1) == 0)
        #expect(NginxTime.daysFromCivil(year: 2000, month: 3, day: 1) == 11017)
        #expect(NginxTime.daysFromCivil(year: 1969, month: 12, day: 31) == -1)
    }
}
