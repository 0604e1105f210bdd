import Foundation

/// Paths the regional tests need: the repository, `../shared/tools`, the built agent.
enum RegionPaths {
    /// `<repo>`: four components above this file (`Tests/SinksTests/Verdicts/`).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `delay-link` in the nearest ancestor's `shared/tools` (CI clones `shared/` beside the repository).
    static var delayLink: String {
        var dir = repoRoot.deletingLastPathComponent()
        while dir.path != "/" {
            let tool = dir.appendingPathComponent("shared/tools/delay-link")
            if FileManager.default.fileExists(atPath: tool.path) { return tool.path }
            dir = dir.deletingLastPathComponent()
        }
        return repoRoot.deletingLastPathComponent().appendingPathComponent("shared/tools/delay-link").path
    }

    /// The built `clowder-agent` (debug, as `swift build --build-tests` leaves it; else release).
    static func agent() throws -> String {
        for c in ["debug", "release"] {
            let p = repoRoot.appendingPathComponent(".build/\(c)/clowder-agent").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw RegionError("clowder-agent is not built: run `swift build --build-tests` first")
    }
}

struct RegionError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Runs a command to its end; output captured through files (no pipe to fill up).
@discardableResult
func regionRun(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    let dir = FileManager.default.temporaryDirectory
    let o = dir.appendingPathComponent("region-\(UUID().uuidString).out"), e = dir.appendingPathComponent("region-\(UUID().uuidString).err")
    FileManager.default.createFile(atPath: o.path, contents: nil)
    FileManager.default.createFile(atPath: e.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: o); try? FileManager.default.removeItem(at: e) }
    p.standardOutput = try FileHandle(forWritingTo: o)
    p.standardError = try FileHandle(forWritingTo: e)
    p.standardInput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return (p.terminationStatus, (try? String(contentsOf: o, encoding: .utf8)) ?? "", (try? String(contentsOf: e, encoding: .utf8)) ?? "")
}

/// One region: a delay-link (its own pair of namespaces), NGINX in the far
/// namespace serving the target and the witness, and an agent in the near one.
///
/// The far side is always 10.77.0.2 (each pair of namespaces is separate), so
/// both regions probe the same URL and meet under one `service_name`.
final class Region: @unchecked Sendable {
    static let far = "10.77.0.2"
    let name: String
    let region: String
    let dir: URL
    private var nginx: Process?
    private var agent: Process?

