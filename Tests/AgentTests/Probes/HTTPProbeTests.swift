import Agent
import Foundation
import MetricsModel
import TestSupport
import Testing

/// `HTTPProbe` against a real NGINX on loopback.
@Suite("HTTPProbe", .ownThreads)
struct HTTPProbeTests {
    static let fileSize = 123_457

    static func startNginx() throws -> ProbeNginx {
        try ProbeNginx(serverBody: """
            location = /healthz { default_type text/plain; return 200 "healthy\\n"; }
            location = /sick { default_type text/plain; return 200 "unhealthy: database down\\n"; }
            location = /r1 { return 301 /r2; }
            location = /r2 { return 302 /file.bin; }
            location = /missing-page { return 404; }
            """, prepare: { html in
                var bytes = [UInt8](repeating: 0, count: fileSize)
                for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
                try Data(bytes).write(to: html.appendingPathComponent("file.bin"))
            })
    }

    @Test("status, bytes equal to the file size, phases ≥ 0 summing to the total")
    func statusBytesPhases() throws {
        let nginx = try Self.startNginx()
        defer { nginx.stop() }
        let r = HTTPProbe(url: nginx.url("/file.bin")).run()
        #expect(r.outcome == .success)
        #expect(r.statusCode == 200)
        #expect(r.contentLength == Int64(Self.fileSize))
        #expect(r.redirects == 0)
        let p = r.phases
        for v in [p.dns, p.connect, p.tls, p.firstByte, p.transfer, p.total] { #expect(v >= 0) }
        #expect(p.tls == 0)  // plain HTTP
        #expect(abs(p.dns + p.connect + p.tls + p.firstByte + p.transfer - p.total) < 0.001)
        #expect(p.total > 0)

        let point = r.point(identity: AgentIdentity(id: "a1", host: "h1", region: "eu", version: "0"), timeNanoseconds: 5)
        #expect(point.measurement == "http_response")
        #expect(point.tags == ["server": nginx.url("/file.bin"), "method": "GET", "result": "success",
                               "agent": "a1", "host": "h1", "region": "eu"])
        #expect(point.fields["http_response_code"] == .int(200))
        #expect(point.fields["content_length"] == .int(Int64(Self.fileSize)))
        #expect(point.fields["up"] == .int(1))
        #expect(point.fields["result_code"] == .int(0))
        #expect(point.fields["tls_cert_expiry"] == nil)
    }

    @Test("a fresh connection every round: connect_time is measured each time")
    func freshConnectionEachRound() throws {
        let nginx = try Self.startNginx()
        defer { nginx.stop() }
        let probe = HTTPProbe(url: nginx.url("/healthz"))
        for _ in 0..<3 {
            let r = probe.run()
            #expect(r.outcome == .success)
            #expect(r.phases.connect > 0)
        }
    }

    @Test("301 → 302 → 200 counts 2 redirects; --no-follow stops at the 301")
    func redirects() throws {
        let nginx = try Self.startNginx()
        defer { nginx.stop() }
        let r = HTTPProbe(url: nginx.url("/r1")).run()
        #expect(r.outcome == .success)
        #expect(r.redirects == 2)
        #expect(r.statusCode == 200)
        #expect(r.contentLength == Int64(Self.fileSize))
        #expect(r.effectiveURL?.hasSuffix("/file.bin") == true)
        #expect(abs(r.phases.dns + r.phases.connect + r.phases.tls + r.phases.firstByte + r.phases.transfer
                    - r.phases.total) < 0.001)

        let n = HTTPProbe(url: nginx.url("/r1"), options: HTTPProbeOptions(followRedirects: false)).run()
        #expect(n.redirects == 0)
        #expect(n.statusCode == 301)
        #expect(n.outcome == .success)  // 3xx is a success without an expected status
        let strict = HTTPProbe(url: nginx.url("/r1"),
                               options: HTTPProbeOptions(expectedStatus: 200, followRedirects: false)).run()
        #expect(strict.outcome == .responseStatusCodeMismatch)
    }

    @Test("/healthz body check passes on healthy and fails otherwise")
    func healthzBody() throws {
        let nginx = try Self.startNginx()
        defer { nginx.stop() }
        let ok = HTTPProbe(url: nginx.url("/healthz"), options: HTTPProbeOptions(expectedBody: "healthy")).run()
        #expect(ok.outcome == .success)
        #expect(ok.contentLength == 8)  // "healthy\n"
        let sick = HTTPProbe(url: nginx.url("/sick"), options: HTTPProbeOptions(expectedBody: "healthy\n")).run()
        #expect(sick.outcome == .bodyMismatch)
        #expect(sick.isUp == false)
        #expect(sick.point(identity: AgentIdentity(id: "a", host: "h", region: "r", version: "0"), timeNanoseconds: 0)
            .fields["result_code"] == .int(1))
        let wrong = HTTPProbe(url: nginx.url("/healthz"), options: HTTPProbeOptions(expectedBody: "HEALTHY")).run()
        #expect(wrong.outcome == .bodyMismatch)
        let missing = HTTPProbe(url: nginx.url("/missing-page")).run()
        #expect(missing.outcome == .responseStatusCodeMismatch)
        #expect(missing.statusCode == 404)
        let expected404 = HTTPProbe(url: nginx.url("/missing-page"), options: HTTPProbeOptions(expectedStatus: 404)).run()
        #expect(expected404.outcome == .success)
    }

    @Test("a closed port gives connection_failed")
    func closedPort() throws {
        let port = try freeLoopbackPort()
        let r = HTTPProbe(url: "http://127.0.0.1:\(port)/").run()
        #expect(r.outcome == .connectionFailed)
        #expect(r.statusCode == nil)
        #expect(r.isUp == false)
        #expect(r.message?.isEmpty == false)
    }

    @Test("an unresolvable .invalid name gives dns_error")
    func unresolvable() throws {
        let r = HTTPProbe(url: "http://no-such-host-\(UInt32.random(in: 0...UInt32.max)).invalid/healthz",
                          options: HTTPProbeOptions(timeout: 5)).run()
        #expect(r.outcome == .dnsError)
    }

    @Test("a server that never answers gives timeout within the configured limit")
    func neverAnswers() throws {
        let silent = try SilentListener()
        let r = HTTPProbe(url: "http://127.0.0.1:\(silent.port)/", options: HTTPProbeOptions(timeout: 1)).run()
        #expect(r.outcome == .timeout)
        #expect(r.phases.total >= 0.99)
        #expect(r.phases.total < 3)  // the limit, not a speed assertion
        // The handshake completed (the kernel did it), so the wait is time-to-first-byte.
        #expect(r.phases.firstByte > 0.9)
    }

    @Test("https to a self-signed certificate gives tls_error")
    func selfSignedTLS() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("probe-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent("key.pem").path, cert = dir.appendingPathComponent("cert.pem").path
        let gen = try runCommand(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                  "-out", cert, "-days", "30", "-subj", "/CN=127.0.0.1"])
        try #require(gen.status == 0, "openssl: \(gen.err)")
        let tlsPort = try freeLoopbackPort()
        let nginx = try ProbeNginx(serverBody: "location / { return 200 \"ok\"; }", extraServers: """
            server {
                listen 127.0.0.1:\(tlsPort) ssl;
                ssl_certificate \(cert);
                ssl_certificate_key \(key);
                location / { return 200 "ok"; }
            }
            """)
        defer { nginx.stop() }
        let r = HTTPProbe(url: "https://127.0.0.1:\(tlsPort)/").run()
        #expect(r.outcome == .tlsError)
        #expect(r.phases.connect > 0)
        #expect(r.point(identity: AgentIdentity(id: "a", host: "h", region: "r", version: "0"), timeNanoseconds: 0)
            .fields["result_code"] == .int(7))
    }
}

