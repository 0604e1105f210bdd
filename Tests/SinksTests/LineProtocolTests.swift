import MetricsModel
import Testing

@testable import Sinks

/// Escaping per InfluxDB's line protocol reference
/// (https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/#special-characters);
/// expected lines written by hand.
@Suite struct LineProtocolTests {
    func line(_ m: String, _ tags: [(String, String)], _ fields: [(String, JSONValue)], _ t: Int64 = 1) -> String {
        var w = LineProtocolWriter()
        w.append(measurement: m, tags: tags, fields: fields, timeNanoseconds: t)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    @Test func typesAndSuffixes() {
        #expect(
            line("nginx_access", [("vhost", "a.org")], [("requests", .int(12)), ("p50", .double(0.031)), ("up", .bool(true)), ("result", "ok")], 1_795_953_600_000_000_000)
                == "nginx_access,vhost=a.org requests=12i,p50=0.031,up=true,result=\"ok\" 1795953600000000000\n")
    }

    @Test func escapesMeasurementTagsKeysAndStrings() {
        #expect(line("my measure,x", [], [("v", .int(1))]) == "my\\ measure\\,x v=1i 1\n")
        #expect(line("m", [("tag key", "a=b,c d")], [("v", .int(1))]) == "m,tag\\ key=a\\=b\\,c\\ d v=1i 1\n")
        #expect(line("m", [], [("field key,=", .string(#"say "hi" \ bye"#))]) == "m field\\ key\\,\\==\"say \\\"hi\\\" \\\\ bye\" 1\n")
        // '=' needs no escape in a measurement.
        #expect(line("a=b", [], [("v", .int(1))]) == "a=b v=1i 1\n")
    }

    @Test func dropsWhatLineProtocolCannotCarry() {
        // Empty tag values, null and non-finite fields are left out; a trailing odd backslash is dropped.
        #expect(line("m", [("empty", ""), ("t", "x\\")], [("n", .null), ("inf", .double(.infinity)), ("v", .int(1))]) == "m,t=x v=1i 1\n")
        // No writable field: no line at all.
        #expect(line("m", [("t", "x")], [("n", .null)]) == "")
        // Newlines in tags become (escaped) spaces; `time` is renamed.
        #expect(line("m", [("t", "a\nb")], [("time", .int(1))]) == "m,t=a\\ b time_=1i 1\n")
        // Nested values become JSON text.
        #expect(line("m", [], [("o", ["a": 1])]) == "m o=\"{\\\"a\\\":1}\" 1\n")
    }

    @Test func tagsAreSorted() {
        #expect(line("m", [("b", "2"), ("a", "1")], [("v", .int(1))]) == "m,a=1,b=2 v=1i 1\n")
    }

    @Test func eventLayout() {
        let e = ClowderEvent([
            "category": "download", "type": "file", "user_id": "u1", "source": "nginx", "resource_id": "5f00",
            "size": 10, "created": 1_795_953_600_123,
        ])
        let (tags, fields, time) = InfluxDestination.eventLine(e, messageID: "b:1")!
        #expect(Dictionary(uniqueKeysWithValues: tags) == ["category": "download", "type": "file", "user_id": "u1", "source": "nginx"])
        #expect(Set(fields.map(\.0)) == ["message_id", "resource_id", "size"])
        // created ms in ns plus an offset below one millisecond, the same for the same message id.
        #expect(time / 1_000_000 == 1_795_953_600_123)
        #expect(time == InfluxDestination.eventLine(e, messageID: "b:1")!.2)
        #expect(time != InfluxDestination.eventLine(e, messageID: "b:2")!.2)
    }
}