    /// The forwarder's pid (delay-link writes it to /run/delay-link-<name>.pid).
    var forwarderPID: Int32? {
        (try? String(contentsOfFile: "/run/delay-link-\(name).pid", encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// The agent's JSON lines (points and events), written as rounds end.
    var output: URL { dir.appendingPathComponent("agent.jsonl") }

    /// Brings the link up (retried: delay-link's forwarder can die in a start-up race) and checks that
    /// the far side answers TCP from the near side.
    init(region: String, dir: URL) throws {
        self.region = region
        self.dir = dir
        name = try Self.bringUp(region)
    }

    static func bringUp(_ region: String) throws -> String {
        var last = ""
        for attempt in 0..<3 {
            let n = "vd\(getpid() % 1000)\(region.suffix(1))\(attempt)"
            _ = try? regionRun([RegionPaths.delayLink, "down", "--name", n])
            let r = try regionRun(["python3", "-c",
                "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.closerange(3, 65536); os.execvp(sys.argv[1], sys.argv[1:])",
                RegionPaths.delayLink, "up", "--name", n, "--delay-ms", "5"])
            if r.status == 0 { return n }
            last = r.err
            _ = try? regionRun([RegionPaths.delayLink, "down", "--name", n])
        }
        throw RegionError("delay-link up failed 3 times: \(last)")
    }

    /// NGINX in the far namespace: the target `:24080/healthz` answers `healthy` while the file `upFlag`
    /// exists, 503 otherwise; the witness `:24081` answers 204.
    func startNginx(upFlag: String) throws {
        let p = dir.appendingPathComponent("nginx").path
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        let conf = """
            daemon off;
            worker_processes 1;
            error_log \(p)/error.log warn;
            pid \(p)/nginx.pid;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path \(p)/cb; proxy_temp_path \(p)/px; fastcgi_temp_path \(p)/fc;
                uwsgi_temp_path \(p)/uw; scgi_temp_path \(p)/sc;
                server {
                    listen \(Self.far):24080;
                    location = /healthz {
                        default_type text/plain;
                        if (-f \(upFlag)) { return 200 "healthy"; }
                        return 503 "down";
                    }
                }
                server { listen \(Self.far):24081; location / { return 204; } }
            }
            """
        try conf.write(toFile: p + "/nginx.conf", atomically: true, encoding: .utf8)
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        proc.arguments = ["--net=/var/run/netns/\(name)-far", "/usr/sbin/nginx", "-c", p + "/nginx.conf", "-p", p + "/"]
        proc.standardOutput = FileHandle.nullDevice
        proc.standardError = FileHandle.nullDevice
        try proc.run()
        nginx = proc
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: p + "/nginx.pid") { usleep(50_000) }
        usleep(200_000)
    }

    /// `clowder-agent run` in the near namespace, probing the target each second with the witness
    /// `tcp://10.77.0.2:24081`; no ingest: its rounds go to ``output`` as JSON lines.
    func startAgent() throws {
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        proc.arguments = ["--net=/var/run/netns/\(name)-near", try RegionPaths.agent(), "run"]
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CLOWDER_METRICS_") }
        env.merge([
            "CLOWDER_METRICS_AGENT_ID": "agent-\(region)", "CLOWDER_METRICS_REGION": region,
            "CLOWDER_METRICS_HTTP_TARGETS": "http://\(Self.far):24080/healthz", "CLOWDER_METRICS_HTTP_EXPECT_BODY": "healthy",
            "CLOWDER_METRICS_PROBE_INTERVAL": "1", "CLOWDER_METRICS_HTTP_TIMEOUT": "1.5",
            "CLOWDER_METRICS_WITNESS_TARGETS": "tcp://\(Self.far):24081", "CLOWDER_METRICS_WITNESS_TIMEOUT": "1",
            "CLOWDER_METRICS_SPOOL_PATH": dir.appendingPathComponent("spool.db").path,
            "CLOWDER_METRICS_OUTPUT_FILE": output.path, "CLOWDER_METRICS_LOG_LEVEL": "warning",
        ]) { $1 }
        proc.environment = env
        proc.standardOutput = FileHandle.nullDevice
        proc.standardError = try FileHandle(forWritingTo: { () -> URL in
            let u = dir.appendingPathComponent("agent.err"); FileManager.default.createFile(atPath: u.path, contents: nil); return u }())
        try proc.run()
        agent = proc
    }

    /// Whether the witness port answers TCP from the near side within a second (the link forwards).
    func routes() -> Bool {
        let r = try? regionRun(["nsenter", "--net=/var/run/netns/\(name)-near", "python3", "-c",
                                "import socket; socket.create_connection(('\(Self.far)', 24081), 1).close()"])
        return r?.status == 0
    }

    /// A region whose link forwards, NGINX serving: up to 3 attempts (delay-link's forwarder can die
    /// in a start-up race, leaving a dead link).
    static func make(region: String, dir: URL, upFlag: String) throws -> Region {
        for _ in 0..<3 {
            let r = try Region(region: region, dir: dir)
            try r.startNginx(upFlag: upFlag)
            for _ in 0..<10 where !r.routes() { usleep(200_000) }
            if r.routes() { return r }
            r.stop()
        }
        throw RegionError("\(region): no working delay-link after 3 attempts")
    }

    /// Stops the agent (SIGKILL: it simply stops reporting, as a dead host would).
    func killAgent() {
        guard let agent, agent.isRunning else { return }
        kill(agent.processIdentifier, SIGKILL)
        agent.waitUntilExit()
    }

    /// Cuts (SIGSTOP) or restores (SIGCONT) the region's link: its forwarder stops moving packets, so the
    /// target and the witness stop answering from this region alone.
    func cut(_ on: Bool) {
        if let pid = forwarderPID { kill(pid, on ? SIGSTOP : SIGCONT) }
    }

    func stop() {
        cut(false)
        killAgent()
        if let nginx, nginx.isRunning {
            if let t = try? String(contentsOfFile: dir.appendingPathComponent("nginx/nginx.pid").path, encoding: .utf8),
               let pid = Int32(t.trimmingCharacters(in: .whitespacesAndNewlines)) { kill(pid, SIGTERM) }
            nginx.waitUntilExit()
        }
        _ = try? regionRun([RegionPaths.delayLink, "down", "--name", name])
    }
}