/// `tls_cert_expiry` from a certificate the probe trusts.
@Suite("HTTPProbe TLS certificate expiry", .ownThreads)
struct HTTPProbeCertificateTests {
    @Test("tls_cert_expiry is the seconds left until notAfter")
    func expiry() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("probe-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent("key.pem").path, cert = dir.appendingPathComponent("cert.pem").path
        let gen = try runCommand(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                  "-out", cert, "-days", "30", "-subj", "/CN=localhost",
                                  "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(gen.status == 0, "openssl: \(gen.err)")
        // notAfter as openssl itself reports it, independently of the probe.
        let end = try runCommand(["openssl", "x509", "-in", cert, "-noout", "-enddate"])
        let fmt = DateFormatter()
        fmt.locale = Locale(identifier: "en_US_POSIX")
        fmt.timeZone = TimeZone(identifier: "GMT")
        fmt.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let text = end.out.replacingOccurrences(of: "notAfter=", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "  ", with: " ")
        let notAfter = try #require(fmt.date(from: text), "cannot read \(text)")

        let tlsPort = try freeLoopbackPort()
        let nginx = try ProbeNginx(serverBody: "location / { return 200 \"ok\"; }", extraServers: """
            server {
                listen 127.0.0.1:\(tlsPort) ssl;
                ssl_certificate \(cert);
                ssl_certificate_key \(key);
                location / { return 200 "ok"; }
            }
            """)
        defer { nginx.stop() }
        let r = HTTPProbe(url: "https://127.0.0.1:\(tlsPort)/", options: HTTPProbeOptions(caFile: cert)).run()
        #expect(r.outcome == .success, "\(r.message ?? "")")
        #expect(r.phases.tls > 0)
        let left = try #require(r.tlsCertificateExpiry)
        #expect(abs(left - notAfter.timeIntervalSinceNow) < 5)
        #expect(abs(r.phases.dns + r.phases.connect + r.phases.tls + r.phases.firstByte + r.phases.transfer
                    - r.phases.total) < 0.001)
    }
}
