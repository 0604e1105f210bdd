import Agent
import Foundation
import MetricsModel
import TestSupport
import Testing

/// `StubStatus` parsing and `StubStatusProbe` against a real NGINX.
@Suite("StubStatus", .ownThreads)
struct StubStatusTests {
    @Test("parses the page shown in NGINX's documentation")
    func documentedPage() throws {
        // ngx_http_stub_status_module documentation example.
        let page = "Active connections: 291 \nserver accepts handled requests\n 16630948 16630948 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n"
        let s = try #require(StubStatus(parsing: Array(page.utf8)))
        #expect(s == StubStatus(active: 291, accepts: 16630948, handled: 16630948, requests: 31070465,
                                reading: 6, writing: 179, waiting: 106))
        let p = s.point(server: "127.0.0.1", port: "8080",
                        identity: AgentIdentity(id: "a", host: "h", region: "r", version: "0"), timeNanoseconds: 1)
        #expect(p.measurement == "nginx")
        #expect(p.tags == ["server": "127.0.0.1", "port": "8080", "agent": "a", "host": "h", "region": "r"])
        #expect(p.fields["waiting"] == .int(106))
        #expect(StubStatus(parsing: Array("<html>nope</html>".utf8)) == nil)
    }

    @Test("reads a real NGINX: consistent counters, requests grow by exactly what was sent")
    func realNginx() throws {
        let nginx = try ProbeNginx(serverBody: """
            location = /nginx_status { stub_status; }
            location = /hello { return 200 "hi"; }
            """)
        defer { nginx.stop() }
        let probe = StubStatusProbe(url: nginx.url("/nginx_status"))
        #expect(probe.server == "127.0.0.1")
        #expect(probe.port == String(nginx.port))
        guard case .success(let first) = probe.run() else { Issue.record("stub_status unreadable"); return }
        #expect(first.accepts >= first.handled)
        #expect(first.active >= 1)  // the probe's own connection
        #expect(first.writing >= 1)  // the probe's own request is being answered
        #expect(first.active == first.reading + first.writing + first.waiting)
        let sent = 5
        for _ in 0..<sent {
            #expect(HTTPProbe(url: nginx.url("/hello")).run().outcome == .success)
        }
        guard case .success(let second) = probe.run() else { Issue.record("stub_status unreadable"); return }
        // The five requests plus this stub_status request itself.
        #expect(second.requests - first.requests == Int64(sent + 1))
        // One fresh connection per request.
        #expect(second.accepts - first.accepts == Int64(sent + 1))
        #expect(second.handled - first.handled == Int64(sent + 1))
    }

    @Test("a page that is not stub_status is a failure, not a point")
    func notStubStatus() throws {
        let nginx = try ProbeNginx(serverBody: "location / { return 200 \"hello\"; }")
        defer { nginx.stop() }
        guard case .failure(let f) = StubStatusProbe(url: nginx.url("/")).run() else {
            Issue.record("expected a failure"); return
        }
        #expect(f.message.contains("not an NGINX stub_status page"))
    }
}
