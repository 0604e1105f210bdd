import RawStructuredFieldValues
import Testing

@testable import MetricsModel

/// Signing's use of apple/swift-http-structured-headers (RFC 8941): the RFC 9421
/// examples parse and serialize back byte for byte, malformed values are refused,
/// and a field longer than the bound is refused before the library sees it.
@Suite struct StructuredFieldsTests {
    @Test func dictionaryWithInnerListAndParameters() throws {
        // RFC 9421 §4.1 example (Signature-Input).
        let text = #"sig1=("@method" "@target-uri" "@authority" "content-digest" "cache-control");created=1618884475;keyid="test-key-rsa-pss""#
        let d = try StructuredFields.dictionary(text)
        #expect(d.map(\.0) == ["sig1"])
        guard case .innerList(let l) = d["sig1"] else {
            Issue.record("not an inner list")
            return
        }
        #expect(
            l.bareInnerList.map { $0.rfc9651BareItem.stringValue }
                == ["@method", "@target-uri", "@authority", "content-digest", "cache-control"])
        #expect(l.rfc9651Parameters["created"]?.integerValue == 1_618_884_475)
        #expect(l.rfc9651Parameters["keyid"]?.stringValue == "test-key-rsa-pss")
        #expect(try StructuredFields.serialize(l) == String(text.dropFirst("sig1=".count)))
    }

    @Test func byteSequencesAndSeveralMembers() throws {
        let d = try StructuredFields.dictionary("  sha-256=:AQID:,  sha-512=:/w==: , a, b=?0;x")
        #expect(d.map(\.0) == ["sha-256", "sha-512", "a", "b"])
        guard case .item(let a)? = d["sha-256"], case .item(let b)? = d["sha-512"] else {
            Issue.record("not items")
            return
        }
        #expect(a.rfc9651BareItem.byteSequenceValue == [1, 2, 3])
        #expect(b.rfc9651BareItem.byteSequenceValue == [255])
    }

    @Test func duplicateKeyOverwritesInPlace() throws {
        // RFC 8941 §4.2.2: "overwrite its value".
        let d = try StructuredFields.dictionary("a=1, b=2, a=3")
        #expect(d.map(\.0) == ["a", "b"])
        guard case .item(let a)? = d["a"] else {
            Issue.record("not an item")
            return
        }
        #expect(a.rfc9651BareItem.integerValue == 3)
    }

    @Test func stringsAndNames() throws {
        #expect(try StructuredFields.item(#""a \"q\" \\ b""#).rfc9651BareItem.stringValue == #"a "q" \ b"#)
        #expect(try StructuredFields.serialize(StructuredFields.string(#"a"b\c"#)) == #""a\"b\\c""#)
    }

    @Test(arguments: [
        "a=", "a=1,", "A=1", "a=(1 2", "a=\"x", "a=1 b=2", "a=\"\u{7}\"", "a=1234567890123456",
        "a=1.2345", "a=\"\\n\"", "a=?2",
    ])
    func malformedIsRefused(text: String) {
        #expect(throws: StructuredFields.Failure.self) { try StructuredFields.dictionary(text) }
    }

    /// A Signature-Input of 100 000 members (the shape that made our own parser quadratic)
    /// is refused by its length, before parsing.
    @Test func longFieldIsRefusedBeforeParsing() throws {
        let long = (0..<100_000).map { "k\($0)=1" }.joined(separator: ",")
        #expect(throws: StructuredFields.Failure(description: "longer than 4096 bytes")) {
            try StructuredFields.dictionary(long)
        }
        let limit = String(repeating: "a", count: StructuredFields.maxFieldBytes)
        #expect(try StructuredFields.dictionary(limit).count == 1)
    }

    @Test func invalidBase64IsNotBytes() throws {
        let d = try StructuredFields.dictionary("a=:AQ=D:")
        guard case .item(let a)? = d["a"] else {
            Issue.record("not an item")
            return
        }
        #expect(a.rfc9651BareItem.byteSequenceValue == nil)
    }

    @Test func base64RoundTripAndStrictness() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Array(Base64.encode(bytes).utf8)) == bytes)
        }
        #expect(Base64.encode(Array("hello".utf8)) == "aGVsbG8=")
        #expect(Base64.decode(Array("aGVsbG8".utf8)) == Array("hello".utf8))  // padding omitted: accepted
        #expect(Base64.decode(Array("aGVsbG9=".utf8)) == nil)  // non-zero pad bits
        #expect(Base64.decode(Array("a".utf8)) == nil)
    }
}
