import Foundation
import TestSupport
import Testing

/// The whole agent beside a real NGINX: it tails the log NGINX writes and
/// probes the same server, as in production.
@Suite("clowder-agent run beside a real NGINX", .serialized, .ownThreads)
struct AgentNginxTests {
    @Test("requests sent, plus the agent's own probe requests, are counted once; probes report NGINX up")
    func besideNginx() throws {
        let nginx = try NginxServer(
            logFormat: #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time $connection $connection_requests $request_length"#,
            serverDirectives: """
                location = /healthz { return 200 "healthy\\n"; }
                location = /nginx_status { stub_status; }
                location /files/ { return 200 "file bytes\\n"; }
                location /api/files/ { return 200 "blob bytes\\n"; }
                """)
        defer { nginx.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let env = """
            CLOWDER_METRICS_ACCESS_LOG=\(nginx.accessLogPath)
            CLOWDER_METRICS_LOG_FORMAT=clowder_metrics
            CLOWDER_METRICS_READ_FROM=start
            CLOWDER_METRICS_WINDOW=1
            CLOWDER_METRICS_ALLOWED_LATENESS=0
            CLOWDER_METRICS_HTTP_TARGETS=http://127.0.0.1:\(nginx.port)/healthz
            CLOWDER_METRICS_HTTP_EXPECT_BODY=healthy
            CLOWDER_METRICS_STUB_STATUS_URL=http://127.0.0.1:\(nginx.port)/nginx_status
            CLOWDER_METRICS_PROBE_INTERVAL=1
            CLOWDER_METRICS_OUTPUT_FILE=\(dir.file("out.jsonl"))
            CLOWDER_METRICS_SPOOL_PATH=\(dir.file("state.db"))
            """
        try env.write(toFile: dir.file("agent.env"), atomically: true, encoding: .utf8)
        // READ_FROM=start: a first start otherwise reads from the end (like tail -F), and a slow start
        // on a busy machine would miss the first requests.
        let agent = try AgentProcess(["run", "--env-file", dir.file("agent.env")])
        usleep(500_000)
        let id = "5f0c1a2b3c4d5e6f7a8b9c0d"
        for i in 0..<30 { #expect(try nginx.get("/files/\(id)?n=\(i)").status == 200) }
        for i in 0..<10 { #expect(try nginx.get("/api/files/\(id)/blob?n=\(i)").status == 200) }
        for i in 0..<5 { #expect(try nginx.get("/assets/main.css?n=\(i)").status == 200) }
        usleep(2_500_000)
        #expect(agent.terminate() == 0)

        let lines = try String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8).split(separator: "\n")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func points(_ m: String) -> [[String: Any]] { objects.filter { $0["measurement"] as? String == m } }
        func sum(_ field: String) -> Int {
            points("nginx_access").reduce(0) { $0 + ((($1["fields"] as? [String: Any])?[field] as? Int) ?? 0) }
        }
        let http = points("http_response")
        let stub = points("nginx")
        #expect(!http.isEmpty)
        #expect(!stub.isEmpty)
        for p in http {
            #expect((p["fields"] as? [String: Any])?["up"] as? Int == 1)
            #expect((p["tags"] as? [String: String])?["result"] == "success")
        }
        // NGINX logs the probe requests too: each probe round is one logged request.
        let logged = try String(contentsOfFile: nginx.accessLogPath, encoding: .utf8).split(separator: "\n").count
        #expect(sum("requests") == logged)
        #expect(logged == 45 + http.count + stub.count)
        #expect(sum("view_file") == 30)
        #expect(sum("download_file") == 10)
        #expect(sum("asset_requests") == 5)
        // By DESIGN.md's rule a GET answered 200 that is no asset, api call, preview or /healthz is a page
        // view: the stub_status reads are too, here (deploy/nginx keeps stub_status in a server with access_log off).
        #expect(sum("page_views") == 30 + stub.count)
        #expect(sum("status_2xx") == logged)
        #expect(objects.contains { $0["category"] as? String == "service_status" })
    }
}
