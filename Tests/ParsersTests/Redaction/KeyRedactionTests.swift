import Parsers
import Testing

/// ``KeyRedaction``: every spelling of a credential parameter, in URLs and in whole log lines.
@Suite struct KeyRedactionTests {
    @Test("key= values are redacted in URLs, other parameters kept")
    func clowderKey() {
        #expect(KeyRedaction.redact("/api/datasets?limit=20&key=abcdef0123") == "/api/datasets?limit=20&key=REDACTED")
        #expect(
            KeyRedaction.redact("/api/files/x/blob?key=a&tracking=false&key=b")
                == "/api/files/x/blob?key=REDACTED&tracking=false&key=REDACTED")
        #expect(KeyRedaction.redact("/api/files?monkey=1") == "/api/files?monkey=1")
        #expect(KeyRedaction.redact("/api/files?keys=1&mykey=2") == "/api/files?keys=1&mykey=2")
        #expect(KeyRedaction.redact("/key=1") == "/key=1")
        #expect(KeyRedaction.redact("/no/query") == "/no/query")
    }

    @Test(
        "every spelling: case, api_key, apikey, token, access_token, percent-encoded names",
        arguments: [
            "KEY", "Key", "api_key", "API_KEY", "apikey", "ApiKey", "api-key", "x-api-key", "token", "Token",
            "access_token", "ACCESS_TOKEN", "auth_token", "%6Bey", "%6b%65%79", "api%5Fkey", "API%5fKEY", "%74oken",
            "access%5Ftoken",
        ])
    func spellings(name: String) {
        let url = "https://clowder.example.org/api/files/5f0c?limit=1&\(name)=s3cr3t-Value&x=y"
        let out = KeyRedaction.redact(url)
        #expect(out == "https://clowder.example.org/api/files/5f0c?limit=1&\(name)=REDACTED&x=y")
        #expect(!out.contains("s3cr3t"))
    }

    @Test("separators: first parameter, ';', fragment, end of text; values end at space and quote")
    func separators() {
        #expect(KeyRedaction.redact("/a?token=t1") == "/a?token=REDACTED")
        #expect(KeyRedaction.redact("/a?x=1;key=t2;y=2") == "/a?x=1;key=REDACTED;y=2")
        #expect(KeyRedaction.redact("/cb#access_token=t3&state=s") == "/cb#access_token=REDACTED&state=s")
        #expect(KeyRedaction.redact("/a?key=") == "/a?key=REDACTED")
    }

    @Test("a whole NGINX log line (a malformed-line sample) is redacted in place")
    func logLine() {
        let line = #"203.0.113.5 - - [01/Jun/2026:00:00:00 +0000] "GET /api/files?Key=abc123&x=1 HTTP/1.1" 200 12 "https://ref/?api_key=zzz" "curl/8""#
        let out = KeyRedaction.redact(line)
        #expect(
            out
                == #"203.0.113.5 - - [01/Jun/2026:00:00:00 +0000] "GET /api/files?Key=REDACTED&x=1 HTTP/1.1" 200 12 "https://ref/?api_key=REDACTED" "curl/8""#
        )
    }

    @Test("the password of a URL's user information")
    func userInformation() {
        #expect(KeyRedaction.redact("https://user:pa55@clowder.example.org/healthz") == "https://user:REDACTED@clowder.example.org/healthz")
        #expect(KeyRedaction.redact("https://user@clowder.example.org/healthz") == "https://user@clowder.example.org/healthz")
        #expect(KeyRedaction.redact("https://clowder.example.org/a@b") == "https://clowder.example.org/a@b")
        #expect(KeyRedaction.redact("http://u:p@h/x?token=t") == "http://u:REDACTED@h/x?token=REDACTED")
    }

    @Test("idempotent, and non-UTF-8 bytes survive")
    func idempotent() {
        let once = KeyRedaction.redact("/a?key=1&Token=2#apikey=3")
        #expect(KeyRedaction.redact(once) == once)
        var bytes: [UInt8] = Array("/a?key=".utf8) + [0xFF, 0xFE] + Array("&b=\u{00e9}".utf8)
        #expect(KeyRedaction.redact(bytes: &bytes))
        #expect(bytes == Array("/a?key=REDACTED&b=\u{00e9}".utf8))
    }
}
