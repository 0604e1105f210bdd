import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real NGINX (the Debian package, `nginx -c CONF -p PREFIX`) started by a
/// test, on a free loopback port, in its own temporary prefix directory, with
/// its own `log_format`. Shared by the agent's tests: reuse it, do not copy it.
///
/// ```swift
/// let nginx = try NginxServer(logFormat: NginxServer.combinedFormat)
/// defer { nginx.stop() }
/// let response = try nginx.get("/files/5f1e?x=1")             // a real HTTP/1.1 request
/// #expect(response.status == 200)
/// try FileManager.default.moveItem(atPath: nginx.accessLogPath, toPath: nginx.accessLogPath + ".1")
/// try nginx.reopenLogs()                                         // kill -USR1, waits until done
/// ```
///
/// - Every request is answered `200 ok\n` by `location /` unless
///   `serverDirectives` adds other locations (for example
///   `location /missing { return 404; }` or `location /big { return 200 "$request_id"; }`).
/// - The access log is `accessLogPath` (`PREFIX/logs/access.log`) in the
///   format `logFormat`, written unbuffered, so a request's line is in the file
///   shortly after its response (NGINX logs after sending: poll for it, do not
///   assume it is there when `get` returns).
/// - `reopenLogs()` sends `SIGUSR1` to the master and returns once the master
///   and every worker have reopened their logs (their "reopening logs" notices
///   appear in `errorLogPath`): requests made after it go to the new file.
/// - `stop()` sends `SIGTERM` to the master (by PID) and waits for it; it is
///   also called on deinit. The prefix directory is removed unless `keepPrefix`.
final class NginxServer: @unchecked Sendable {
    /// NGINX's predefined `combined` format.
    static let combinedFormat =
        #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#

    /// The `log_format` name used in the generated configuration.
    static let logFormatName = "clowder_test"

    /// Errors from starting or driving the server.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A parsed HTTP response.
    struct Response {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    /// The temporary prefix directory (`-p`), holding `nginx.conf`, `logs/` and `tmp/`.
    let prefix: String
    /// The loopback TCP port the server listens on (127.0.0.1).
    let port: Int
    /// The access log written in `logFormat`.
    let accessLogPath: String
    /// NGINX's error log (level `notice`).
    let errorLogPath: String
    /// The generated configuration file.
    let configPath: String
    /// Leave the prefix directory on `stop()` (to look at it after a failure).
    var keepPrefix = false

    private let process: Process
    private let workerProcesses: Int

    /// The master process's PID.
    var pid: pid_t { process.processIdentifier }

