import MetricsModel
import Testing

/// ``MetricsMessage/decode(_:)`` is total: hostile values give an error naming the member, never a trap.
@Suite struct MessageDecodingTests {
    func reason(_ text: String) -> String? {
        do {
            _ = try MetricsMessage.decode(Array(text.utf8))
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("created that overflows nanoseconds is refused, not trapped (issue 11: the sink crash loop)")
    func overflowingCreated() {
        // 2⁶³−1 ms × 10⁶ overflows Int64: this message once killed every sink.
        let metric = reason(#"{"category":"metric","type":"m","created":9223372036854775807,"fields":{"v":1}}"#)
        #expect(metric?.contains("metric message created 9223372036854775807 is not an integer in") == true, "\(metric ?? "")")
        #expect(reason(#"{"category":"metric","type":"m","created":-9223372036854775808,"fields":{"v":1}}"#) != nil)
        #expect(reason(#"{"category":"metric","type":"m","created":9.2e15,"fields":{"v":1}}"#) != nil)
        let event = reason(#"{"category":"download","created":9223372036854775807}"#)
        #expect(event?.contains("event created 9223372036854775807 is not an integer in") == true, "\(event ?? "")")
        #expect(reason(#"{"category":"download","created":-9223372036854775808}"#) != nil)
    }

    @Test("the bounds are InfluxDB's time range, computed independently")
    func bounds() throws {
        // InfluxDB 1.x: models.MinNanoTime = math.MinInt64 + 2, MaxNanoTime = math.MaxInt64 - 1.
        #expect(MetricsMessage.timeNanosecondsRange == -9_223_372_036_854_775_806...9_223_372_036_854_775_806)
        // ⌊(2⁶³−2) / 10⁶⌋ − 1 = 9 223 372 036 853: the last millisecond whose ns time plus < 1 ms fits.
        #expect(MetricsMessage.createdMillisecondsRange.upperBound == 9_223_372_036_853)
        #expect(MetricsMessage.createdMillisecondsRange.lowerBound == -9_223_372_036_853)
        let last = try MetricsMessage.decode(Array(#"{"category":"metric","type":"m","created":9223372036853,"fields":{"v":1}}"#.utf8))
        #expect(last == .point(Point(measurement: "m", fields: ["v": 1], timeNanoseconds: 9_223_372_036_853_000_000)))
        #expect(reason(#"{"category":"download","created":9223372036854}"#) != nil)
        #expect(MetricsMessage.nanoseconds(milliseconds: 1_795_953_600_123) == 1_795_953_600_123_000_000)
        #expect(MetricsMessage.nanoseconds(milliseconds: .max) == nil)
        #expect(MetricsMessage.nanoseconds(milliseconds: .min) == nil)
    }

    @Test("time_ns outside InfluxDB's range, or not an integer, is refused")
    func timeNanoseconds() {
        #expect(reason(#"{"category":"metric","type":"m","time_ns":9223372036854775807,"fields":{"v":1}}"#)?.contains("time_ns") == true)
        #expect(reason(#"{"category":"metric","type":"m","time_ns":-9223372036854775807,"fields":{"v":1}}"#) != nil)
        #expect(reason(#"{"category":"metric","type":"m","time_ns":"1","fields":{"v":1}}"#) != nil)
        #expect(reason(#"{"category":"metric","type":"m","time_ns":1e300,"fields":{"v":1}}"#) != nil)
        #expect(reason(#"{"category":"metric","type":"m","time_ns":9223372036854775806,"fields":{"v":1}}"#) == nil)
    }

    @Test("other shapes: not an object, no type, no fields, tags not an object, numbers too large for Int64")
    func shapes() {
        #expect(reason("[]")?.contains("not a JSON object") == true)
        #expect(reason("123") != nil)
        #expect(reason(#"{"category":"metric","created":1,"fields":{"v":1}}"#)?.contains("type") == true)
        #expect(reason(#"{"category":"metric","type":"m","created":1}"#)?.contains("fields") == true)
        #expect(reason(#"{"category":"metric","type":"m","created":1,"tags":[1],"fields":{"v":1}}"#)?.contains("tags") == true)
        #expect(reason(#"{"category":"download","created":99999999999999999999999}"#) != nil)
        #expect(reason(#"{"category":"download","created":1795953600000}"#) == nil)
    }
}
