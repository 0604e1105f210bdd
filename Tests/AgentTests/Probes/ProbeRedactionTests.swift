import Agent
import MetricsModel
import Testing

/// Credentials in probe targets and malformed-line samples never leave the host (issue 11, item 6):
/// every place passes through `KeyRedaction.redact` (Parsers/Redaction).
@Suite struct ProbeRedactionTests {
    let identity = AgentIdentity(id: "a", host: "h", region: "eu", version: "0")
    let target = "https://monitor:pw@clowder.example.org/healthz?API_KEY=s3cret&Token=t0k&x=1"
    let redacted = "https://monitor:REDACTED@clowder.example.org/healthz?API_KEY=REDACTED&Token=REDACTED&x=1"

    @Test("http_response: the server tag")
    func httpServerTag() {
        let r = HTTPResult(
            url: target, method: "GET", outcome: .success, statusCode: 200,
            phases: HTTPPhases(dns: 0, connect: 0, tls: 0, firstByte: 0, transfer: 0, total: 0.01), contentLength: 7,
            redirects: 0)
        #expect(r.point(identity: identity, timeNanoseconds: 1).tags["server"] == redacted)
    }

    @Test("service_status: url and service_name (the target by default)")
    func serviceStatus() {
        let e = ServiceStatusEvent.make(
            serviceName: target, url: target, up: true, responseTimes: [0.01], lossPercent: 0, uptimeRatio: 1,
            identity: identity, createdMilliseconds: 1)
        #expect(e.members["url"] == .string(redacted))
        #expect(e.members["service_name"] == .string(redacted))
        #expect(!e.json.jsonString.contains("s3cret"))
        #expect(!e.json.jsonString.contains(":pw@"))
    }

    @Test("malformed-line samples")
    func malformedSample() {
        let line = Array(#"junk "GET /api/files?key=s3cret HTTP/1.1" \#u{1}"#.utf8)
        let text = line.withUnsafeBytes { AccessLogPipeline.printable($0) }
        #expect(text == #"junk "GET /api/files?key=REDACTED HTTP/1.1" \x01"#)
    }
}
