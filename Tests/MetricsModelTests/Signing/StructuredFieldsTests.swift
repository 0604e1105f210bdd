import Testing

@testable import MetricsModel

/// RFC 8941 parsing and serialization, on the examples of RFC 8941 and RFC 9421.
@Suite struct StructuredFieldsTests {
    @Test func dictionaryWithInnerListAndParameters() throws {
        // RFC 9421 §4.1 example (Signature-Input).
        let text = #"sig1=("@method" "@target-uri" "@authority" "content-digest" "cache-control");created=1618884475;keyid="test-key-rsa-pss""#
        let d = try SFParser.dictionary(text)
        #expect(d.keys == ["sig1"])
        guard case .innerList(let l) = d["sig1"] else { Issue.record("not an inner list"); return }
        #expect(l.items.map { $0.value } == ["@method", "@target-uri", "@authority", "content-digest", "cache-control"].map { .string($0) })
        #expect(l.parameters["created"] == .integer(1_618_884_475))
        #expect(l.parameters["keyid"] == .string("test-key-rsa-pss"))
        #expect(SFSerializer.innerList(l) == String(text.dropFirst("sig1=".count)))
    }

    @Test func byteSequencesAndSeveralMembers() throws {
        let d = try SFParser.dictionary("  sha-256=:AQID:,  sha-512=:/w==: , a, b=?0;x")
        #expect(d.keys == ["sha-256", "sha-512", "a", "b"])
        #expect(d["sha-256"] == .item(SFItem(value: .byteSequence([1, 2, 3]))))
        #expect(d["sha-512"] == .item(SFItem(value: .byteSequence([255]))))
        #expect(d["a"] == .item(SFItem(value: .boolean(true))))
        var p = SFParameters()
        p["x"] = .boolean(true)
        #expect(d["b"] == .item(SFItem(value: .boolean(false), parameters: p)))
    }

    @Test func duplicateKeyOverwritesInPlace() throws {
        // RFC 8941 §4.2.2: "overwrite its value".
        let d = try SFParser.dictionary("a=1, b=2, a=3")
        #expect(d.keys == ["a", "b"])
        #expect(d["a"] == .item(SFItem(value: .integer(3))))
    }

    @Test func stringsTokensNumbers() throws {
        #expect(try SFParser.item(#""a \"q\" \\ b""#).value == .string(#"a "q" \ b"#))
        #expect(try SFParser.item("foo/bar:baz").value == .token("foo/bar:baz"))
        #expect(try SFParser.item("-42").value == .integer(-42))
        #expect(try SFParser.item("4.5").value == .decimal(4.5))
        #expect(SFSerializer.string(#"a"b\c"#) == #""a\"b\\c""#)
    }

    @Test(arguments: [
        "a=", "a=1,", "A=1", "a=(1 2", "a=\"x", "a=:AQ*D:", "a=1 b=2", "a=\"\u{7}\"", "a=1234567890123456",
        "a=1.2345", "a=\"\\n\"", "a=?2",
    ])
    func malformedIsRefused(text: String) {
        #expect(throws: SFParseError.self) { try SFParser.dictionary(text) }
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
