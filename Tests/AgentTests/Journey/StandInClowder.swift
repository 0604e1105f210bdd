import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A stand-in Clowder for the journey probe: a small Python app (standard library only) serving
/// Clowder's documented v1 and v2 routes the probe uses, behind a real NGINX (`proxy_pass`), over
/// real HTTP. Clowder itself needs MongoDB, which cannot run here.
///
/// - It keeps files in memory; one file (``fileID``, ``fileBytes``) is there from the start, in
///   dataset ``datasetID``. `GET /_files` lists the ids it holds (for "nothing left behind").
/// - Every `/api` request must carry `X-API-Key: ` ``apiKey`` (else 401).
/// - `POST /_control {"step": S, "mode": M, "times": N}` makes the next N requests of step S fail:
///   `status` (HTTP 500), `body` (a wrong body: `unhealthy`, not JSON, an HTML page, no `id`,
///   other bytes), `slow` (answers after 4 s; an upload that is slow stores nothing).
final class StandInClowder {
    static let apiKey = "journey-test-key-0123456789"
    static let fileID = "5f0c1a2b3c4d5e6f7a8b9c0d"
    static let datasetID = "5f0c1a2b3c4d5e6f7a8b9c0e"
    static let fileBytes = 10_000

    static let app = #"""
        import json, sys, time, threading, re, http.server
        KEY, FILE_ID, DATASET_ID, SIZE = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
        files = {FILE_ID: bytes((i * 7 + 3) % 251 for i in range(SIZE))}
        faults, lock, serial = {}, threading.Lock(), [0]

        def fault(step):
            with lock:
                f = faults.get(step)
                if not f: return None
                f["times"] -= 1
                if f["times"] <= 0: del faults[step]
                return f["mode"]

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def send(self, status, body, ctype="application/json"):
                if isinstance(body, str): body = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""
            def step(self, name, ok):
                mode = fault(name)
                if mode == "slow":
                    time.sleep(4)
                    if name == "upload": return self.send(200, '{"slow": true}')
                if mode == "status": return self.send(500, '{"error": "injected"}')
                return ok(mode == "body")
            def authorized(self):
                if self.headers.get("X-API-Key") != KEY:
                    self.send(401, '{"error": "bad key"}'); return False
                return True
            def do_GET(self):
                p = self.path.split("?")[0]
                if p == "/_files": return self.send(200, json.dumps(sorted(files)))
                if p == "/healthz": return self.step("healthz", lambda bad: self.send(200, "unhealthy" if bad else "healthy", "text/plain"))
                if not self.authorized(): return
                if p in ("/api/status", "/api/v2/status"):
                    return self.step("status", lambda bad: self.send(200, "<b>not json</b>" if bad else json.dumps(
                        {"version": {"number": "1.22.0"}, "counts": {"files": len(files), "datasets": 1}})))
                m = re.fullmatch(r"/api/files/([0-9a-f]{24})/blob|/api/v2/files/([0-9a-f]{24})", p)
                if m:
                    fid = m.group(1) or m.group(2)
                    step = "download" if fid == FILE_ID else "readback"
                    if fid not in files: return self.send(404, '{"error": "not found"}')
                    return self.step(step, lambda bad: self.send(200, ("<!DOCTYPE html><html>login</html>" if step == "download" else "other bytes") if bad else files[fid], "application/octet-stream"))
                self.send(404, '{"error": "no route"}')
            def do_POST(self):
                p = self.path.split("?")[0]
                data = self.body()
                if p == "/_control":
                    c = json.loads(data)
                    with lock: faults[c["step"]] = {"mode": c["mode"], "times": c.get("times", 1)}
                    return self.send(200, "{}")
                if not self.authorized(): return
                if p in ("/api/uploadToDataset/" + DATASET_ID, "/api/v2/datasets/" + DATASET_ID + "/files"):
                    field = b'name="File"' if p.startswith("/api/uploadToDataset/") else b'name="file"'
                    boundary = self.headers["Content-Type"].split("boundary=")[1].encode()
                    part = data.split(b"--" + boundary)[1]
                    if field not in part.split(b"\r\n\r\n", 1)[0]: return self.send(400, '{"error": "no file field"}')
                    content = part.split(b"\r\n\r\n", 1)[1][:-2]
                    def ok(bad):
                        if bad: return self.send(200, '{"status": "ok"}')
                        with lock:
                            serial[0] += 1
                            fid = "%024x" % (0xabc000 + serial[0])
                            files[fid] = content
                        self.send(200, json.dumps({"id": fid}))
                    return self.step("upload", ok)
                self.send(404, '{"error": "no route"}')
            def do_DELETE(self):
                p = self.path.split("?")[0]
                if not self.authorized(): return
                m = re.fullmatch(r"/api/files/([0-9a-f]{24})|/api/v2/files/([0-9a-f]{24})", p)
                if not m: return self.send(404, '{"error": "no route"}')
                fid = m.group(1) or m.group(2)
                def ok(bad):
                    if fid not in files: return self.send(404, '{"error": "not found"}')
                    with lock: del files[fid]
                    self.send(200, '{"status": "success"}')
                return self.step("delete", ok)

        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
        """#

    let nginx: NginxServer
    let app: Process
    let appPort: Int
    var baseURL: String { "http://127.0.0.1:\(nginx.port)" }

    init() throws {
        appPort = try NginxServer.freePort()
        app = Process()
        app.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        app.arguments = ["-c", Self.app, "\(appPort)", Self.apiKey, Self.fileID, Self.datasetID, "\(Self.fileBytes)"]
        try app.run()
        let up = Date().addingTimeInterval(10)
        while Date() < up, !Self.listening(appPort) { usleep(20_000) }
        nginx = try NginxServer(serverDirectives: """
            location /api/ { proxy_pass http://127.0.0.1:\(appPort); }
            location = /healthz { proxy_pass http://127.0.0.1:\(appPort); }
            location = /_files { proxy_pass http://127.0.0.1:\(appPort); }
            location = /_control { proxy_pass http://127.0.0.1:\(appPort); }
            """)
    }

    func stop() {
        nginx.stop()
        // SIGKILL: a child of the test process may inherit a blocked SIGTERM (Python does not unblock it).
        if app.isRunning { kill(app.processIdentifier, SIGKILL); app.waitUntilExit() }
    }

    deinit { stop() }

    static func listening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = NginxServer.loopback(port: port)
        return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// Makes the next `times` requests of `step` fail in `mode`.
    func inject(_ step: String, _ mode: String, times: Int = 1) throws {
        let r = try nginx.request("POST", "/_control", headers: [("Content-Type", "application/json")],
                                  body: Array(#"{"step": "\#(step)", "mode": "\#(mode)", "times": \#(times)}"#.utf8))
        guard r.status == 200 else { throw NginxServer.Failure(description: "control: \(r.status)") }
    }

    /// The ids of the files the stand-in holds.
    func fileIDs() throws -> [String] {
        let r = try nginx.get("/_files")
        return (try JSONSerialization.jsonObject(with: Data(r.body)) as? [String]) ?? []
    }
}
