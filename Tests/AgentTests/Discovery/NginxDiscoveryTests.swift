import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Zero configuration beside NGINX: a real NGINX writes three access logs in three formats (one
/// JSON with `escape=json`); the agent is given only `CLOWDER_METRICS_NGINX_CONFIG=auto` (it runs
/// `nginx -T` itself) and counts every request in the log it was written to. Then a fourth log
/// is added to NGINX's configuration and NGINX reloaded: the agent notices the changed file and
/// tails that one too.
@Suite("clowder-agent run: access logs found with nginx -T", .serialized, .ownThreads)
struct NginxDiscoveryTests {
    static let plain = #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time"#
    static let iso = #"$remote_addr [$time_iso8601] "$request" $status $body_bytes_sent $request_time $host"#
    static let json = #"{"time":"$time_iso8601","remote_addr":"$remote_addr","request":"$request","status":$status,"bytes":$body_bytes_sent,"agent":"$http_user_agent"}"#
    static let msec = #"$msec $remote_addr "$request" $status $body_bytes_sent $request_length"#

    static func locations(_ logs: String, fourth: Bool) -> String {
        var s = """
            location /iso/ { access_log \(logs)/iso.log iso_fmt; return 200 "iso\\n"; }
            location /json/ { access_log \(logs)/json.log json_fmt; return 200 "json\\n"; }
            location /quiet/ { access_log off; return 200 "quiet\\n"; }
            location /syslog/ { access_log syslog:server=127.0.0.1:25514 combined; return 200 "syslog\\n"; }
            """
        if fourth { s += "\nlocation /msec/ { access_log \(logs)/msec.log msec_fmt; return 200 \"msec\\n\"; }" }
        return s
    }

    static func formats() -> String {
        """
        log_format iso_fmt '\(iso)';
        log_format json_fmt escape=json '\(json)';
        log_format msec_fmt '\(msec)';
        """
    }

    @Test("three access_log lines in three formats: every counter equals the requests sent to each; a fourth added later is tailed after the change")
    func threeFormats() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let logs = dir.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        chmod(dir.path, 0o755)
        let nginx = try NginxServer(logFormat: Self.plain, serverDirectives: Self.locations(logs, fourth: false),
                                    httpDirectives: Self.formats())
        defer { nginx.stop() }
        let binary = try #require(NginxServer.findBinary())
        let env = """
            CLOWDER_METRICS_NGINX_CONFIG=auto
            CLOWDER_METRICS_NGINX_COMMAND=\(binary) -T -c \(nginx.configPath) -p \(nginx.prefix)/
            CLOWDER_METRICS_READ_FROM=start
            CLOWDER_METRICS_WINDOW=1
            CLOWDER_METRICS_ALLOWED_LATENESS=0
            CLOWDER_METRICS_OUTPUT_FILE=\(dir.file("out.jsonl"))
            CLOWDER_METRICS_SPOOL_PATH=\(dir.file("state.db"))
            """
        try env.write(toFile: dir.file("agent.env"), atomically: true, encoding: .utf8)
        let check = try AgentProcess.run(["check", "--env-file", dir.file("agent.env")])
        #expect(check.status == 0, "\(check.out)\(check.err)")
        #expect(check.out.contains("tail \(logs)/json.log with log_format json_fmt"), "\(check.out)")
        #expect(check.out.contains("access_log off"), "\(check.out)")
        #expect(check.out.contains("syslog"), "\(check.out)")

        let agent = try AgentProcess(["run", "--env-file", dir.file("agent.env")])
        let id = "5f0c1a2b3c4d5e6f7a8b9c0d"
        let ua = #"Mozilla/5.0 (X11; "quoted" \ agent)"#
        var sent = ["main": 0, "iso": 0, "json": 0, "msec": 0]
        for i in 0..<9 { #expect(try nginx.get("/files/\(id)?n=\(i)").status == 200); sent["main"]! += 1 }
        for i in 0..<7 { #expect(try nginx.get("/iso/\(i)").status == 200); sent["iso"]! += 1 }
        for i in 0..<5 {
            #expect(try nginx.get("/json/api/files/\(id)/blob?n=\(i)", headers: [("User-Agent", ua)]).status == 200)
            sent["json"]! += 1
        }
        for i in 0..<4 { #expect(try nginx.get("/quiet/\(i)").status == 200) }
        for i in 0..<3 { #expect(try nginx.get("/syslog/\(i)").status == 200) }

        // A fourth log: NGINX's configuration file changes and NGINX is reloaded (SIGHUP to its master).
        let conf = try String(contentsOfFile: nginx.configPath, encoding: .utf8)
        try conf.replacingOccurrences(of: Self.locations(logs, fourth: false), with: Self.locations(logs, fourth: true))
            .write(toFile: nginx.configPath, atomically: false, encoding: .utf8)
        #expect(kill(nginx.pid, SIGHUP) == 0)
        // Until the new workers answer, /msec/ is served by `location /` and logged in the main log.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let r = try nginx.get("/msec/probe")
            if r.bodyText == "msec\n" { sent["msec"]! += 1; break }
            sent["main"]! += 1
            usleep(50_000)
        }
        #expect(sent["msec"] == 1, "NGINX did not load the new configuration")
        usleep(3_000_000)  // the agent looks at the watched files every 2 s
        for i in 0..<6 { #expect(try nginx.request("POST", "/msec/\(i)", body: Array("x=\(i)".utf8)).status == 200); sent["msec"]! += 1 }
        usleep(2_500_000)
        #expect(agent.terminate() == 0)

        let lines = try String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8).split(separator: "\n")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func sum(_ log: String, _ field: String) -> Int {
            objects.filter { $0["measurement"] as? String == "nginx_access" && ($0["tags"] as? [String: String])?["access_log"] == log }
                .reduce(0) { $0 + ((($1["fields"] as? [String: Any])?[field] as? Int) ?? 0) }
        }
        let paths = ["main": nginx.accessLogPath, "iso": logs + "/iso.log", "json": logs + "/json.log", "msec": logs + "/msec.log"]
        for (name, path) in paths {
            let written = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").count
            #expect(written == sent[name], "\(name): NGINX wrote \(written) lines, \(sent[name]!) requests were sent")
            #expect(sum(path, "requests") == sent[name], "\(name) requests")
            #expect(sum(path, "status_2xx") == sent[name], "\(name) status_2xx")
            #expect(sum(path, "malformed_lines") == 0, "\(name) malformed_lines")
        }
        #expect(sum(paths["main"]!, "view_file") == 9)
        #expect(sum(paths["json"]!, "bytes_sent") == 5 * "json\n".utf8.count)
        // $request_length is in the fourth format only: its points have upload_bytes (0: these are no uploads).
        #expect(objects.contains { ($0["tags"] as? [String: String])?["access_log"] == paths["msec"]! && ($0["fields"] as? [String: Any])?["upload_bytes"] as? Int == 0 })
    }
}
