import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// deploy/nginx: the recommended log format is exactly the `clowder_rl` format of
/// ../shared/tools/gen-clowder-log, and Debian's NGINX accepts the snippets and
/// writes lines in that format.
@Suite("NGINX snippets", .ownThreads)
struct NginxConfigTests {
    /// The `log_format clowder_metrics '…';` string of a file.
    static func logFormat(in text: String) -> String? {
        guard let line = text.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("log_format clowder_metrics '") })
        else { return nil }
        let start = line.firstIndex(of: "'")!
        let end = line.lastIndex(of: "'")!
        return String(line[line.index(after: start)..<end])
    }

    /// gen-clowder-log's `clowder_rl` format, from its truth file.
    static func generatorFormat() throws -> String {
        let gen = Repo.sharedTools.appendingPathComponent("gen-clowder-log").path
        let dir = try Repo.temporaryDirectory("gen")
        defer { try? FileManager.default.removeItem(at: dir) }
        let truth = dir.appendingPathComponent("truth.json").path
        let r = try Run.run("/usr/bin/env", ["python3", gen, "--lines", "1", "--format", "clowder_rl", "--out", dir.appendingPathComponent("a.log").path, "--truth", truth])
        #expect(r.status == 0, "gen-clowder-log: \(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: truth))) as! [String: Any]
        return object["log_format"] as! String
    }

    @Test("log_format clowder_metrics is gen-clowder-log's clowder_rl format, in every file that defines it")
    func sameFormatEverywhere() throws {
        let expected = try Self.generatorFormat()
        for path in ["deploy/nginx/clowder_metrics.conf", "deploy/k8s/clowder-agent-sidecar.yaml"] {
            #expect(Self.logFormat(in: try Repo.text(path)) == expected, "\(path)")
        }
        #expect(try Repo.text("deploy/nginx/clowder_metrics.conf").contains("access_log /var/log/nginx/access.log clowder_metrics;"))
    }

    @Test("NGINX accepts the snippets, logs in the format and serves stub_status on loopback")
    func nginxRuns() async throws {
        guard let nginx = Run.which("nginx") else {
            Issue.record("nginx is not installed (scripts/install-deps.sh installs nginx-light)")
            return
        }
        let dir = try Repo.temporaryDirectory("nginx")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (port, statusPort) = (try FreePort.next(), try FreePort.next())
        let logs = dir.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let snippet = try Repo.text("deploy/nginx/clowder_metrics.conf")
            .replacingOccurrences(of: "/var/log/nginx/", with: logs.path + "/")
            .replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:\(statusPort)")
        let site = try Repo.text("deploy/nginx/demo-site.conf").replacingOccurrences(of: "listen 80;", with: "listen 127.0.0.1:\(port);")
        let conf = """
            daemon off;
            error_log \(dir.path)/error.log;
            pid \(dir.path)/nginx.pid;
            events {}
            http {
              client_body_temp_path \(dir.path); proxy_temp_path \(dir.path); fastcgi_temp_path \(dir.path);
              uwsgi_temp_path \(dir.path); scgi_temp_path \(dir.path);
              \(snippet)
              \(site)
            }
            """
        let confURL = dir.appendingPathComponent("nginx.conf")
        try Data(conf.utf8).write(to: confURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: nginx)
        p.arguments = ["-c", confURL.path, "-p", dir.path]
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        try await FreePort.waitOpen(port)
        let page = try await HTTP.get("http://127.0.0.1:\(port)/datasets/0123456789abcdef01234567", headers: ["X-Demo-Status": "404", "User-Agent": "curl/8.5.0"])
        #expect(page.status == 404)
        let health = try await HTTP.get("http://127.0.0.1:\(port)/healthz")
        #expect(health.status == 200 && health.body == "healthy\n")
        let status = try await HTTP.get("http://127.0.0.1:\(statusPort)/nginx_status")
        #expect(status.status == 200 && status.body.hasPrefix("Active connections:"))
        // The line NGINX wrote has the format's 15 fields: combined (9) + request_time upstream connection
        // connection_requests request_length.
        var text = ""
        for _ in 0..<50 {
            text = (try? String(contentsOf: logs.appendingPathComponent("access.log"), encoding: .utf8)) ?? ""
            if text.split(separator: "\n").count >= 2 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let first = text.split(separator: "\n").first.map(String.init) ?? ""
        let pattern = #"^127\.0\.0\.1 - - \[[^\]]+\] "GET /datasets/0123456789abcdef01234567 HTTP/1\.1" 404 \d+ "-" "curl/8\.5\.0" \d+\.\d{3} - \d+ \d+ \d+$"#
        #expect(first.range(of: pattern, options: .regularExpression) != nil, "unexpected log line: \(first)")
    }
}

/// Free loopback TCP ports and waiting for one to open.
enum FreePort {
    /// A port the kernel just gave out (bound then closed).
    static func next() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw InfluxDB.Failure(description: "cannot bind a loopback port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func isOpen(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func waitOpen(_ port: Int, seconds: Double = 10) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if isOpen(port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw InfluxDB.Failure(description: "port \(port) did not open within \(seconds) s")
    }
}

/// A plain HTTP GET for tests.
enum HTTP {
    static func get(_ url: String, headers: [String: String] = [:]) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: url)!)
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}