    /// Starts NGINX and waits until it accepts connections.
    ///
    /// - Parameters:
    ///   - logFormat: the `log_format` string (NGINX variables), without quotes;
    ///     single quotes in it are escaped for you.
    ///   - logFormatEscape: `default`, `json` or `none` (`log_format … escape=`).
    ///   - serverDirectives: extra directives inside the `server { }` block.
    ///   - httpDirectives: extra directives inside the `http { }` block.
    ///   - workerProcesses: `worker_processes` (default 1: the machine is shared).
    /// - Throws: `Failure` with NGINX's error log when it does not start.
    init(
        logFormat: String = NginxServer.combinedFormat,
        logFormatEscape: String = "default",
        serverDirectives: String = "",
        httpDirectives: String = "",
        workerProcesses: Int = 1
    ) throws {
        guard let binary = NginxServer.findBinary() else {
            throw Failure(description: "nginx not found (install the Debian package nginx-light)")
        }
        var lastError = ""
        for _ in 0..<5 {
            let prefix = try NginxServer.makeTemporaryDirectory()
            let port = try NginxServer.freePort()
            let config = NginxServer.configuration(
                prefix: prefix, port: port, logFormat: logFormat, escape: logFormatEscape,
                serverDirectives: serverDirectives, httpDirectives: httpDirectives, workers: workerProcesses)
            let configPath = prefix + "/nginx.conf"
            try config.write(toFile: configPath, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["-c", configPath, "-p", prefix + "/", "-e", prefix + "/logs/error.log"]
            process.standardInput = FileHandle.nullDevice
            let output = FileHandle(forWritingAtPath: prefix + "/logs/stderr.log")
            process.standardOutput = output
            process.standardError = output
            try process.run()
            if NginxServer.waitUntilListening(port: port, process: process) {
                self.prefix = prefix
                self.port = port
                self.process = process
                self.workerProcesses = workerProcesses
                self.configPath = configPath
                self.accessLogPath = prefix + "/logs/access.log"
                self.errorLogPath = prefix + "/logs/error.log"
                return
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            lastError = (try? String(contentsOfFile: prefix + "/logs/error.log", encoding: .utf8)) ?? ""
            lastError += (try? String(contentsOfFile: prefix + "/logs/stderr.log", encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: prefix)
            if !lastError.contains("Address already in use") { break }
        }
        throw Failure(description: "nginx did not start: \(lastError)")
    }

    deinit { stop() }

    /// `kill -USR1` the master, then waits until the master and each worker
    /// logged "reopening logs" (at most 10 s).
    /// - Throws: `Failure` when NGINX is not running or does not finish in time.
    func reopenLogs() throws {
        guard process.isRunning else { throw Failure(description: "nginx is not running") }
        let before = reopenNotices()
        guard kill(pid, SIGUSR1) == 0 else { throw Failure(description: "kill -USR1 failed: errno \(errno)") }
        let deadline = Date().addingTimeInterval(10)
        while reopenNotices() < before + 1 + workerProcesses {
            if Date() > deadline { throw Failure(description: "nginx did not reopen its logs within 10 s") }
            usleep(2_000)
        }
    }

    /// Stops NGINX (`SIGTERM` to the master by PID, then `SIGKILL` after 5 s)
    /// and removes the prefix directory unless `keepPrefix`. Safe to call twice.
    func stop() {
        if process.isRunning {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(5_000) }
            if process.isRunning { kill(pid, SIGKILL) }
            process.waitUntilExit()
        }
        if !keepPrefix { try? FileManager.default.removeItem(atPath: prefix) }
    }

    /// Sends one HTTP/1.1 request (`Connection: close`) over a plain socket and
    /// reads the whole response.
    /// - Throws: `Failure` on a socket error or a response that is not HTTP.
    func request(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = NginxServer.loopback(port: port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { throw Failure(description: "connect 127.0.0.1:\(port): errno \(errno)") }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let out = Array(head.utf8) + body
        var sent = 0
        while sent < out.count {
            let n = out[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            sent += n
        }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else { throw Failure(description: "recv: errno \(errno)") }
            data += chunk[0..<n]
        }
        return try NginxServer.parse(data)
    }

    /// `GET target`.
    func get(_ target: String, headers: [(String, String)] = []) throws -> Response {
        try request("GET", target, headers: headers)
    }

    // MARK: Helpers

    private func reopenNotices() -> Int {
        guard let text = try? String(contentsOfFile: errorLogPath, encoding: .utf8) else { return 0 }
        return text.components(separatedBy: "reopening logs").count - 1
    }

    static func configuration(
        prefix: String, port: Int, logFormat: String, escape: String,
        serverDirectives: String, httpDirectives: String, workers: Int
    ) -> String {
        let quotedFormat = logFormat.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "'", with: "\\'")
        let user = geteuid() == 0 ? "user root;\n" : ""
        return """
            # Generated by NginxServer (Tests/AgentTests/Support).
            daemon off;
            master_process on;
            \(user)worker_processes \(workers);
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/logs/error.log notice;
            events { worker_connections 128; }
            http {
                client_body_temp_path \(prefix)/tmp/body;
                proxy_temp_path \(prefix)/tmp/proxy;
                fastcgi_temp_path \(prefix)/tmp/fastcgi;
                uwsgi_temp_path \(prefix)/tmp/uwsgi;
                scgi_temp_path \(prefix)/tmp/scgi;
                log_format \(logFormatName) escape=\(escape) '\(quotedFormat)';
                access_log \(prefix)/logs/access.log \(logFormatName);
                \(httpDirectives)
                server {
                    listen 127.0.0.1:\(port);
                    server_name localhost;
                    location / { return 200 "ok\\n"; }
                    \(serverDirectives)
                }
            }

            """
    }

    static func findBinary() -> String? {
        for dir in ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"] {
            if access(dir + "/nginx", X_OK) == 0 { return dir + "/nginx" }
        }
        return nil
    }

    static func makeTemporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "clowder-nginx-XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { throw Failure(description: "mkdtemp: errno \(errno)") }
        let dir = String(cString: p)
        for sub in ["logs", "tmp"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: dir + "/logs/stderr.log", contents: nil)
        chmod(dir, 0o755)
        return dir
    }

    static func loopback(port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        return a
    }

    /// A port the kernel just handed out on 127.0.0.1 (bound then closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw Failure(description: "bind 127.0.0.1:0: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func waitUntilListening(port: Int, process: Process) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard process.isRunning else { return false }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = loopback(port: port)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(fd)
            if rc == 0 { return true }
            usleep(10_000)
        }
        return false
    }

    static func parse(_ data: [UInt8]) throws -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = data.firstRange(of: separator) else {
            throw Failure(description: "no HTTP header in \(data.count) bytes")
        }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/"), let status = Int(statusLine[1]) else {
            throw Failure(description: "bad status line in \(head)")
        }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(status: status, headers: headers, body: Array(data[end.upperBound...]))
    }
}
